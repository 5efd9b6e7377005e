"""Access control on every route: a study one is not on is a 404, exactly like a study that
does not exist; a viewer reads but gets 403 for every write; a coordinator writes."""

from __future__ import annotations

from tests.api.helpers import api_routes
from tests.helpers import DEMO_PROTOCOL, PHONE

#: A good body for each write, so a refusal is about the role and not about the request.
BODIES = {
    "versions": {"protocol": DEMO_PROTOCOL.read_text()},
    "participants": {"label": "P2", "phone": "+12025550102", "timezone": "America/Chicago"},
    "import": {"csv": "label,phone,timezone\nP3,+12025550103,America/Chicago\n"},
    "pause": {},
    "resume": {},
    "withdraw": {},
    "timezone": {"timezone": "Europe/Berlin"},
    "exports": {},
}


def _body(path: str) -> dict:
    return BODIES[path.rsplit("/", 1)[-1]]


def test_a_study_one_is_not_on_is_a_404_like_one_that_does_not_exist(
    app, create_study, participant, api_as
):
    other = create_study(DEMO_PROTOCOL.read_text().replace("id: ai-connection", "id: other"))
    api = api_as(other, "owner")
    assert [s["slug"] for s in api.get("/studies").get_json()] == ["other"]
    for method, path in api_routes(app):
        if path == "/api/v1/studies":
            continue
        json = _body(path) if method == "POST" else None
        hidden = api.request(method, path, json=json)
        missing = api.request(method, path.replace("ai-connection", "no-such-study"), json=json)
        assert hidden.status_code == missing.status_code == 404, (method, path)
        assert hidden.get_json()["code"] == 404
        assert hidden.get_json()["message"].replace("ai-connection", "x") == missing.get_json()[
            "message"
        ].replace("no-such-study", "x")


def test_a_viewer_reads_everything_and_writes_nothing(app, participant, api_as):
    api = api_as(participant.study, "viewer")
    for method, path in api_routes(app):
        if method == "GET":
            assert api.get(path).status_code == 200, path
        else:
            refused = api.post(path, json=_body(path))
            assert refused.status_code == 403, path
            assert "viewer" in refused.get_json()["message"]
    # Nothing was changed by the refused writes.
    labels = [p["label"] for p in api.get("/studies/ai-connection/participants").get_json()]
    assert labels == ["P1"]
    assert api.get("/studies/ai-connection/participants/P1").get_json()["status"] == "active"
    assert PHONE not in "".join(api.bodies)


def test_a_coordinator_runs_the_study_and_only_owners_publish(participant, api_as):
    api = api_as(participant.study, "coordinator")
    refused = api.post("/studies/ai-connection/versions", json=BODIES["versions"])
    assert refused.status_code == 403 and "needs an owner" in refused.get_json()["message"]
    assert api.post("/studies/ai-connection/participants/P1/pause", json={}).status_code == 200
    exported = api.post("/studies/ai-connection/exports")
    exported.close()  # as a server does once sent: the temporary zip goes
    assert exported.status_code == 200
