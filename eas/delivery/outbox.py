"""The dispatcher's outbound messages on record: each written before its send (in the
transaction that commits before any send), and updated with its outcome after.

Core statements built once, each run once per batch (an executemany): a busy study ticks every
second, and the ORM's unit of work costs several times what these statements do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from eas.core.crypto import get_cipher
from eas.core.db import core_execute
from eas.delivery.channels import OutboundMessage, SealedNumber
from eas.delivery.claims import ClaimedPrompt
from eas.delivery.models import Direction, Message, MessageStatus

_TABLE = Message.__table__
_INSERT = _TABLE.insert()
# Bound by the message's idempotency key (unique): its id is never needed otherwise. Only a
# message still `queued`: a status callback may have come first (`delivered` stays).
_OUTCOME = (
    _TABLE.update()
    .where(
        _TABLE.c.idempotency_key == sa.bindparam("key", type_=_TABLE.c.idempotency_key.type),
        _TABLE.c.status == MessageStatus.queued,
    )
    .values(
        status=sa.bindparam("new_status", type_=_TABLE.c.status.type),
        provider_sid=sa.bindparam("sid", type_=_TABLE.c.provider_sid.type),
        error_code=sa.bindparam("code", type_=_TABLE.c.error_code.type),
        updated_at=sa.bindparam("at", type_=_TABLE.c.updated_at.type),
    )
)


@dataclass
class Lease:
    """Until when a batch's claims are this dispatcher's: renewed (on record first) while the
    batch is being sent, read by the sending threads before each call."""

    until: datetime


@dataclass(frozen=True)
class Job:
    prompt: ClaimedPrompt
    outbound: OutboundMessage
    #: For the sending threads: a call that could outlast the lease, or end after the window,
    #: is not made.
    lease: Lease
    expires_at: datetime
    #: The message's row as it is written before the send (`record`).
    row: dict[str, Any]


def new_job(
    prompt: ClaimedPrompt, body: str, key: str, purpose: str, now: datetime, lease: Lease
) -> Job:
    """A job and its message, not yet on record."""
    participant = prompt.participant
    row = {
        "direction": Direction.outbound,
        "participant_id": participant.id,
        "prompt_id": prompt.id,
        "phone_encrypted": participant.phone_encrypted,
        "phone_hash": participant.phone_hash,
        "body": body,
        "provider_sid": None,
        "idempotency_key": key,
        "purpose": purpose,
        "status": MessageStatus.queued,
        "error_code": None,
        "created_at": now,
        "updated_at": now,
    }
    # Decrypted by the transport that texts it, if it needs it (`OutboundMessage.phone`).
    number = SealedNumber(participant.phone_encrypted, get_cipher())
    outbound = OutboundMessage(participant.id, number, body, key, 1)
    return Job(prompt, outbound, lease, prompt.expires_at, row)


def record(jobs: list[Job]) -> None:
    """Write the jobs' messages, in their order (their ids follow it), in the session's
    transaction."""
    if jobs:
        core_execute(_INSERT, [job.row for job in jobs])


def outcome(
    job: Job,
    status: MessageStatus,
    at: datetime,
    provider_sid: str | None = None,
    code: int | None = None,
) -> dict[str, Any]:
    """One message's outcome, for `record_outcomes`."""
    return {
        "key": job.outbound.idempotency_key,
        "new_status": status,
        "sid": provider_sid,
        "code": code,
        "at": at,
    }


def record_outcomes(outcomes: list[dict[str, Any]]) -> None:
    if outcomes:
        core_execute(_OUTCOME, outcomes)
