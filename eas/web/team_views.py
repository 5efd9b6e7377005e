"""Who is on a study: everyone on it sees the team; owners add colleagues who have an account,
invite those who have none yet (a link, shown once, with which they make their account), change
roles and take people off. A study always keeps an owner."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from eas.core.clock import now_utc
from eas.core.db import begin_write, db
from eas.studies.models import Study
from eas.users import invitations
from eas.users.models import Invitation, StudyRole, User
from eas.users.operations import (
    MIN_PASSWORD_LENGTH,
    AccountError,
    TeamError,
    grant,
    hash_password,
    revoke,
    role_in,
    team_of,
)
from eas.web.auth import MAX_ID, current_user, form_post, login_required, study_for
from eas.web.csrf import require_csrf

bp = Blueprint("team", __name__)
#: The invited colleague's pages: no account yet, so no sign-in (as the sign-in page itself).
public = Blueprint("invitations", __name__)


@bp.record_once
def _register_public_pages(state) -> None:
    state.app.register_blueprint(public)


_ALREADY = "{email} is on this study already: change their role in the list."


def _page(
    study,
    role,
    *,
    error: str | None = None,
    entered: dict | None = None,
    invite_error: str | None = None,
    invited: dict | None = None,
    new_link: dict | None = None,
    status=200,
):
    manages = role is StudyRole.owner
    response = make_response(
        render_template(
            "team.html",
            study=study,
            can_manage=manages,
            team=team_of(study.id),
            roles=[r.value for r in StudyRole],
            me=current_user(),
            error=error,
            entered=entered or {},
            invitations=invitations.pending_invitations(study.id, now_utc()) if manages else [],
            invite_error=invite_error,
            invited=invited or {},
            new_link=new_link,
        ),
        status,
    )
    if new_link is not None:  # the only time the link is shown: kept in no cache
        response.headers["Cache-Control"] = "no-store"
    return response


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
    # A link just made (see `invite`), shown this once.
    made = session.pop(_NEW_LINK, None)
    new_link = None
    if made is not None and made["study"] == study.id and role is StudyRole.owner:
        new_link = {**made, "expires_at": datetime.fromisoformat(made["expires_at"])}
    return _page(study, role, new_link=new_link)


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
        if not email:
            error = "Enter the address your colleague signs in with."
        elif user is None:
            error = (
                f"No account uses the address {email!r}. Invite them instead (below): the "
                "link lets them make their account and choose its password."
            )
        else:
            error = f"No account uses the address {email!r} any more: it is switched off."
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
    if request.form.get("confirm") != "yes":
        # The list's button asks first, on a page of its own (no JavaScript needed): only a
        # form saying confirm=yes takes anyone off. A refusal (the study's only owner) comes
        # before the question: tried, then undone.
        trial, refusal = db.session.begin_nested(), None
        try:
            revoke(member, study.id, actor=current_user().email)
        except TeamError as problem:
            refusal = str(problem)
        trial.rollback()
        if refusal:
            return _page(study, role, error=refusal, status=409)
        return render_template(
            "team_remove.html",
            study=study,
            member=member,
            member_role=role_in(member, study.id),
            me=current_user(),
        )
    try:
        revoke(member, study.id, actor=current_user().email)
    except TeamError as problem:
        return _page(study, role, error=str(problem), status=409)
    flash(f"{member.email} is no longer on this study.")
    if member.id == current_user().id:
        return redirect(url_for("web.index"), 303)  # they left: the study is not theirs to see
    return redirect(url_for("team.team", slug=slug), 303)


# Invitations ----------------------------------------------------------------------------------

#: Where the session keeps an invitation link between making it and showing it.
_NEW_LINK = "eas.new_invitation_link"


@bp.post("/studies/<slug>/team/invitations")
@form_post
@login_required
def invite(slug: str):
    study, role = study_for(slug, StudyRole.owner)
    invited = {"email": request.form.get("email", "").strip(), "role": request.form.get("role")}
    new_role = _role(request.form.get("role", ""))
    if new_role is None:
        return _page(study, role, invite_error="Choose a role.", invited=invited, status=422)
    me = current_user()
    try:
        invitation, token = invitations.invite(
            invited["email"], study.id, new_role, now_utc(), inviter=me, actor=me.email
        )
    except invitations.InvitationError as problem:
        return _page(study, role, invite_error=str(problem), invited=invited, status=422)
    # Shown after a redirect: reloading the page must not make a new link (which replaces the
    # one already sent). Only this browser's session holds it, until the page shows it.
    session[_NEW_LINK] = {
        "study": study.id,
        "email": invitation.email,
        "role": new_role.value,
        "url": invitations.invitation_link(token),
        "expires_at": invitation.expires_at.isoformat(),
    }
    return redirect(url_for("team.team", slug=slug, _anchor="invitation-link"), 303)


@bp.post(f"/studies/<slug>/team/invitations/<int(max={MAX_ID}):invitation_id>/withdraw")
@form_post
@login_required
def withdraw_invitation(slug: str, invitation_id: int):
    study, _ = study_for(slug, StudyRole.owner)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.study_id != study.id:
        abort(404)
    invitations.withdraw(invitation, now_utc(), actor=current_user().email)
    flash(f"The invitation of {invitation.email} is withdrawn: its link no longer works.")
    return redirect(url_for("team.team", slug=slug), 303)


def _invitation_page(invitation, *, unusable=None, error=None, name="", status=200):
    study = db.session.get(Study, invitation.study_id) if invitation is not None else None
    response = make_response(
        render_template(
            "invitation.html",
            invitation=invitation,
            study=study,
            unusable=unusable,
            error=error,
            name=name,
            min_length=MIN_PASSWORD_LENGTH,
        ),
        unusable.status if unusable is not None else status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@public.get("/invitations/<token>")
def invitation(token: str):
    """The invited colleague's page: who invited them to what, and the account form."""
    found = invitations.find(token)
    unusable = invitations.problem(found, now_utc())
    return _invitation_page(found, unusable=unusable)


@public.post("/invitations/<token>")
def accept_invitation(token: str):
    """Make the account, put it on the study, mark the invitation used and sign in. The
    password is hashed before the write transaction (argon2 is slow; others would wait)."""
    require_csrf()
    now = now_utc()
    found = invitations.find(token)
    unusable = invitations.problem(found, now)
    if unusable is not None:
        return _invitation_page(found, unusable=unusable)
    name = request.form.get("name", "")
    password = request.form.get("password", "")
    try:
        name = invitations.check_name(name)
        if password != request.form.get("password_again", ""):
            raise AccountError("The two passwords differ: type the same one twice.")
        password_hash = hash_password(password)
    except AccountError as problem:
        message = str(problem)
        return _invitation_page(found, error=message[:1].upper() + message[1:], name=name,
                                status=422)  # fmt: skip
    db.session.rollback()  # only read until now
    begin_write()
    found = invitations.find(token, lock=True)
    unusable = invitations.problem(found, now)  # accepted a moment ago in another tab?
    if unusable is not None:
        return _invitation_page(found, unusable=unusable)
    try:
        user = invitations.accept(found, name, password_hash, now)
    except AccountError:
        error = (
            f"An account uses {found.email} already: sign in with it, and ask an owner of the "
            "study to add you to the team."
        )
        return _invitation_page(found, error=error, name=name, status=409)
    study = db.session.get(Study, found.study_id)
    session.clear()  # a fresh session, signed in as the new account: no fixation
    session["user_id"] = user.id
    flash(f"Welcome, {user.name}: you are {found.role.value} of this study.")
    return redirect(url_for("web.study", slug=study.slug), 303)
