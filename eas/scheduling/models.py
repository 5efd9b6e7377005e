from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.core.db import UTCDateTime, db, enum_type
from eas.participants.models import Channel
from eas.scheduling.reasons import CancelReason

__all__ = ["CancelReason", "PlanHorizon", "PlannedPrompt", "PromptStatus"]

if TYPE_CHECKING:
    from eas.participants.models import Participant
    from eas.studies.models import ProtocolVersion


class PromptStatus(enum.Enum):
    scheduled = "scheduled"
    sending = "sending"
    sent = "sent"
    expired = "expired"
    failed = "failed"
    cancelled = "cancelled"


class PlannedPrompt(db.Model):
    """One planned prompt: a row exists for every prompt, sent or not, so misses are data."""

    __tablename__ = "planned_prompts"
    __table_args__ = (
        # Re-planning is idempotent: one row per slot and revision. A slot gets a new revision
        # only when its previous row was cancelled (a time-zone change, a new version...).
        sa.UniqueConstraint(
            "participant_id",
            "schedule_id",
            "occurrence",
            "revision",
            name="uq_planned_prompts_slot_revision",
        ),
        sa.Index("ix_planned_prompts_status_due_at", "status", "due_at"),
        # Every tick's reminder query: sent prompts whose next reminder is due.
        sa.Index("ix_planned_prompts_status_next_reminder_at", "status", "next_reminder_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    protocol_version_id: Mapped[int] = mapped_column(sa.ForeignKey("protocol_versions.id"))
    #: Schedule and questionnaire ids from the protocol.
    schedule_id: Mapped[str] = mapped_column(sa.String(64))
    questionnaire_id: Mapped[str] = mapped_column(sa.String(64))
    #: Stable key of this occurrence within the schedule, e.g. "2026-03-08#2".
    occurrence: Mapped[str] = mapped_column(sa.String(64))
    revision: Mapped[int] = mapped_column(default=0)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    #: Calendar day of the study in the participant's zone, from 1.
    study_day: Mapped[int]
    local_date: Mapped[date]
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The window the time was drawn from (a random block, or the fixed time itself).
    window_start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: After this the prompt can no longer be sent or answered.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[PromptStatus] = mapped_column(
        enum_type(PromptStatus), default=PromptStatus.scheduled
    )
    status_reason: Mapped[str | None] = mapped_column(sa.String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The dispatcher holding the prompt while it is `sending`, and until when (its lease).
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: After a retryable failure: not before this time.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: What the provider reported back: delivered to the phone, or the carrier's error
    #: (Twilio 30003-30008: unreachable, blocked, unknown number, landline, filtered...).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_error_code: Mapped[int | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    #: When the next reminder is due while the prompt is open and unanswered (None: no more).
    next_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship()
    protocol_version: Mapped[ProtocolVersion] = relationship()

    def __repr__(self) -> str:
        return f"<PlannedPrompt {self.id} {self.schedule_id} {self.due_at:%Y-%m-%dT%H:%MZ}>"


class PlanHorizon(db.Model):
    """How far a participant's plan reaches, while it stops short of the study's end (a long or
    open-ended study is planned weeks ahead and extended: `eas.scheduling.horizon`)."""

    __tablename__ = "plan_horizons"

    participant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    #: The participant's last planned study day, and its local date.
    planned_through_day: Mapped[int]
    planned_through: Mapped[date] = mapped_column(index=True)


def _literal(member: enum.Enum) -> sa.ColumnElement:
    return sa.literal_column(f"'{member.value}'")


#: SMS prompts that went out (or are going out): where every inbound text looks for the
#: conversation it belongs to. Written with literals, not parameters: SQLite uses a partial
#: index only for a query that repeats its condition.
WENT_OUT_BY_SMS = sa.and_(
    PlannedPrompt.channel == _literal(Channel.sms),
    PlannedPrompt.status.in_([_literal(PromptStatus.sent), _literal(PromptStatus.sending)]),
)
#: When a prompt went out: sent, or (while it is `sending`) due.
WENT_OUT_AT = sa.func.coalesce(PlannedPrompt.sent_at, PlannedPrompt.due_at)
#: A participant's latest SMS prompt, found without sorting all their prompts.
sa.Index(
    "ix_planned_prompts_latest_sms",
    PlannedPrompt.participant_id,
    WENT_OUT_AT,
    PlannedPrompt.id,
    sqlite_where=WENT_OUT_BY_SMS,
    postgresql_where=WENT_OUT_BY_SMS,
)
