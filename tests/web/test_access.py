"""Access control for every dashboard route: anonymous people are sent to sign in, people not
on a study get 404 (its existence does not leak), viewers cannot change anything, and no form
is accepted without the session's token."""

from __future__ import annotations

import pytest

from tests.helpers import sign_in
from tests.web.helpers import csrf

S = "/studies/ai-connection"
#: endpoint -> (method, path, whether a viewer may use it)
ROUTES = {
    "web.study": ("GET", S, True),
    "web.acknowledge_alert": ("POST", f"{S}/alerts/1/ack", False),
    "web.download_export": ("POST", f"{S}/export", False),
    "setup.protocol": ("GET", f"{S}/protocol", True),
    "setup.publish_version": ("POST", f"{S}/protocol", False),
    "setup.version": ("GET", f"{S}/protocol/versions/1", True),
    "setup.version_yaml": ("GET", f"{S}/protocol/versions/1.yaml", True),
    "setup.compare_versions": ("GET", f"{S}/protocol/compare?from=1&to=1", True),
    "people.participants": ("GET", f"{S}/participants", True),
    "people.enrol": ("POST", f"{S}/participants", False),
    "people.import_csv": ("POST", f"{S}/participants/import", False),
    "people.participant": ("GET", f"{S}/participants/P1", True),
    "people.change": ("POST", f"{S}/participants/P1/pause", False),
    "monitor.today": ("GET", f"{S}/today", True),
    "monitor.audit": ("GET", f"{S}/audit", True),
    "team.team": ("GET", f"{S}/team", True),
    "team.add_member": ("POST", f"{S}/team", False),
    "team.change_role": ("POST", f"{S}/team/1/role", False),
    "team.remove_member": ("POST", f"{S}/team/1/remove", False),
    "team.invite": ("POST", f"{S}/team/invitations", False),
    "team.withdraw_invitation": ("POST", f"{S}/team/invitations/1/withdraw", False),
}
#: Routes that are not about one study (who may use them: tests/web/test_setup_pages.py).
GENERAL = {
    "web.index": "/",
    "setup.new_study": "/studies/new",
    "setup.create_study": "/studies/new",
}


def test_every_dashboard_route_is_in_this_table(app):
    endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in {"web", "setup", "people", "monitor", "team"}
    }
    assert endpoints == set(ROUTES) | set(GENERAL)


def _call(client, method: str, path: str, token: str | None = None):
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": token} if token else {})


@pytest.mark.parametrize("endpoint", sorted(ROUTES) + sorted(GENERAL))
def test_anonymous_people_are_sent_to_sign_in(client, participant, endpoint):
    method, path, _ = ROUTES.get(endpoint) or (
        "POST" if "create" in endpoint else "GET",
        GENERAL[endpoint],
        True,
    )
    response = _call(client, method, path, csrf(client))
    assert response.status_code == 302 and "/login?next=" in response.location


@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_a_study_one_is_not_on_does_not_exist(
    client, participant, create_study, make_user, endpoint
):
    other = create_study(
        (participant.study.current_version.source_text).replace(
            "  id: ai-connection\n", "  id: other-study\n"
        )
    )
    make_user(study=other, role="owner")
    sign_in(client)
    method, path, _ = ROUTES[endpoint]
    assert _call(client, method, path, csrf(client, "/")).status_code == 404


@pytest.mark.parametrize(
    "endpoint", sorted(e for e, (_, _, viewer) in ROUTES.items() if not viewer)
)
def test_viewers_cannot_change_anything(client, participant, make_user, endpoint):
    make_user(study=participant.study, role="viewer")
    sign_in(client)
    method, path, _ = ROUTES[endpoint]
    assert _call(client, method, path, csrf(client, "/")).status_code == 404


@pytest.mark.parametrize("endpoint", sorted(e for e, (m, _, _) in ROUTES.items() if m == "POST"))
def test_no_form_is_taken_without_its_token(client, participant, make_user, endpoint):
    make_user(study=participant.study, role="owner")
    sign_in(client)
    method, path, _ = ROUTES[endpoint]
    assert _call(client, method, path).status_code == 400
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 400


@pytest.mark.parametrize("endpoint", sorted(e for e, (m, _, _) in ROUTES.items() if m == "GET"))
def test_viewers_see_every_page(client, participant, make_user, endpoint):
    make_user(study=participant.study, role="viewer")
    sign_in(client)
    _, path, _ = ROUTES[endpoint]
    assert client.get(path).status_code == 200


def test_session_cookies_are_http_only_and_same_site(app, client, make_user):
    make_user()
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_control_character_in_a_path_is_not_found(client, participant, make_user):
    make_user(study=participant.study)
    sign_in(client)
    assert client.get("/studies/ai-connection%00x").status_code == 404
    assert client.get("/studies/ai-connection/participants/P1%0A").status_code == 404
    assert client.get("/api/v1/studies/ai%00").get_json()["code"] == 404
