from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.core.crypto import SealedText
from eas.core.db import UTCDateTime, db, enum_type

if TYPE_CHECKING:
    from eas.participants.models import Participant


class Direction(enum.Enum):
    inbound = "inbound"
    outbound = "outbound"


class MessageStatus(enum.Enum):
    received = "received"
    queued = "queued"
    accepted = "accepted"
    scheduled = "scheduled"
    sending = "sending"
    sent = "sent"
    delivered = "delivered"
    undelivered = "undelivered"
    failed = "failed"


class Message(db.Model):
    """Every SMS in and out, as it was, whether or not it could be understood.

    Inbound messages are stored before anything tries to parse them, and from senders eas does
    not know too (`participant_id` is then empty), so nothing a participant sends is dropped.
    """

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[Direction] = mapped_column(enum_type(Direction))
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    prompt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("planned_prompts.id"), index=True)
    #: The participant's side of the conversation, encrypted, and its keyed hash.
    phone_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    phone_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    body: Mapped[str] = mapped_column(SealedText)
    #: The provider's id (Twilio MessageSid): unique, so a retried webhook is stored once.
    provider_sid: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: Outbound only: one key per send attempt, so a crash can be reconciled with the provider.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    #: "prompt", "reminder", "reply", ...: why eas sent it.
    purpose: Mapped[str | None] = mapped_column(sa.String(20))
    status: Mapped[MessageStatus] = mapped_column(enum_type(MessageStatus))
    error_code: Mapped[int | None]
    #: The provider's request (inbound) or answer (outbound) as received, for audits, WITHOUT
    #: the phone numbers (From, To): those are only ever stored encrypted, above.
    provider_payload: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    participant: Mapped[Participant | None] = relationship()


class SimulatedMessage(db.Model):
    """A text message as the phone simulator received it: the demo's stand-in for Twilio.

    Written by the simulator in its own transaction, like a real provider's records, so a
    dispatcher that crashed mid-send can ask it what really went out.
    """

    __tablename__ = "simulator_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    provider_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DispatcherHeartbeat(db.Model):
    """Each dispatcher process says when it last ran, for /healthz and for people."""

    __tablename__ = "dispatcher_heartbeats"

    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_tick_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ticks: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
