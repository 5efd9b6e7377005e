"""Tokens: every route needs one; revoked, unknown and disabled users' tokens are refused; the
session cookie of the web pages opens nothing; only a hash is stored; the CLI makes, lists
and revokes them, audited."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import sqlalchemy as sa

from eas.api.models import ApiToken
from eas.api.tokens import issue_token, revoke_tokens
from eas.audit.models import AuditEvent
from tests.api.helpers import ApiClient, api_routes
from tests.helpers import sign_in


def test_every_route_needs_a_valid_token(app, client, participant, make_user, make_token):
    token = make_token(make_user(study=participant.study, role="owner"))
    routes = api_routes(app)
    assert len(routes) >= 15
    for header in (None, f"Basic {token}", "Bearer", "Bearer eas_not-a-token", token):
        for method, path in routes:
            headers = {"Authorization": header} if header else {}
            response = client.open(path, method=method, headers=headers, json={})
            assert response.status_code == 401, (header, method, path)
            body = response.get_json()
            assert body["code"] == 401 and body["status"] == "Unauthorized", path
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_or_a_disabled_user_is_refused(db, client, clock, study, make_user):
    user = make_user(study=study, role="owner")
    api = ApiClient(client, None)
    _, first = issue_token(user, "laptop", clock.now(), actor="test")
    _, second = issue_token(user, "server", clock.now(), actor="test")
    db.session.commit()
    assert api.get("/studies", token=first).status_code == 200
    assert revoke_tokens(user, clock.now(), actor="test", name="laptop") == 1
    db.session.commit()
    refused = api.get("/studies", token=first)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["message"]
    assert api.get("/studies", token=second).status_code == 200
    user.is_active = False
    db.session.commit()
    assert api.get("/studies", token=second).status_code == 401


def test_the_web_session_cookie_is_not_accepted(client, study, make_user):
    make_user(study=study, role="owner")
    assert sign_in(client).status_code == 302
    assert client.get("/").status_code == 200  # signed in on the web pages
    assert client.get("/api/v1/studies").status_code == 401
    assert client.get("/api/v1/studies/ai-connection").status_code == 401


def test_only_the_hash_is_stored_and_last_use_is_recorded(db, clock, api):
    row = db.session.scalar(sa.select(ApiToken))
    assert row.token_hash == hashlib.sha256(api.token.encode()).hexdigest()
    assert api.token.startswith("eas_") and len(api.token) > 40
    assert row.last_used_at is None
    clock.advance(timedelta(minutes=5))
    assert api.get("/studies").status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, row.id).last_used_at == clock.now()


def test_tokens_from_the_command_line(db, runner, client, study, make_user):
    make_user("analyst@example.org", study=study, role="viewer")
    made = runner.invoke(args=["users", "token", "Analyst@example.org", "--name", "laptop"])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    api = ApiClient(client, token)
    assert [s["slug"] for s in api.get("/studies").get_json()] == ["ai-connection"]

    listed = runner.invoke(args=["users", "tokens", "analyst@example.org"])
    assert "laptop" in listed.output and "live" in listed.output and token not in listed.output

    revoked = runner.invoke(args=["users", "revoke-token", "analyst@example.org"])
    assert revoked.exit_code == 0 and "revoked 1" in revoked.output
    assert api.get("/studies").status_code == 401
    again = runner.invoke(args=["users", "revoke-token", "analyst@example.org"])
    assert again.exit_code == 1 and "no live API token" in again.output
    unnamed = runner.invoke(args=["users", "token", "analyst@example.org", "--name", " "])
    assert unnamed.exit_code == 1
    nobody = runner.invoke(args=["users", "token", "nobody@example.org", "--name", "x"])
    assert nobody.exit_code == 1 and "no user" in nobody.output

    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.startswith("api_token."))
    ).all()
    assert actions == ["api_token.created", "api_token.revoked"]
