"""Coordinator accounts: argon2 password hashes, per-study roles, throttled sign-in."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from flask import current_app

from eas.audit.operations import record
from eas.core.db import begin_write, db
from eas.users.models import LoginAttempt, StudyMembership, StudyRole, User

#: argon2id with argon2-cffi's defaults (RFC 9106's low-memory choice) for every real account.
_hasher = PasswordHasher()
#: The cheapest argon2id, for test runs only (TESTING): a suite that makes and signs in to
#: hundreds of accounts would otherwise spend most of its time hashing. A hash carries its own
#: parameters, so either hasher verifies a password hashed by the other.
_test_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
#: Failures within the window that lock an account, or an address, for the rest of it.
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


def _password_hasher() -> PasswordHasher:
    return _test_hasher if current_app.config.get("TESTING") else _hasher


def create_user(
    email: str,
    name: str,
    password: str,
    now: datetime,
    *,
    admin: bool = False,
    actor: str = "cli",
) -> User:
    """A new account (flushed), by the rules every account follows: an e-mail address not in
    use, a password of at least MIN_PASSWORD_LENGTH characters. `actor`: who made it, for the
    audit log."""
    email = new_address(email)
    return add_user(email, name, hash_password(password), now, admin=admin, actor=actor)


def new_address(email: str) -> str:
    """`email` as an account stores it (lower-case), if it can be a new account's."""
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError(f"'{email}' is not an e-mail address")
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise AccountError(f"{email} already has an account")
    return email


