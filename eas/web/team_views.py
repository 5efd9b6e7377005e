"""Who is on a study: everyone on it sees the team; owners add colleagues who have an account,
change their roles and take them off. A study always keeps an owner."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from eas.core.clock import now_utc
from eas.core.db import db
from eas.users.models import StudyRole, User
from eas.users.operations import TeamError, grant, revoke, role_in, team_of
from eas.web.auth import MAX_ID, current_user, form_post, login_required, study_for

bp = Blueprint("team", __name__)
_ALREADY = "{email} is on this study already: change their role in the list."


def _page(study, role, *, error: str | None = None, entered: dict | None = None, status=200):
    return (
        render_template(
            "team.html",
            study=study,
            can_manage=role is StudyRole.owner,
            team=team_of(study.id),
            roles=[r.value for r in StudyRole],
            me=current_user(),
            error=error,
            entered=entered or {},
        ),
        status,
    )


def _member(study_id: int, user_id: int) -> User:
    """A user on this study (404 for anyone else: accounts are not listed here)."""
    user = db.session.get(User, user_id)
    if user is None or role_in(user, study_id) is None:
        abort(404)
    return user


def _role(value: str) -> StudyRole | None:
    return next((role for role in StudyRole if role.value == value), None)


@bp.get("/studies/<slug>/team")
@login_required
def team(slug: str):
    study, role = study_for(slug)
    return _page(study, role)


@bp.post("/studies/<slug>/team")
@form_post
@login_required
def add_member(slug: str):
    study, role = study_for(slug, StudyRole.owner)
    email = request.form.get("email", "").strip().lower()
    new_role = _role(request.form.get("role", ""))
    entered = {"email": email, "role": request.form.get("role", "")}
    if new_role is None:
        return _page(study, role, error="Choose a role.", entered=entered, status=422)
    user = db.session.scalar(sa.select(User).where(User.email == email)) if email else None
    if user is None or not user.is_active:
        error = (
            f"No account uses the address {email!r}. An administrator creates accounts "
            "(eas users create); add them here once it exists."
            if email
            else "Enter the address your colleague signs in with."
        )
        return _page(study, role, error=error, entered=entered, status=422)
    if role_in(user, study.id) is not None:
        error = _ALREADY.format(email=email)
        return _page(study, role, error=error, entered=entered, status=422)
    try:
        with db.session.begin_nested():
            grant(user, study.id, new_role, now_utc(), actor=current_user().email)
    except sa.exc.IntegrityError:  # added by someone else a moment ago
        error = _ALREADY.format(email=email)
        return _page(study, role, error=error, entered=entered, status=422)
    flash(f"{email} is now {new_role.value} of this study.")
    return redirect(url_for("team.team", slug=slug), 303)


@bp.post(f"/studies/<slug>/team/<int(max={MAX_ID}):user_id>/role")
@form_post
@login_required
def change_role(slug: str, user_id: int):
    study, role = study_for(slug, StudyRole.owner)
    member = _member(study.id, user_id)
    new_role = _role(request.form.get("role", ""))
    if new_role is None:
        return _page(study, role, error="Choose a role.", status=422)
    try:
        grant(member, study.id, new_role, now_utc(), actor=current_user().email)
    except TeamError as problem:
        return _page(study, role, error=str(problem), status=409)
    flash(f"{member.email} is now {new_role.value} of this study.")
    return redirect(url_for("team.team", slug=slug), 303)


@bp.post(f"/studies/<slug>/team/<int(max={MAX_ID}):user_id>/remove")
@form_post
@login_required
def remove_member(slug: str, user_id: int):
    study, role = study_for(slug, StudyRole.owner)
    member = _member(study.id, user_id)
    try:
        revoke(member, study.id, actor=current_user().email)
    except TeamError as problem:
        return _page(study, role, error=str(problem), status=409)
    flash(f"{member.email} is no longer on this study.")
    if member.id == current_user().id:
        return redirect(url_for("web.index"), 303)  # they left: the study is not theirs to see
    return redirect(url_for("team.team", slug=slug), 303)
