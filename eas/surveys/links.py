"""Links to web pages, sent by text message: unguessable, bound to one prompt (or to one
participant's own page), short enough to share a segment with their text, stored only hashed.

A token is 16 URL-safe characters (96 random bits); the database keeps its SHA-256, so a copy
of the database opens no one's questionnaire. A prompt may have several links (the first text
and each reminder get their own); they all lead to the same response.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from eas.core.db import db
from eas.core.links import base_url, token_hash
from eas.participants.models import Participant
from eas.responses.models import AccessLink
from eas.scheduling.models import PlannedPrompt

_TOKEN_BYTES = 12


def _issue(participant_id: int, prompt_id: int | None, now: datetime) -> str:
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    db.session.add(
        AccessLink(
            token_hash=token_hash(token),
            participant_id=participant_id,
            prompt_id=prompt_id,
            created_at=now,
        )
    )
    db.session.flush()
    return token


def issue_token(prompt: PlannedPrompt, now: datetime) -> str:
    return _issue(prompt.participant_id, prompt.id, now)


def prompt_link(prompt: PlannedPrompt, now: datetime) -> str:
    return f"{base_url()}/p/{issue_token(prompt, now)}"


def personal_link(participant: Participant, now: datetime) -> str:
    """A new link to the participant's own page; earlier ones stop working."""
    db.session.execute(
        sa.update(AccessLink)
        .where(
            AccessLink.participant_id == participant.id,
            AccessLink.prompt_id.is_(None),
            AccessLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return f"{base_url()}/me/{_issue(participant.id, None, now)}"


@functools.cache
def _prompt_link(lock: bool) -> sa.Select:
    # A prompt's page reads the prompt, its protocol version, its participant and their study:
    # one statement for all of them. (Built on first use: loader options need every model mapped.)
    statement = (
        sa.select(AccessLink)
        .join(AccessLink.prompt)
        .join(PlannedPrompt.protocol_version)
        .join(PlannedPrompt.participant)
        .join(Participant.study)
        .where(AccessLink.token_hash == sa.bindparam("token_hash"), AccessLink.revoked_at.is_(None))
        .options(
            contains_eager(AccessLink.prompt).options(
                contains_eager(PlannedPrompt.protocol_version),
                contains_eager(PlannedPrompt.participant).contains_eager(Participant.study),
            )
        )
    )
    # Only the prompt's row: locking the participant's would hold up their other work.
    return statement.with_for_update(of=PlannedPrompt) if lock else statement


@functools.cache
def _personal_link() -> sa.Select:
    return (
        sa.select(AccessLink)
        .join(AccessLink.participant)
        .join(Participant.study)
        .where(
            AccessLink.token_hash == sa.bindparam("token_hash"),
            AccessLink.prompt_id.is_(None),
            AccessLink.revoked_at.is_(None),
        )
        .options(contains_eager(AccessLink.participant).contains_eager(Participant.study))
    )


def resolve(token: str, *, personal: bool = False, lock: bool = False) -> AccessLink | None:
    """The link a token opens (a prompt's, or with `personal` a participant's own page), or None.
    `lock` also locks the prompt's row to the end of the transaction (PostgreSQL; SQLite has one
    writer), so two submits of one page take turns."""
    if not token or len(token) > 64:
        return None
    statement = _personal_link() if personal else _prompt_link(lock)
    return db.session.scalar(statement, {"token_hash": token_hash(token)})
