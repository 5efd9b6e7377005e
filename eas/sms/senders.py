"""Who sent an inbound text: the participant its number belongs to, read as values (with the
study's current protocol), and the row itself only for what changes it (STOP, a report)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from eas.core.db import core_execute, db
from eas.participants.models import Participant, ParticipantStatus
from eas.sms.conversation import conversation_of
from eas.studies.definitions import definition_of
from eas.studies.models import ProtocolVersion

_PARTICIPANTS = Participant.__table__
_VERSIONS = ProtocolVersion.__table__
#: The study's current protocol version: its latest.
_LATER = _VERSIONS.alias("later")
_CURRENT_VERSION = (
    sa.select(_LATER.c.id)
    .where(_LATER.c.study_id == _PARTICIPANTS.c.study_id)
    .order_by(_LATER.c.number.desc())
    .limit(1)
    .correlate(_PARTICIPANTS)
    .scalar_subquery()
)
# Built once: every inbound text runs it.
_SENDERS = (
    sa.select(
        _PARTICIPANTS.c.id,
        _PARTICIPANTS.c.study_id,
        _PARTICIPANTS.c.status,
        _VERSIONS.c.id,
        _VERSIONS.c.source_hash,
        _PARTICIPANTS.c.phone_encrypted,
    )
    .select_from(_PARTICIPANTS.join(_VERSIONS, _VERSIONS.c.id == _CURRENT_VERSION))
    .where(_PARTICIPANTS.c.phone_hash == sa.bindparam("phone_hash"))
    .order_by(_PARTICIPANTS.c.enrolled_at.desc(), _PARTICIPANTS.c.id.desc())
)


@dataclass
class Sender:
    """A participant as an inbound text needs them: who, in which study, and its current
    protocol (`definition`, of version `version_id`)."""

    id: int
    study_id: int
    status: ParticipantStatus
    version_id: int
    definition: dict[str, Any]
    #: The number as stored for them (what a message of theirs stores: the same number).
    phone_encrypted: bytes

    def participant(self) -> Participant:
        """The row, for operations that change it."""
        return db.session.get(Participant, self.id)


def sender_of(phone_hash: str, now: datetime) -> Sender | None:
    """The participant a number belongs to. A number enrolled in several studies goes to the
    one with a conversation open, else the one active, else the latest enrolment."""
    candidates = [
        Sender(id, study_id, status, version_id, definition_of(version_id, source_hash), phone)
        for id, study_id, status, version_id, source_hash, phone in core_execute(
            _SENDERS, {"phone_hash": phone_hash}
        )
    ]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    for sender in candidates:
        current = conversation_of(sender.id)
        if current is not None and current.is_open(now):
            return sender
    active = [s for s in candidates if s.status is ParticipantStatus.active]
    return (active or candidates)[0]
