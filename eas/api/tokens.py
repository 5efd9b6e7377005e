"""Per-user API tokens: made and revoked from the command line, checked on every API request.

A token is `eas_` and 43 URL-safe characters (256 random bits); the database keeps its SHA-256.
Operations flush; the caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from eas.api.models import ApiToken
from eas.audit.operations import record
from eas.core.db import db
from eas.users.models import User

PREFIX = "eas_"
_MAX_LENGTH = 100
#: `last_used_at` is written at most this often per token.
_TOUCH_INTERVAL = timedelta(minutes=1)


class TokenError(ValueError):
    pass


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str, now: datetime, *, actor: str) -> tuple[ApiToken, str]:
    """A new token for `user`: the row, and the token itself (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("give the token a name of 1 to 100 characters (what it is for)")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, token_hash=token_hash(token), created_at=now)
    db.session.add(row)
    db.session.flush()
    record("api_token.created", actor=actor, user_id=user.id, token_id=row.id, name=name)
    return row, token


def revoke_tokens(user: User, now: datetime, *, actor: str, name: str | None = None) -> int:
    """Revoke the user's live tokens (those with `name`, or all); how many were revoked."""
    query = sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if name is not None:
        query = query.where(ApiToken.name == name.strip())
    tokens = db.session.scalars(query).all()
    for token in tokens:
        token.revoked_at = now
        record(
            "api_token.revoked", actor=actor, user_id=user.id, token_id=token.id, name=token.name
        )
    db.session.flush()
    return len(tokens)


def authenticate_token(token: str) -> ApiToken | None:
    """The live token of an active user, or None (unknown, revoked, or the user disabled)."""
    if not token.startswith(PREFIX) or len(token) > _MAX_LENGTH:
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    return row


def needs_touch(row: ApiToken, now: datetime) -> bool:
    """Whether to record this use in `last_used_at` (at most once a minute)."""
    return row.last_used_at is None or now - row.last_used_at >= _TOUCH_INTERVAL


def touch(token_id: int, now: datetime) -> None:
    db.session.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def user_tokens(user: User) -> list[ApiToken]:
    return db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)
    ).all()
