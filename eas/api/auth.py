"""Who is calling, and what they may do: a bearer token acts with its user's role on each
study. A study the user is not on is a 404, exactly like one that does not exist; a role too
low for a write is a 403 (the user already sees the study). The session cookie of the web pages
is never read here, so the API needs no CSRF token."""

from __future__ import annotations

import logging

from flask import g, request
from flask_smorest import abort
from sqlalchemy.exc import SQLAlchemyError

from eas.api.schemas import CONTROL_CHARACTERS
from eas.api.tokens import authenticate_token, needs_touch, touch
from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.studies.models import Study
from eas.studies.operations import get_study
from eas.users.models import StudyRole, User
from eas.users.operations import role_in

log = logging.getLogger("eas.api")
#: The security scheme every operation documents (see `eas.api.init_api`).
SECURITY_SCHEME = "bearerAuth"
_READING = ("GET", "HEAD", "OPTIONS")


def unauthorized(message: str):
    abort(401, message=message, headers={"WWW-Authenticate": 'Bearer realm="eas api"'})


def authenticate() -> None:
    """Before every API request: the token from `Authorization: Bearer ...`, or a 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        unauthorized("send an API token: 'Authorization: Bearer <token>' (eas users token)")
    if request.method not in _READING:
        begin_write()  # SQLite: a writer from the start, as it reads and then changes things
    row = authenticate_token(token)
    if row is None:
        unauthorized("this API token is not valid: it is unknown or was revoked")
    g.api_token = row
    if needs_touch(row, now_utc()):
        g.api_token_to_touch = row.id


def record_use(error: BaseException | None) -> None:
    """After the request's own commit or rollback (`finish_request`): note the token's use,
    at most once a minute, in a short write transaction of its own, so a request that only
    reads stays a reader (SQLite readers never wait for the dispatcher)."""
    token_id = g.pop("api_token_to_touch", None)
    if error is not None or token_id is None:
        return  # (an error that reached here was not rolled back: commit nothing)
    try:
        begin_write()
        touch(token_id, now_utc())
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("could not record the use of API token %s", token_id, exc_info=True)


def current_user() -> User:
    return g.api_token.user


def addressable(name: str) -> bool:
    """Whether a study or participant could have this name: no control characters (a NUL in
    the URL would otherwise reach PostgreSQL, which refuses it)."""
    return CONTROL_CHARACTERS.search(name) is None


def study_for(slug: str, at_least: StudyRole = StudyRole.viewer) -> tuple[Study, StudyRole]:
    """The study and the caller's role in it: 404 if they are not on it, 403 if the role is
    too low for what they ask."""
    study = get_study(slug) if addressable(slug) else None
    role = role_in(current_user(), study.id) if study is not None else None
    if study is None or role is None or study.current_version is None:
        abort(404, message=f"no study '{slug}' (or you are not on it)")
    if role.rank < at_least.rank:
        needed = "an owner" if at_least is StudyRole.owner else f"a {at_least.value} or an owner"
        abort(403, message=f"you are a {role.value} of this study; this needs {needed}")
    return study, role
