"""The team page: everyone on a study sees who else is; owners add colleagues who have an
account, change roles and take people off; a study always keeps an owner."""

from __future__ import annotations

import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.users.models import StudyRole
from eas.users.operations import role_in
from tests.helpers import sign_in
from tests.web.helpers import post

TEAM = "/studies/ai-connection/team"


def _owner_and_colleague(participant, make_user):
    owner = make_user("owner@example.org", study=participant.study, role="owner")
    colleague = make_user("colleague@example.org")
    return owner, colleague


def test_an_owner_adds_a_colleague_who_then_sees_the_study(db, app, client, participant, make_user):
    _, colleague = _owner_and_colleague(participant, make_user)
    sign_in(client, "owner@example.org")
    added = post(client, TEAM, {"email": " Colleague@Example.org ", "role": "coordinator"})
    assert added.status_code == 303
    assert role_in(colleague, participant.study.id) is StudyRole.coordinator
    page = client.get(TEAM).get_data(as_text=True)
    assert "colleague@example.org is now coordinator of this study." in page
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "user.granted")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    assert event.actor == "owner@example.org" and event.details["email"] == colleague.email

    with app.test_client() as theirs:
        sign_in(theirs, "colleague@example.org")
        assert theirs.get("/studies/ai-connection").status_code == 200
        page = theirs.get(TEAM).get_data(as_text=True)
        assert "owner@example.org" in page and "Add a colleague" not in page


def test_adding_names_what_is_wrong(db, client, participant, make_user):
    _owner_and_colleague(participant, make_user)
    sign_in(client, "owner@example.org")
    unknown = post(client, TEAM, {"email": "nobody@example.org", "role": "viewer"})
    assert unknown.status_code == 422
    assert "No account uses the address &#39;nobody@example.org&#39;" in unknown.get_data(True)
    assert 'value="nobody@example.org"' in unknown.get_data(True)  # kept for correcting
    again = post(client, TEAM, {"email": "owner@example.org", "role": "viewer"})
    assert again.status_code == 422 and "on this study already" in again.get_data(True)
    no_role = post(client, TEAM, {"email": "colleague@example.org", "role": "boss"})
    assert no_role.status_code == 422 and "Choose a role." in no_role.get_data(True)


def test_roles_change_and_people_leave_but_a_study_keeps_an_owner(
    db, app, client, participant, make_user
):
    owner, colleague = _owner_and_colleague(participant, make_user)
    sign_in(client, "owner@example.org")
    only = post(client, f"{TEAM}/{owner.id}/role", {"role": "viewer"})
    assert only.status_code == 409 and "only owner" in only.get_data(True)
    assert post(client, f"{TEAM}/{owner.id}/remove").status_code == 409
    assert role_in(owner, participant.study.id) is StudyRole.owner

    post(client, TEAM, {"email": colleague.email, "role": "viewer"})
    assert post(client, f"{TEAM}/{colleague.id}/role", {"role": "owner"}).status_code == 303
    assert role_in(colleague, participant.study.id) is StudyRole.owner
    # now the first owner may step down, and leave
    assert post(client, f"{TEAM}/{owner.id}/role", {"role": "coordinator"}).status_code == 303
    assert client.get(TEAM).status_code == 200  # a coordinator still sees the team
    with app.test_client() as theirs:
        sign_in(theirs, colleague.email)
        assert post(theirs, f"{TEAM}/{owner.id}/remove", {"confirm": "yes"}).status_code == 303
    assert role_in(owner, participant.study.id) is None
    assert client.get("/studies/ai-connection").status_code == 404
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.study_id == participant.study.id)
    ).all()
    assert "user.revoked" in actions


def test_only_owners_change_the_team_and_only_of_their_study(
    db, client, participant, make_user, create_study
):
    make_user("coord@example.org", study=participant.study, role="coordinator")
    stranger = make_user("stranger@example.org")
    sign_in(client, "coord@example.org")
    assert "Add a colleague" not in client.get(TEAM).get_data(True)
    assert post(client, TEAM, {"email": stranger.email, "role": "owner"}).status_code == 404
    assert role_in(stranger, participant.study.id) is None


def test_someone_not_on_the_study_cannot_be_changed_through_it(db, client, participant, make_user):
    _owner_and_colleague(participant, make_user)
    outsider = make_user("outsider@example.org")
    sign_in(client, "owner@example.org")
    assert post(client, f"{TEAM}/{outsider.id}/role", {"role": "owner"}).status_code == 404
    assert post(client, f"{TEAM}/{outsider.id}/remove").status_code == 404
    assert post(client, f"{TEAM}/{2**31 - 1}/remove").status_code == 404
    assert post(client, f"{TEAM}/{2**40}/remove").status_code == 404


def test_the_cli_takes_people_off_a_study_and_keeps_an_owner(db, runner, participant, make_user):
    owner, colleague = _owner_and_colleague(participant, make_user)
    refused = runner.invoke(args=["users", "grant", owner.email, "ai-connection", "viewer"])
    assert refused.exit_code != 0 and "only owner" in refused.output
    assert (
        runner.invoke(args=["users", "grant", colleague.email, "ai-connection", "viewer"]).exit_code
        == 0
    )
    removed = runner.invoke(args=["users", "remove", colleague.email, "ai-connection"])
    assert removed.exit_code == 0 and "no longer on ai-connection" in removed.output
    assert role_in(colleague, participant.study.id) is None
