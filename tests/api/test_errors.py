"""Errors under /api/v1 are JSON, whatever raised them; the web pages keep their own."""

from __future__ import annotations

import sqlalchemy as sa

from eas.api.models import ApiToken
from eas.api.tokens import issue_token
from eas.users.models import User


def test_unknown_urls_and_methods_are_json(api):
    missing = api.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["status"] == "Not Found"
    wrong = api.request("DELETE", "/studies")
    assert wrong.status_code == 405 and wrong.get_json()["code"] == 405
    assert "GET" in wrong.headers["Allow"]


def test_names_with_control_characters_are_not_found(participant, api):
    # PostgreSQL refuses a NUL in a query: it must not get that far.
    assert api.get("/studies/ai%00connection").status_code == 404
    assert api.get("/studies/ai-connection/participants/P%001").status_code == 404
    assert api.post("/studies/ai-connection/participants/P%001/pause", json={}).status_code == 404
    refused = api.post(
        "/studies/ai-connection/participants/import",
        json={"csv": "label,phone,timezone\nP\x002,+13125550102,UTC\n"},
    )
    assert refused.status_code == 422 and "csv" in refused.get_json()["errors"]["json"]


def test_web_pages_keep_html_errors(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_a_crash_is_a_json_500_and_leaves_nothing(db, app, clock, monkeypatch, api):
    def crash(*args, **kwargs):
        user = db.session.scalar(sa.select(User))
        issue_token(user, "left behind?", clock.now(), actor="test")
        raise RuntimeError("boom: a detail for the log only")

    monkeypatch.setitem(app.view_functions, "Studies.list_studies", crash)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    crashed = api.get("/studies")
    assert crashed.status_code == 500
    body = crashed.get_json()
    assert body["code"] == 500 and body["status"] == "Internal Server Error"
    assert "boom" not in crashed.get_data(as_text=True)
    assert db.session.scalars(sa.select(ApiToken.name)).all() == ["test"]


def test_the_openapi_document_is_served(client):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    spec = document.get_json()
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "eas"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    assert "/api/v1/studies/{slug}/participants/{label}/withdraw" in spec["paths"]
    assert "phone" not in spec["components"]["schemas"]["Participant"]["properties"]
    assert spec["components"]["schemas"]["Enrol"]["properties"]["phone"]["writeOnly"] is True
