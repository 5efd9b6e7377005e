from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eas.core.db import UTCDateTime, db, enum_type


class AlertStatus(enum.Enum):
    open = "open"
    acknowledged = "acknowledged"


class SafetyAlert(db.Model):
    """One alert of the protocol set off by one participant's answer or text. It stays open
    until a coordinator acknowledges it; notifying the team is retried until it succeeds."""

    __tablename__ = "safety_alerts"
    __table_args__ = (sa.UniqueConstraint("study_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("studies.id"), index=True)
    #: The alert's number in its study (1, 2, ...): what the team reads and types
    #: (`eas alerts ack STUDY NUMBER`); given when it is raised, under the study's lock.
    number: Mapped[int]
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    prompt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("planned_prompts.id"))
    #: The alert's id in the protocol (e.g. high_distress).
    rule: Mapped[str] = mapped_column(sa.String(64))
    #: What set it off, without the participant's words: "rule" or "keyword".
    trigger: Mapped[str] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[AlertStatus] = mapped_column(enum_type(AlertStatus), default=AlertStatus.open)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(sa.String(100))
    #: The account that acknowledged it (`acknowledged_by` keeps its e-mail address as it was).
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: What the team did ("called participant, safe"): required to acknowledge.
    acknowledged_note: Mapped[str | None] = mapped_column(sa.String(500))
    #: Telling the coordinators: when it succeeded, or when to try again and why it failed.
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notify_attempts: Mapped[int] = mapped_column(default=0)
    next_notify_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    #: When the backup contact was told (on-call in quiet hours, or no acknowledgement in time).
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
