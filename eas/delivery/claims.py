"""Claimed prompts as plain values: what sending them needs, read with one Core statement.

The dispatcher loads the prompts it claims in every busy tick; ORM instances of the prompt, its
participant and its protocol version (with the definition's JSON parsed again for each prompt)
cost several times that statement. Protocol versions are never updated (publishing a change
creates a new one), so definitions are decoded once per process (`studies.definitions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from eas.core.db import core_execute
from eas.participants.models import Channel, Participant
from eas.scheduling.models import PlannedPrompt
from eas.studies.definitions import definition_of
from eas.studies.models import ProtocolVersion

_PROMPTS, _PARTICIPANTS = PlannedPrompt.__table__, Participant.__table__
_VERSIONS = ProtocolVersion.__table__
_LOAD = (
    sa.select(
        _PROMPTS.c.id,
        _PROMPTS.c.participant_id,
        _PROMPTS.c.protocol_version_id,
        _PROMPTS.c.schedule_id,
        _PROMPTS.c.questionnaire_id,
        _PROMPTS.c.channel,
        _PROMPTS.c.due_at,
        _PROMPTS.c.expires_at,
        _PROMPTS.c.attempts,
        _PROMPTS.c.claimed_by,
        _PROMPTS.c.claim_expires_at,
        _PROMPTS.c.sent_at,
        _PROMPTS.c.reminders_sent,
        _PARTICIPANTS.c.phone_encrypted,
        _PARTICIPANTS.c.phone_hash,
        _VERSIONS.c.source_hash,
    )
    .join(_PARTICIPANTS, _PARTICIPANTS.c.id == _PROMPTS.c.participant_id)
    .join(_VERSIONS, _VERSIONS.c.id == _PROMPTS.c.protocol_version_id)
    .where(_PROMPTS.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_PROMPTS.c.due_at, _PROMPTS.c.id)
)


@dataclass(frozen=True, slots=True)
class Version:
    definition: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Recipient:
    id: int
    #: Decrypted only by the transport that texts the number (`OutboundMessage.phone`).
    phone_encrypted: bytes
    phone_hash: str


@dataclass(frozen=True, slots=True)
class ClaimedPrompt:
    """A prompt as it was when claimed (the attributes of `PlannedPrompt` that sending reads)."""

    id: int
    participant_id: int
    protocol_version_id: int
    schedule_id: str
    questionnaire_id: str
    channel: Channel
    due_at: datetime
    expires_at: datetime
    attempts: int
    claimed_by: str | None
    claim_expires_at: datetime | None
    sent_at: datetime | None
    reminders_sent: int
    participant: Recipient
    protocol_version: Version


def load_claimed(ids: list[int]) -> list[ClaimedPrompt]:
    """The prompts, by due time, in the session's transaction."""
    return [
        ClaimedPrompt(
            *row[:13],
            participant=Recipient(row.participant_id, row.phone_encrypted, row.phone_hash),
            protocol_version=Version(definition_of(row.protocol_version_id, row.source_hash)),
        )
        for row in core_execute(_LOAD, {"ids": ids})
    ]
