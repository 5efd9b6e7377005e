"""Signing in and out, and who may see which study (404 for studies one is not on, so their
existence does not leak)."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from werkzeug.urls import iri_to_uri

from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.studies.models import Study
from eas.users.models import StudyRole, User
from eas.users.operations import AccountError, authenticate, role_in
from eas.web.csrf import require_csrf

bp = Blueprint("auth", __name__)


def current_user() -> User | None:
    user_id = session.get("user_id")
    user = db.session.get(User, user_id) if user_id else None  # the identity map caches it
    return user if user is not None and user.is_active else None


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapper


#: The largest id a URL may name (PostgreSQL's integer; SQLite overflows past 2**63).
MAX_ID = 2**31 - 1


def bounded_int(text: str | None, default: int) -> int:
    """A whole number from a query string, or the default when it is missing or not one;
    ids beyond any stored one are not found, rather than crashing the query."""
    try:
        value = int(text) if text is not None else default
    except ValueError:
        return default
    return max(-1, min(value, MAX_ID))


def form_post(view):
    """For views that change things: the form's CSRF token is checked, and the transaction
    starts as a writer before anything is read (SQLite: waiting its turn for the write lock,
    instead of failing half-way when the dispatcher holds it)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        require_csrf()
        begin_write()
        return view(*args, **kwargs)

    return wrapper


def study_for(slug: str, at_least: StudyRole = StudyRole.viewer) -> tuple[Study, StudyRole]:
    """The study if the signed-in user is on it with at least that role; 404 otherwise."""
    study = db.session.scalar(sa.select(Study).where(Study.slug == slug))
    user = current_user()
    role = role_in(user, study.id) if study is not None and user is not None else None
    if study is None or role is None or role.rank < at_least.rank:
        abort(404)
    return study, role


#: What browsers drop from anywhere in a URL before reading it (the WHATWG URL standard).
_DROPPED = str.maketrans("", "", "\t\n\r")
#: What they strip from its ends: C0 control characters and space.
_STRIPPED = "".join(map(chr, range(33)))


def same_site_path(target: str) -> str | None:
    r"""`target` as a path on this site (escaped for a Location header), or None when a browser
    could read it as another site, a scheme of its own (`javascript:`) or a relative path.

    Checked as a browser reads the target, not as it is written: `/\t/evil.example` is
    `//evil.example` once the tab is dropped, and so is `/\evil.example`, a backslash being a
    slash to browsers. What is followed is the path as parsed, rebuilt and escaped."""
    seen = target.translate(_DROPPED).strip(_STRIPPED).replace("\\", "/")
    # urllib reads `///evil.example` as the path `/evil.example`; a browser, as a host.
    if not seen.startswith("/") or seen.startswith("//"):
        return None
    parts = urlsplit(seen)
    if parts.scheme or parts.netloc:  # urllib must agree: a scheme or host is never followed
        return None
    return iri_to_uri(urlunsplit(("", "", parts.path, parts.query, parts.fragment)))


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        require_csrf()
        try:
            user = authenticate(
                request.form.get("email", ""),
                request.form.get("password", ""),
                request.remote_addr or "unknown",
                now_utc(),
            )
        except AccountError as problem:
            # Shown with a 200: the request commits, and the failed attempt's count with it.
            error = str(problem)
        else:
            session.clear()  # a fresh session: no fixation
            session["user_id"] = user.id
            target = same_site_path(request.args.get("next", ""))
            return redirect(target or url_for("web.index"))
    return render_template("login.html", error=error)


@bp.post("/logout")
def logout():
    require_csrf()
    session.clear()
    return redirect(url_for("auth.login"))
