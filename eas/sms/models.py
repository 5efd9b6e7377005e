from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eas.core.db import UTCDateTime, db


class ParkedStatusReport(db.Model):
    """A status callback for a message sid not on record yet: the dispatcher writes a batch's
    sids after the whole batch is sent, and Twilio may report on one before that. Applied
    when the sid appears (each dispatcher tick looks); dropped after a day (another app's)."""

    __tablename__ = "parked_status_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(sa.String(64), index=True)
    #: MessageStatus and ErrorCode, as Twilio sent them.
    params: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
