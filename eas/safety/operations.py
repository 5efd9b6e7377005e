"""Raising and acknowledging safety alerts. Raising records the alert (and who it concerns,
pseudonymously) at once, in the same transaction as the answer that set it off; telling the
coordinators happens after that commit (`notify`), and is retried until it succeeds.

The protocol's reply to an alert is what the participant reads first: `safety_first` orders
every reply to a participant (an SMS answer, a web page), by SMS and on the web alike."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from eas.audit.operations import record
from eas.core.db import db
from eas.participants.models import Participant
from eas.responses.alerts import newly_triggered
from eas.safety.models import AlertStatus, SafetyAlert
from eas.studies.models import Study
from eas.users.models import StudyRole, User
from eas.users.operations import role_in


class Kind(enum.Enum):
    """What a reply to the participant is, for `safety_first`."""

    #: The protocol's reply to a safety alert the text or answer set off.
    safety = "safety"
    #: What the participant needs to go on: the next question, the HELP text, how to stop,
    #: that the study ended for them.
    needed = "needed"
    #: Thanks and notes ("Thanks, that's all for now.", "You've answered this check-in, thank
    #: you!", "No check-in is open right now."): after a safety reply they read as indifferent.
    courtesy = "courtesy"


@dataclass(frozen=True)
class Reply:
    """One text for the participant, tagged with what it is."""

    text: str
    kind: Kind = Kind.needed
    #: A needed reply that opens with a courtesy ("Sorry, I didn't get that.", "OK, let's move
    #: on."): what it says instead after a safety reply (the question, plainly).
    plainly: str | None = None


def safety_first(replies: Iterable[Reply]) -> list[Reply]:
    """The replies to send or show, in order: the one rule for every reply to a participant.
    Without a safety reply, all of them as they are. With one, the safety replies come first
    (each text once), then only what the participant needs, plainly; thanks and notes are left
    out."""
    replies = list(replies)
    safety = {r.text: r for r in replies if r.kind is Kind.safety}
    if not safety:
        return replies
    return [
        *safety.values(),
        *(Reply(r.plainly or r.text, r.kind) for r in replies if r.kind is Kind.needed),
    ]


#: The study's row, locked until the transaction ends so that two alerts raised at once in one
#: study never get the same number. FOR NO KEY UPDATE: it does not wait for, nor block, the
#: key-share lock of inserts that reference the study. Taken after the participant's lock
#: (the SMS path locks the number's enrolments first): participant, then study, everywhere.
_LOCK_STUDY = (
    sa.select(Study.id).where(Study.id == sa.bindparam("study_id")).with_for_update(key_share=True)
)


def _last_number(study_id: int) -> int:
    """The study's highest alert number so far (0 without alerts), its row locked for numbering
    (SQLite: the write transaction holds the database already)."""
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(_LOCK_STUDY, {"study_id": study_id})
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(SafetyAlert.number), 0)).where(
            SafetyAlert.study_id == study_id
        )
    )


def raise_alerts(
    participant: Participant,
    prompt_id: int | None,
    fired: list[tuple[dict[str, Any], str]],
    *,
    channel: str,
    now: datetime,
) -> list[SafetyAlert]:
    """`fired`: (the protocol's alert, "rule" or "keyword") pairs."""
    if not fired:
        return []  # most answers: nothing to write, no flush
    number = _last_number(participant.study_id)
    raised = []
    for alert, trigger in fired:
        number += 1
        safety_alert = SafetyAlert(
            study_id=participant.study_id,
            number=number,
            participant_id=participant.id,
            prompt_id=prompt_id,
            rule=alert["id"],
            trigger=trigger,
            channel=channel,
            status=AlertStatus.open,
            raised_at=now,
            next_notify_at=now,
        )
        db.session.add(safety_alert)
        raised.append(safety_alert)
    db.session.flush()
    for safety_alert in raised:
        record(
            "alert.raised",
            study_id=participant.study_id,
            participant_id=participant.id,
            alert_id=safety_alert.id,
            number=safety_alert.number,
            rule=safety_alert.rule,
            trigger=safety_alert.trigger,
        )
    return raised


def raise_triggered(
    participant: Participant,
    definition: dict[str, Any],
    prompt_id: int | None,
    questionnaire_id: str | None,
    before: dict,
    after: dict,
    texts: list[str],
    *,
    channel: str,
    now: datetime,
) -> list[Reply]:
    """Raise the alerts of `definition` set off by answers changing from `before` to `after`
    or by words in `texts` (in a check-in of `questionnaire_id`, or none); returns the
    protocol's replies for the participant (to be sent or shown through `safety_first`)."""
    fired = newly_triggered(definition, questionnaire_id, before, after, texts)
    raise_alerts(participant, prompt_id, fired, channel=channel, now=now)
    return [Reply(alert["reply"], Kind.safety) for alert, _ in fired if alert.get("reply")]


class AlertError(ValueError):
    pass


class NoSuchAlert(AlertError):
    pass


class AlreadyAcknowledged(AlertError):
    """Someone acknowledged the alert first: nothing to do, but say who."""


#: The longest note kept with an acknowledgement.
MAX_NOTE = 500


def acting_member(study_id: int, email: str) -> User:
    """The active account of `email` if it may act on alerts in the study (coordinator or
    owner); AlertError otherwise, saying why."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AlertError(f"no account '{email}' (eas users create)")
    if not user.is_active:
        raise AlertError(f"the account '{user.email}' is deactivated")
    role = role_in(user, study_id)
    if role is None:
        raise AlertError(f"'{user.email}' is not on this study's team")
    if role.rank < StudyRole.coordinator.rank:
        raise AlertError(
            f"'{user.email}' is a {role.value} of this study: only coordinators and owners "
            "acknowledge alerts"
        )
    return user


def acknowledge(study_id: int, number: int, *, by: User, note: str, now: datetime) -> SafetyAlert:
    """Acknowledge the study's alert `number` once the safety procedure has been followed:
    who (`by`, an account allowed to act), when and what was done (`note`, required)."""
    alert = db.session.scalar(
        sa.select(SafetyAlert).where(SafetyAlert.number == number, SafetyAlert.study_id == study_id)
    )
    if alert is None:
        raise NoSuchAlert(f"no alert {number} in this study")
    if alert.status is AlertStatus.acknowledged:
        raise AlreadyAcknowledged(
            f"alert {number} was acknowledged by {alert.acknowledged_by} at "
            f"{alert.acknowledged_at:%Y-%m-%d %H:%M} UTC"
        )
    note = " ".join((note or "").split())
    if not note:
        raise AlertError("say what was done (a short note, e.g. 'called participant, safe')")
    if len(note) > MAX_NOTE:
        raise AlertError(f"the note is longer than {MAX_NOTE} characters")
    alert.status = AlertStatus.acknowledged
    alert.acknowledged_at = now
    alert.acknowledged_by = by.email
    alert.acknowledged_by_user_id = by.id
    alert.acknowledged_note = note
    record(
        "alert.acknowledged",
        actor=by.email,
        study_id=study_id,
        participant_id=alert.participant_id,
        alert_id=alert.id,
        number=alert.number,
        note=note,
    )
    db.session.flush()
    return alert
