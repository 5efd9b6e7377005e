"""Invitations (issue 25): an owner invites a colleague who has no account yet; the link, shown
once, lets them choose their name and password, which makes the account, puts it on the study
and signs them in. Expired, used, withdrawn and unknown links say so (410, 404)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.users.invitations import INVITATION_LIFETIME, token_hash
from eas.users.models import Invitation, StudyRole, User
from eas.users.operations import role_in
from tests.helpers import sign_in
from tests.web.helpers import post, text

TEAM = "/studies/ai-connection/team"
INVITE = f"{TEAM}/invitations"
BASE = "https://eas.example.edu"
NEW_PASSWORD = "a long new password"
_LINK = re.compile(re.escape(BASE) + r"(/invitations/[A-Za-z0-9_-]+)")


@pytest.fixture
def owner(db, app, participant, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "EAS_PUBLIC_BASE_URL", BASE + "/")
    return make_user("owner@example.org", study=participant.study, role="owner")


def _invite(client, email="new@example.org", role="coordinator") -> str:
    """Invite as the signed-in owner; the path of the link shown (after a redirect: reloading
    the page shows the team, and does not make a new link replacing the one sent)."""
    made = post(client, INVITE, {"email": email, "role": role})
    assert made.status_code == 303, text(made)
    answer = client.get(made.headers["Location"])
    assert answer.headers["Cache-Control"] == "no-store"
    path = _LINK.search(text(answer)).group(1)
    again = client.get(made.headers["Location"])  # reloaded: the link is not shown again
    assert _LINK.search(text(again)) is None
    return path


def _accept(client, path, name="New Colleague", password=NEW_PASSWORD, again=None):
    data = {"name": name, "password": password, "password_again": again or password}
    return post(client, path, data)


def _actions(db) -> list[tuple[str, str]]:
    return db.session.execute(sa.select(AuditEvent.action, AuditEvent.actor)).all()


def test_an_invited_colleague_makes_their_account_and_is_on_the_study(
    db, app, client, owner, participant
):
    sign_in(client, owner.email)
    path = _invite(client, " New@Example.org ")
    token = path.rsplit("/", 1)[1]
    invitation = db.session.scalar(sa.select(Invitation))
    assert invitation.email == "new@example.org" and invitation.role is StudyRole.coordinator
    assert invitation.token_hash == token_hash(token) and token not in str(vars(invitation))
    assert invitation.expires_at == invitation.created_at + INVITATION_LIFETIME
    assert invitation.invited_by_user_id == owner.id
    page = text(client.get(TEAM))
    assert "new@example.org" in page and token not in page  # listed, the link shown once only
    assert ("user.invited", "owner@example.org") in _actions(db)
    audit = text(client.get("/studies/ai-connection/audit"))
    assert "user.invited" in audit and "new@example.org" in audit and token not in audit

    with app.test_client() as theirs:
        form = theirs.get(path)
        assert form.status_code == 200
        assert "AI conversations" in text(form) and "coordinator" in text(form)
        assert "new@example.org" in text(form)
        accepted = _accept(theirs, path)
        assert accepted.status_code == 303 and accepted.location.endswith("/studies/ai-connection")
        assert "Welcome, New Colleague" in text(theirs.get("/studies/ai-connection"))
        again = theirs.get(path)
        assert again.status_code == 410 and "accepted already" in text(again)

    user = db.session.scalar(sa.select(User).where(User.email == "new@example.org"))
    assert user.name == "New Colleague"
    assert role_in(user, participant.study.id) is StudyRole.coordinator
    db.session.refresh(invitation)
    assert invitation.accepted_at is not None and invitation.accepted_user_id == user.id
    actions = _actions(db)
    for action in ("user.created", "user.granted", "user.invitation_accepted"):
        assert (action, "new@example.org") in actions
    assert sign_in(app.test_client(), "new@example.org", NEW_PASSWORD).status_code == 302


def test_the_password_rules_are_those_of_every_account(db, app, client, owner):
    sign_in(client, owner.email)
    path = _invite(client)
    with app.test_client() as theirs:
        short = _accept(theirs, path, password="short")
        assert short.status_code == 422 and "at least 10 characters" in text(short)
        differ = _accept(theirs, path, again=NEW_PASSWORD + "!")
        assert differ.status_code == 422 and "differ" in text(differ)
        nameless = _accept(theirs, path, name="  ")
        assert nameless.status_code == 422 and "Enter your name" in text(nameless)
        assert 'value="New Colleague"' in text(differ)  # kept for correcting
    assert db.session.scalar(sa.select(User).where(User.email == "new@example.org")) is None
    assert db.session.scalar(sa.select(Invitation.accepted_at)) is None


def test_expired_withdrawn_replaced_and_unknown_links_say_so(db, app, clock, client, owner):
    sign_in(client, owner.email)
    first = _invite(client, "late@example.org")
    replaced = _invite(client, "twice@example.org")
    current = _invite(client, "twice@example.org")  # replaces the one before
    withdrawn = _invite(client, "withdrawn@example.org")
    invitation = db.session.scalar(
        sa.select(Invitation).where(Invitation.email == "withdrawn@example.org")
    )
    assert post(client, f"{INVITE}/{invitation.id}/withdraw").status_code == 303
    assert "withdrawn@example.org" not in text(client.get(TEAM)).split("Invitations not")[-1]
    theirs = app.test_client()
    for path in (replaced, withdrawn):
        gone = theirs.get(path)
        assert gone.status_code == 410 and "withdrawn or replaced" in text(gone)
        assert _accept(theirs, path).status_code == 410
    assert theirs.get(current).status_code == 200
    unknown = theirs.get("/invitations/not-a-token")
    assert unknown.status_code == 404 and "not known" in text(unknown)
    assert theirs.get("/invitations/" + "x" * 500).status_code == 404

    clock.advance(INVITATION_LIFETIME + timedelta(seconds=1))
    expired = theirs.get(first)
    assert expired.status_code == 410 and "expired on" in text(expired)
    assert _accept(theirs, first).status_code == 410
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1  # the owner
    assert ("user.invitation_withdrawn", "owner@example.org") in _actions(db)


def test_accepting_needs_the_form_token(db, app, client, owner):
    sign_in(client, owner.email)
    path = _invite(client)
    theirs = app.test_client()
    theirs.get(path)
    refused = theirs.post(path, data={"name": "X", "password": NEW_PASSWORD,
                                      "password_again": NEW_PASSWORD})  # fmt: skip
    assert refused.status_code == 400
    assert client.post(INVITE, data={"email": "a@example.org", "role": "viewer"}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 1


def test_only_owners_invite_and_only_people_without_an_account(
    db, app, client, owner, participant, make_user
):
    make_user("coord@example.org", study=participant.study, role="coordinator")
    make_user("elsewhere@example.org")
    with app.test_client() as coordinator:
        sign_in(coordinator, "coord@example.org")
        assert "Invite a colleague" not in text(coordinator.get(TEAM))
        assert (
            post(coordinator, INVITE, {"email": "x@example.org", "role": "owner"}).status_code
            == 404
        )
    sign_in(client, owner.email)
    member = post(client, INVITE, {"email": "coord@example.org", "role": "viewer"})
    assert member.status_code == 422 and "on this study already" in text(member)
    account = post(client, INVITE, {"email": "Elsewhere@example.org", "role": "viewer"})
    assert account.status_code == 422 and "has an account already" in text(account)
    for email, role, problem in (
        ("not an address", "viewer", "is not an e-mail address"),
        ("", "viewer", "Enter your colleague"),
        ("x@example.org", "boss", "Choose a role."),
    ):
        answer = post(client, INVITE, {"email": email, "role": role})
        assert answer.status_code == 422 and problem in text(answer), email
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
    # Adding an address without an account points at the invitation.
    unknown = post(client, TEAM, {"email": "nobody@example.org", "role": "viewer"})
    assert unknown.status_code == 422 and "Invite them instead" in text(unknown)


def test_a_link_stops_working_when_whoever_made_it_no_longer_owns_the_study(
    db, app, client, owner, participant, make_user
):
    """Else an owner taken off could come back through a link made to an address of theirs."""
    sign_in(client, owner.email)
    path = _invite(client, "alt@example.org", "owner")
    other = make_user("other@example.org", study=participant.study, role="owner")
    with app.test_client() as theirs:
        sign_in(theirs, other.email)
        assert post(theirs, f"{TEAM}/{owner.id}/remove", {"confirm": "yes"}).status_code == 303
    answer = _accept(app.test_client(), path)
    assert answer.status_code == 410 and "no longer manages" in text(answer)
    assert db.session.scalar(sa.select(User).where(User.email == "alt@example.org")) is None


def test_a_second_tab_and_an_account_made_meanwhile(db, app, client, owner, make_user):
    sign_in(client, owner.email)
    path = _invite(client, "tabs@example.org")
    first, second = app.test_client(), app.test_client()
    first.get(path)
    second.get(path)
    assert _accept(first, path).status_code == 303
    late = _accept(second, path)
    assert late.status_code == 410 and "accepted already" in text(late)

    path = _invite(client, "made@example.org")
    make_user("made@example.org")  # by an administrator, after the invitation
    clash = _accept(app.test_client(), path)
    assert clash.status_code == 409 and "sign in with it" in text(clash)


def test_accepting_signs_out_whoever_was_signed_in(db, app, client, owner, make_user):
    make_user("someone@example.org")
    sign_in(client, owner.email)
    path = _invite(client, "fresh@example.org", "viewer")
    with app.test_client() as browser:
        sign_in(browser, "someone@example.org")
        assert _accept(browser, path).status_code == 303
        page = text(browser.get(TEAM))  # a viewer of the study now, as the new account
        assert "New Colleague (you)" in page and page.count("(you)") == 1
        assert "Invite a colleague" not in page


def test_the_command_line_prints_a_link(db, runner, owner, make_user):
    made = runner.invoke(args=["users", "invite", "Cli@Example.org", "ai-connection", "viewer"])
    assert made.exit_code == 0, made.output
    path = _LINK.search(made.output).group(1)
    invitation = db.session.scalar(sa.select(Invitation))
    assert invitation.token_hash == token_hash(path.rsplit("/", 1)[1])
    assert invitation.role is StudyRole.viewer and invitation.invited_by_user_id is None
    assert ("user.invited", "cli") in _actions(db)
    nowhere = runner.invoke(args=["users", "invite", "a@example.org", "no-study", "viewer"])
    assert nowhere.exit_code != 0 and "no study no-study" in nowhere.output
    make_user("has@example.org")
    exists = runner.invoke(args=["users", "invite", "has@example.org", "ai-connection", "viewer"])
    assert exists.exit_code != 0 and "has an account already" in exists.output


@pytest.mark.parametrize("path", [INVITE, f"{INVITE}/1/withdraw"])
def test_the_owners_forms_are_guarded_as_every_team_change(
    db, app, participant, make_user, create_study, path
):
    """What tests/web/test_access.py checks of every dashboard route."""
    data = {"email": "x@example.org", "role": "viewer"}
    anonymous = app.test_client()
    sent_away = post(anonymous, path, data)
    assert sent_away.status_code == 302 and "/login?next=" in sent_away.location
    other = create_study(
        participant.study.current_version.source_text.replace(
            "  id: ai-connection\n", "  id: other-study\n"
        )
    )
    make_user("stranger@example.org", study=other, role="owner")
    make_user("viewer@example.org", study=participant.study, role="viewer")
    make_user("coord@example.org", study=participant.study, role="coordinator")
    for email in ("stranger@example.org", "viewer@example.org", "coord@example.org"):
        with app.test_client() as browser:
            sign_in(browser, email)
            assert post(browser, path, data).status_code == 404, email
    make_user("owner@example.org", study=participant.study, role="owner")
    with app.test_client() as browser:
        sign_in(browser, "owner@example.org")
        assert browser.post(path, data=data).status_code == 400
        assert browser.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_an_invitation_of_another_study_is_not_withdrawn_through_this_one(
    db, app, client, owner, participant, make_user, create_study
):
    other = create_study(
        participant.study.current_version.source_text.replace(
            "  id: ai-connection\n", "  id: other-study\n"
        )
    )
    make_user("theirs@example.org", study=other, role="owner")
    with app.test_client() as browser:
        sign_in(browser, "theirs@example.org")
        post(browser, "/studies/other-study/team/invitations", {"email": "a@example.org",
                                                                "role": "viewer"})  # fmt: skip
    invitation = db.session.scalar(sa.select(Invitation))
    sign_in(client, owner.email)
    assert post(client, f"{INVITE}/{invitation.id}/withdraw").status_code == 404
    assert post(client, f"{INVITE}/{2**40}/withdraw").status_code == 404
    db.session.refresh(invitation)
    assert invitation.revoked_at is None
