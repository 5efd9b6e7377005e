"""Invitations: an owner puts a colleague who has no account yet on a study. The invitation's
link is shown once, to whoever invites (the team page, or `eas users invite`); opening it lets
the colleague choose their name and password, which makes their account, gives them the role
and signs them in.

A token is 43 URL-safe characters (256 random bits); the database keeps its SHA-256, so a copy
of the database accepts no invitation. A link works once, for INVITATION_LIFETIME, and only
while whoever invited is still an owner of the study. Inviting the same address to the same
study again replaces the earlier link. Operations flush; the caller commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from eas.audit.operations import record
from eas.core.db import db
from eas.core.links import base_url, token_hash
from eas.users.models import Invitation, StudyMembership, StudyRole, User
from eas.users.operations import AccountError, add_user, grant, role_in

INVITATION_LIFETIME = timedelta(days=7)
_MAX_TOKEN_LENGTH = 64
_MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200


class InvitationError(ValueError):
    """An invitation that cannot be made as asked (the message says why)."""


@dataclass(frozen=True)
class Unusable:
    """Why a link cannot be accepted: its HTTP status (404 unknown, 410 gone), a title and
    what to do."""

    status: int
    title: str
    message: str


def invitation_link(token: str) -> str:
    return f"{base_url()}/invitations/{token}"


def invite(
    email: str,
    study_id: int,
    role: StudyRole,
    now: datetime,
    *,
    inviter: User | None,
    actor: str,
) -> tuple[Invitation, str]:
    """A new invitation (flushed) and its token (never stored). An address that has an account
    is not invited (add it to the team instead); an earlier invitation of the address to the
    study stops working."""
    email = email.strip().lower()
    if not email:
        raise InvitationError("Enter your colleague's e-mail address.")
    if "@" not in email or len(email) > _MAX_EMAIL_LENGTH or any(c.isspace() for c in email):
        raise InvitationError(f"{email!r} is not an e-mail address.")
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is not None:
        if role_in(user, study_id) is not None:
            raise InvitationError(f"{email} is on this study already: change their role there.")
        raise InvitationError(
            f"{email} has an account already: add them to the team instead of inviting them."
        )
    replaced = _pending(study_id, now, email=email)
    for earlier in replaced:
        earlier.revoked_at = now
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email,
        study_id=study_id,
        role=role,
        invited_by_user_id=inviter.id if inviter is not None else None,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    record(
        "user.invited",
        actor=actor,
        study_id=study_id,
        email=email,
        role=role.value,
        invitation_id=invitation.id,
        expires_at=invitation.expires_at.isoformat(),
        replaced=[earlier.id for earlier in replaced],
    )
    return invitation, token


def _pending(study_id: int, now: datetime, *, email: str | None = None) -> list[Invitation]:
    query = sa.select(Invitation).where(
        Invitation.study_id == study_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    )
    if email is not None:
        query = query.where(Invitation.email == email)
    return list(db.session.scalars(query.order_by(Invitation.email, Invitation.id)))


def pending_invitations(study_id: int, now: datetime) -> list[tuple[Invitation, User | None]]:
    """The study's invitations that can still be accepted, with who made each, by address."""
    inviters = {
        user.id: user
        for user in db.session.scalars(
            sa.select(User)
            .join(Invitation, Invitation.invited_by_user_id == User.id)
            .where(Invitation.study_id == study_id)
        )
    }
    return [
        (invitation, inviters.get(invitation.invited_by_user_id))
        for invitation in _pending(study_id, now)
    ]


def withdraw(invitation: Invitation, now: datetime, *, actor: str) -> None:
    """The invitation's link stops working (nothing happens to one already accepted)."""
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        return
    invitation.revoked_at = now
    db.session.flush()
    record(
        "user.invitation_withdrawn",
        actor=actor,
        study_id=invitation.study_id,
        email=invitation.email,
        invitation_id=invitation.id,
    )


def find(token: str, *, lock: bool = False) -> Invitation | None:
    """The invitation a link's token names, whatever its state. `lock` also locks its row to
    the end of the transaction (PostgreSQL; SQLite has one writer): two acceptances of one
    link take turns, and the second finds it used."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    query = sa.select(Invitation).where(Invitation.token_hash == token_hash(token))
    return db.session.scalar(query.with_for_update() if lock else query)


def _inviter_still_owner(invitation: Invitation) -> bool:
    """An invitation speaks for whoever made it only while they may still change the team:
    an owner taken off the study cannot come back through a link made before."""
    if invitation.invited_by_user_id is None:  # from the command line
        return True
    return (
        db.session.scalar(
            sa.select(StudyMembership.id)
            .join(User, User.id == StudyMembership.user_id)
            .where(
                StudyMembership.user_id == invitation.invited_by_user_id,
                StudyMembership.study_id == invitation.study_id,
                StudyMembership.role == StudyRole.owner,
                User.is_active,
            )
        )
        is not None
    )


def problem(invitation: Invitation | None, now: datetime) -> Unusable | None:
    """Why the link cannot be accepted now, or None if it can."""
    if invitation is None:
        return Unusable(
            404,
            "Unknown invitation",
            "This invitation link is not known. Check that the whole link was copied, or ask "
            "for a new invitation.",
        )
    if invitation.accepted_at is not None:
        return Unusable(
            410,
            "Invitation already used",
            f"This invitation has been accepted already: sign in as {invitation.email}.",
        )
    if invitation.revoked_at is not None:
        return Unusable(
            410,
            "Invitation withdrawn",
            "This invitation has been withdrawn or replaced by a newer one. Ask the study's "
            "owner for a new invitation if you still need one.",
        )
    if invitation.expires_at <= now:
        return Unusable(
            410,
            "Invitation expired",
            f"This invitation expired on {invitation.expires_at:%d %b %Y at %H:%M} UTC. Ask "
            "the study's owner for a new one.",
        )
    if not _inviter_still_owner(invitation):
        return Unusable(
            410,
            "Invitation no longer valid",
            "Whoever sent this invitation no longer manages the study's team. Ask one of its "
            "owners for a new invitation.",
        )
    return None


def check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise AccountError("Enter your name.")
    if len(name) > MAX_NAME_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise AccountError(f"Your name: one line of at most {MAX_NAME_LENGTH} characters.")
    return name


def accept(invitation: Invitation, name: str, password_hash: str, now: datetime) -> User:
    """Make the invited account (its password hashed by `hash_password`), put it on the study
    and mark the invitation used. The caller has checked `problem` (with the row locked)."""
    user = add_user(invitation.email, check_name(name), password_hash, now, actor=invitation.email)
    grant(user, invitation.study_id, invitation.role, now, actor=invitation.email)
    invitation.accepted_at = now
    invitation.accepted_user_id = user.id
    db.session.flush()
    record(
        "user.invitation_accepted",
        actor=invitation.email,
        user_id=user.id,
        study_id=invitation.study_id,
        email=invitation.email,
        role=invitation.role.value,
        invitation_id=invitation.id,
    )
    return user
