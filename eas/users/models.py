from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eas.core.db import UTCDateTime, db, enum_type


class User(db.Model):
    """A coordinator (or analyst) who signs in to the dashboard."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case, so sign-in is case-insensitive.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: An argon2 hash; never the password.
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class StudyRole(enum.Enum):
    """What a user may do in one study: owners also manage who is on it; coordinators run it
    (enrol, acknowledge alerts, export); viewers only look."""

    owner = "owner"
    coordinator = "coordinator"
    viewer = "viewer"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "coordinator": 1, "owner": 2}[self.value]


class StudyMembership(db.Model):
    __tablename__ = "study_memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "study_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("studies.id"), index=True)
    role: Mapped[StudyRole] = mapped_column(enum_type(StudyRole))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginAttempt(db.Model):
    """Sign-in attempts, for throttling: too many failures lock an address or an account."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    remote_addr: Mapped[str] = mapped_column(sa.String(64), index=True)
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Invitation(db.Model):
    """An owner's invitation to a colleague without an account: the link (shown once, to the
    owner) lets them choose their name and password, which makes the account and puts it on
    the study with `role`. Only the link's SHA-256 is stored, so a copy of the database
    accepts no invitation."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case, as the account it becomes.
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("studies.id"), index=True)
    role: Mapped[StudyRole] = mapped_column(enum_type(StudyRole))
    #: The owner who invited; None from the command line.
    invited_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: SHA-256 (hex) of the link's token.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The account the invitation became.
    accepted_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: Withdrawn by an owner, or replaced by a newer invitation to the same address.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.email}>"
