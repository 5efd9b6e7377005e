"""Who sent an inbound text: the participant its number belongs to, read as values (with the
study's current protocol and their conversation), and the row itself only for what changes it
(STOP, a report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.util import ClauseAdapter

from eas.core.db import core_execute, db
from eas.participants.models import Participant, ParticipantStatus
from eas.responses.progress import (
    PARTICIPANTS,
    PROMPTS,
    PromptProgress,
    order_answers,
    progress_of,
    progress_select,
)
from eas.scheduling.models import WENT_OUT_AT, WENT_OUT_BY_SMS
from eas.studies.definitions import definition_of
from eas.studies.models import ProtocolVersion

_CURRENT = ProtocolVersion.__table__.alias("current_version")
_LATER = ProtocolVersion.__table__.alias("later")
#: The study's current protocol version: its latest.
_CURRENT_VERSION = (
    sa.select(_LATER.c.id)
    .where(_LATER.c.study_id == PARTICIPANTS.c.study_id)
    .order_by(_LATER.c.number.desc())
    .limit(1)
    .correlate(PARTICIPANTS)
    .scalar_subquery()
)
#: The participant's latest SMS prompt that went out: the conversation a reply belongs to
#: while it is open. One still `sending` counts: the dispatcher records a batch's sends as
#: they return, and a quick reply may come first (nobody answers a text they did not get).
_LATEST = PROMPTS.alias("latest_sms")
_ON_LATEST = ClauseAdapter(_LATEST)
_LATEST_SMS_PROMPT = (
    sa.select(_LATEST.c.id)
    .where(_LATEST.c.participant_id == PARTICIPANTS.c.id, _ON_LATEST.traverse(WENT_OUT_BY_SMS))
    # In the order of ix_planned_prompts_latest_sms: its first row.
    .order_by(_ON_LATEST.traverse(WENT_OUT_AT).desc(), _LATEST.c.id.desc())
    .limit(1)
    .correlate(PARTICIPANTS)
    .scalar_subquery()
)
#: Built once, one statement: every inbound text runs it. The number's enrolments, latest
#: first, each with its study's current version and its conversation (a row per answer).
_SENDERS = order_answers(
    progress_select(
        PARTICIPANTS.join(_CURRENT, _CURRENT.c.id == _CURRENT_VERSION).outerjoin(
            PROMPTS, PROMPTS.c.id == _LATEST_SMS_PROMPT
        ),
        _CURRENT.c.id.label("current_version_id"),
        _CURRENT.c.source_hash.label("current_source_hash"),
        PARTICIPANTS.c.phone_encrypted,
        PARTICIPANTS.c.arm,
    )
    .where(PARTICIPANTS.c.phone_hash == sa.bindparam("phone_hash"))
    .order_by(PARTICIPANTS.c.enrolled_at.desc(), PARTICIPANTS.c.id.desc())
)


@dataclass
class Sender:
    """A participant as an inbound text needs them: who, in which study, its current
    protocol (`definition`, of version `version_id`), and their conversation."""

    id: int
    study_id: int
    status: ParticipantStatus
    version_id: int
    definition: dict[str, Any]
    #: The number as stored for them (what a message of theirs stores: the same number).
    phone_encrypted: bytes
    #: Their study arm: the reports they may start are their arm's (None: no arms).
    arm: str | None = None
    #: Their latest SMS prompt, as it stands before this text (None: none went out).
    conversation: PromptProgress | None = None

    def participant(self) -> Participant:
        """The row, for operations that change it."""
        return db.session.get(Participant, self.id)


def sender_of(phone_hash: str, now: datetime) -> Sender | None:
    """The participant a number belongs to. A number enrolled in several studies goes to the
    one with a conversation open, else the one active, else the latest enrolment."""
    rows = core_execute(_SENDERS, {"phone_hash": phone_hash}).all()
    candidates = [
        _sender(list(group)) for _, group in groupby(rows, key=lambda row: row.participant_id)
    ]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    for sender in candidates:
        if sender.conversation is not None and sender.conversation.is_open(now):
            return sender
    active = [s for s in candidates if s.status is ParticipantStatus.active]
    return (active or candidates)[0]


def _sender(rows: list[sa.Row]) -> Sender:
    first = rows[0]
    return Sender(
        first.participant_id,
        first.study_id,
        first.participant_status,
        first.current_version_id,
        definition_of(first.current_version_id, first.current_source_hash),
        first.phone_encrypted,
        first.arm,
        progress_of(rows),
    )