def hash_password(password: str) -> str:
    """The hash a new password is stored as, if it is long enough. argon2 takes a good part
    of a second: web requests hash before their write transaction, not in it."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _password_hasher().hash(password)


def add_user(
    email: str, name: str, password_hash: str, now: datetime, *, admin: bool = False, actor: str
) -> User:
    """An account with a password hashed by `hash_password` (flushed)."""
    email = new_address(email)
    user = User(
        email=email,
        name=name,
        password_hash=password_hash,
        is_admin=admin,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    record("user.created", actor=actor, user_id=user.id, email=email, admin=admin)
    return user


class TeamError(ValueError):
    """A change to who is on a study that would leave it without an owner."""


def _membership(user: User, study_id: int) -> StudyMembership | None:
    return db.session.scalar(
        sa.select(StudyMembership).where(
            StudyMembership.user_id == user.id, StudyMembership.study_id == study_id
        )
    )


def _last_owner(membership: StudyMembership) -> bool:
    """Whether `membership` is the study's only owner who can still sign in. The owners' rows
    are locked (PostgreSQL) until the change commits: two owners taking each other off at the
    same moment must not both go ahead."""
    if membership.role is not StudyRole.owner:
        return False
    owners = db.session.scalars(
        sa.select(StudyMembership.user_id)
        .join(User, User.id == StudyMembership.user_id)
        .where(
            StudyMembership.study_id == membership.study_id,
            StudyMembership.role == StudyRole.owner,
            User.is_active,
        )
        .with_for_update(of=StudyMembership)
    ).all()
    return set(owners) <= {membership.user_id}


def grant(user: User, study_id: int, role: StudyRole, now: datetime, *, actor: str) -> None:
    """Put `user` on the study with `role`, or change their role. A study keeps an owner: the
    only one cannot become something else (make someone else owner first)."""
    membership = _membership(user, study_id)
    if membership is None:
        db.session.add(
            StudyMembership(user_id=user.id, study_id=study_id, role=role, created_at=now)
        )
    elif membership.role is role:
        return
    else:
        if role is not StudyRole.owner and _last_owner(membership):
            raise TeamError(
                f"{user.email} is the study's only owner: make someone else owner first"
            )
        membership.role = role
    db.session.flush()
    record(
        "user.granted",
        actor=actor,
        user_id=user.id,
        study_id=study_id,
        email=user.email,
        role=role.value,
    )


def revoke(user: User, study_id: int, *, actor: str) -> None:
    """Take `user` off the study (their account stays). Not its only owner."""
    membership = _membership(user, study_id)
    if membership is None:
        return
    if _last_owner(membership):
        raise TeamError(f"{user.email} is the study's only owner: make someone else owner first")
    db.session.delete(membership)
    db.session.flush()
    record("user.revoked", actor=actor, user_id=user.id, study_id=study_id, email=user.email)


def team_of(study_id: int) -> list[tuple[User, StudyRole]]:
    """Who is on the study, owners first, then by address."""
    rows = db.session.execute(
        sa.select(User, StudyMembership.role)
        .join(StudyMembership, StudyMembership.user_id == User.id)
        .where(StudyMembership.study_id == study_id)
    ).all()
    return sorted(((user, role) for user, role in rows), key=lambda r: (-r[1].rank, r[0].email))


def _recent_failures(column, value: str, now: datetime) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(LoginAttempt)
        .where(
            column == value,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.at > now - THROTTLE_WINDOW,
        )
    )


def _refuse_if_throttled(email: str, remote_addr: str, now: datetime) -> None:
    if (
        _recent_failures(LoginAttempt.email, email, now) >= MAX_FAILURES_PER_ACCOUNT
        or _recent_failures(LoginAttempt.remote_addr, remote_addr, now) >= MAX_FAILURES_PER_ADDRESS
    ):
        raise AccountError("Too many failed sign-ins: try again in 15 minutes.")


def _holder(email: str, password: str) -> User | None:
    """The active account with that address and password, if there is one."""
    user = db.session.scalar(sa.select(User).where(User.email == email, User.is_active))
    hasher = _password_hasher()
    if user is None:
        hasher.hash(password)  # the same time spent whether or not the account exists
        return None
    try:
        return user if hasher.verify(user.password_hash, password) else None
    except (VerifyMismatchError, InvalidHashError):
        return None


def _count_one_at_a_time() -> None:
    """Start the transaction that counts an attempt as the only sign-in doing so: attempts
    made at the same moment would otherwise all see the same count and all go ahead.
    SQLite: as a writer (BEGIN IMMEDIATE), waiting its turn, which a transaction that had read
    could not (it failed with "database is locked"). PostgreSQL: a lock on the attempts that
    only sign-ins take (it keeps no reader waiting), held until the request commits."""
    db.session.rollback()  # only read until now: nothing is lost
    begin_write()
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        table = LoginAttempt.__tablename__
        connection.exec_driver_sql(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def authenticate(email: str, password: str, remote_addr: str, now: datetime) -> User:
    """The user, or AccountError with a message that does not tell which part was wrong.

    Every password checked is counted, in a transaction of its own that it begins (a caller
    writes nothing before it), and is left to commit (an AccountError is no reason to roll
    back). The password is checked before that transaction, not in it: argon2 takes a good
    part of a second, which every other writer would wait for, and sign-ins at once would
    queue past SQLite's busy timeout. The throttle is looked at again once attempts are
    counted one at a time: a right password found meanwhile is refused all the same."""
    email = email.strip().lower()[:254]  # no address is longer; the attempt is still counted
    _refuse_if_throttled(email, remote_addr, now)  # before spending the hashing time
    user = _holder(email, password)
    user_id = user.id if user is not None else None
    _count_one_at_a_time()
    _refuse_if_throttled(email, remote_addr, now)
    db.session.add(
        LoginAttempt(email=email, remote_addr=remote_addr, succeeded=user is not None, at=now)
    )
    db.session.flush()
    if user_id is None:
        raise AccountError("Wrong e-mail address or password.")
    record("user.signed_in", actor=email, user_id=user_id)
    return db.session.get(User, user_id)


def may_create_studies(user: User) -> bool:
    """Administrators, and whoever owns a study already: a viewer's account cannot start
    studies of its own (or probe which study ids exist)."""
    if user.is_admin:
        return True
    return (
        db.session.scalar(
            sa.select(StudyMembership.id)
            .where(StudyMembership.user_id == user.id, StudyMembership.role == StudyRole.owner)
            .limit(1)
        )
        is not None
    )


def role_in(user: User, study_id: int) -> StudyRole | None:
    return db.session.scalar(
        sa.select(StudyMembership.role).where(
            StudyMembership.user_id == user.id, StudyMembership.study_id == study_id
        )
    )
