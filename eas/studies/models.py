from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.core.db import UTCDateTime, db

if TYPE_CHECKING:
    from eas.participants.models import Participant


class Study(db.Model):
    __tablename__ = "studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The protocol's `study.id`: how coordinators and the CLI name the study.
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: The study's default IANA zone; every participant has their own.
    timezone: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    versions: Mapped[list[ProtocolVersion]] = relationship(
        back_populates="study", order_by="ProtocolVersion.number"
    )
    participants: Mapped[list[Participant]] = relationship(back_populates="study")

    @property
    def current_version(self) -> ProtocolVersion | None:
        return self.versions[-1] if self.versions else None

    def __repr__(self) -> str:
        return f"<Study {self.slug}>"


class ProtocolVersion(db.Model):
    """One published protocol: its source text exactly as written, and the parsed definition.

    Rows are never updated: publishing a change creates a new version.
    """

    __tablename__ = "protocol_versions"
    __table_args__ = (sa.UniqueConstraint("study_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(sa.ForeignKey("studies.id"), index=True)
    #: 1, 2, 3... within the study.
    number: Mapped[int]
    #: Where the source came from (a file path or "upload"), for people, not for logic.
    source_name: Mapped[str] = mapped_column(sa.String(500))
    #: Deferred: only pages that show the source need it, not every request that reads the study.
    source_text: Mapped[str] = mapped_column(sa.Text, deferred=True)
    #: SHA-256 of the source text: publishing the current text again creates no version.
    source_hash: Mapped[str] = mapped_column(sa.String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    study: Mapped[Study] = relationship(back_populates="versions")

    def __repr__(self) -> str:
        return f"<ProtocolVersion {self.study_id} v{self.number}>"


@sa.event.listens_for(ProtocolVersion, "before_update")
def _protocol_versions_are_immutable(mapper, connection, target: ProtocolVersion) -> None:
    raise ValueError("protocol versions are immutable; publish a new version instead")
