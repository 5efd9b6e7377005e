from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.core.crypto import get_cipher
from eas.core.db import UTCDateTime, db, enum_type

if TYPE_CHECKING:
    from eas.studies.models import Study


class ParticipantStatus(enum.Enum):
    active = "active"
    paused = "paused"
    withdrawn = "withdrawn"
    completed = "completed"
    opted_out = "opted_out"


class Channel(enum.Enum):
    sms = "sms"
    web = "web"


class Participant(db.Model):
    __tablename__ = "participants"
    __table_args__ = (
        sa.UniqueConstraint("study_id", "label"),
        sa.UniqueConstraint("study_id", "phone_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("studies.id"), index=True)
    #: Pseudonymous label chosen by the coordinators (e.g. "P017"); used in every export.
    label: Mapped[str] = mapped_column(sa.String(64))
    #: The E.164 phone number, encrypted; read it through `phone`.
    phone_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: Keyed hash of the E.164 number, to find the sender of an inbound SMS.
    phone_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: Current IANA zone; changes are recorded in `timezone_changes`.
    timezone: Mapped[str] = mapped_column(sa.String(64))
    #: Local waking window; sleep earlier than wake means the window crosses midnight.
    wake_time: Mapped[time]
    sleep_time: Mapped[time]
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    status: Mapped[ParticipantStatus] = mapped_column(
        enum_type(ParticipantStatus), default=ParticipantStatus.active
    )
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: First study day, a calendar date in the participant's zone.
    start_date: Mapped[date]
    #: Optional Saturday/Sunday waking window (both or neither).
    weekend_wake_time: Mapped[time | None]
    weekend_sleep_time: Mapped[time | None]
    #: Seed of this participant's random draws, stored so re-planning never re-randomises.
    schedule_seed: Mapped[int] = mapped_column(sa.BigInteger)
    #: A dyad or group whose members share random prompt times.
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("participant_groups.id"), index=True)
    #: The between-person arm (one of the protocol's `study.arms.names`) whose schedules are
    #: this participant's; None in a study without arms. Fixed at enrolment (`arms`).
    arm: Mapped[str | None] = mapped_column(sa.String(64))
    #: The value of the `study.arms.stratify_by` column the arm was balanced within (None:
    #: arms not stratified, or taken from the CSV).
    arm_stratum: Mapped[str | None] = mapped_column(sa.String(64))

    study: Mapped[Study] = relationship(back_populates="participants")
    group: Mapped[ParticipantGroup | None] = relationship(back_populates="members")
    timezone_changes: Mapped[list[TimezoneChange]] = relationship(
        back_populates="participant", order_by="TimezoneChange.effective_at"
    )
    pauses: Mapped[list[Pause]] = relationship(
        back_populates="participant", order_by="Pause.starts_at"
    )

    @property
    def phone(self) -> str:
        return get_cipher().decrypt(self.phone_encrypted)

    @phone.setter
    def phone(self, e164: str) -> None:
        cipher = get_cipher()
        self.phone_encrypted = cipher.encrypt(e164)
        self.phone_hash = cipher.lookup_hash(e164)

    def __repr__(self) -> str:
        return f"<Participant {self.label}>"


class TimezoneChange(db.Model):
    """The participant's zone history: the zone in force from `effective_at` on."""

    __tablename__ = "timezone_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    timezone: Mapped[str] = mapped_column(sa.String(64))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship(back_populates="timezone_changes")


class ParticipantGroup(db.Model):
    """Participants linked as a dyad or group (couples, families): they share random times."""

    __tablename__ = "participant_groups"
    __table_args__ = (sa.UniqueConstraint("study_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("studies.id"), index=True)
    label: Mapped[str] = mapped_column(sa.String(64))
    #: Seed of the group's shared random draws.
    schedule_seed: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    members: Mapped[list[Participant]] = relationship(
        back_populates="group", order_by="Participant.id"
    )


class Pause(db.Model):
    """A period without prompts (illness, holiday); open-ended until resumed."""

    __tablename__ = "pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("participants.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    participant: Mapped[Participant] = relationship(back_populates="pauses")
