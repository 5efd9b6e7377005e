from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eas.core.db import UTCDateTime, db
from eas.users.models import User


class ApiToken(db.Model):
    """A user's token for the REST API: it acts with the user's roles on each study.

    The token itself is shown once, when it is made; only its SHA-256 is stored, so a copy of
    the database opens nothing.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: What the token is for ("analysis laptop", "REDCap sync"), to tell tokens apart.
    name: Mapped[str] = mapped_column(sa.String(100))
    #: SHA-256 (hex) of the token.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Updated at most once a minute, so reading does not mean writing on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.name!r}>"
