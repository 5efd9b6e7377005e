"""Withdrawal with deletion, and purging identifiers when a study ends.

Deleting a participant's data removes their answers, responses, prompts, messages (in and out,
and the phone simulator's copies) and links; the participant row stays with its pseudonymous
label and status, its number purged, and the audit log records what was deleted and when, so
the study can show that the data existed and was removed.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from eas.audit.operations import record
from eas.core.db import db
from eas.delivery.models import Message, SimulatedMessage
from eas.participants.models import Participant
from eas.responses.models import AccessLink, Answer, Response
from eas.safety.models import SafetyAlert
from eas.scheduling.models import PlannedPrompt, PromptStatus


def _purge_number(participant: Participant) -> None:
    participant.phone_encrypted = b""
    participant.phone_hash = f"purged-{participant.id}"


def delete_participant_data(participant: Participant, now: datetime, *, actor: str) -> dict:
    prompts = sa.select(PlannedPrompt.id).where(PlannedPrompt.participant_id == participant.id)
    responses = sa.select(Response.id).where(Response.prompt_id.in_(prompts))
    counts = {}
    for name, statement in (
        ("answers", sa.delete(Answer).where(Answer.response_id.in_(responses))),
        ("responses", sa.delete(Response).where(Response.prompt_id.in_(prompts))),
        ("messages", sa.delete(Message).where(Message.participant_id == participant.id)),
        (
            "phone_simulator",
            sa.delete(SimulatedMessage).where(SimulatedMessage.participant_id == participant.id),
        ),
        ("links", sa.delete(AccessLink).where(AccessLink.participant_id == participant.id)),
    ):
        counts[name] = db.session.execute(
            statement.execution_options(synchronize_session=False)
        ).rowcount
    # Alerts stay (they record that the team was told), without the prompt they came from.
    db.session.execute(
        sa.update(SafetyAlert)
        .where(SafetyAlert.participant_id == participant.id)
        .values(prompt_id=None)
        .execution_options(synchronize_session=False)
    )
    counts["prompts"] = db.session.execute(
        sa.delete(PlannedPrompt)
        .where(PlannedPrompt.participant_id == participant.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    _purge_number(participant)
    db.session.flush()
    record(
        "participant.data_deleted",
        actor=actor,
        study_id=participant.study_id,
        participant_id=participant.id,
        deleted=counts,
        at=now.isoformat(),
    )
    return counts


class StudyStillRunning(ValueError):
    pass


def purge_identifiers(study, now: datetime, *, actor: str) -> int:
    """Remove every phone number of the study for good (participants and messages); refused
    while prompts are still to be sent."""
    pending = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PlannedPrompt)
        .join(Participant, Participant.id == PlannedPrompt.participant_id)
        .where(
            Participant.study_id == study.id,
            PlannedPrompt.status.in_([PromptStatus.scheduled, PromptStatus.sending]),
            PlannedPrompt.expires_at > now,
        )
    )
    if pending:
        raise StudyStillRunning(
            f"{pending} prompt(s) are still to be sent: withdraw the remaining participants "
            "or wait until the study has ended"
        )
    participants = db.session.scalars(
        sa.select(Participant).where(Participant.study_id == study.id)
    ).all()
    for participant in participants:
        _purge_number(participant)
    ids = [participant.id for participant in participants]
    db.session.execute(
        sa.update(Message)
        .where(Message.participant_id.in_(ids))
        .values(phone_encrypted=b"", phone_hash="purged")
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    record("study.identifiers_purged", actor=actor, study_id=study.id, participants=len(ids))
    return len(ids)
