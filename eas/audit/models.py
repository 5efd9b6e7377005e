from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eas.core.db import UTCDateTime, db


class AuditEvent(db.Model):
    """An action by a coordinator, a command or the system. Never updated, never deleted."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: Who acted: a coordinator's e-mail address, or "cli", "system", "participant".
    actor: Mapped[str] = mapped_column(sa.String(254))
    #: Dotted action name, e.g. "participants.imported", "study.version_published".
    action: Mapped[str] = mapped_column(sa.String(100), index=True)
    study_id: Mapped[int | None] = mapped_column(sa.ForeignKey("studies.id"), index=True)
    participant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("participants.id"))
    #: Pseudonymous details only: never a phone number or an answer.
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
