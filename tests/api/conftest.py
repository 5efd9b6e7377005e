"""An API client that sends a user's token, and tokens for the users of `make_user`."""

from __future__ import annotations

import re

import pytest

from eas.api.tokens import issue_token

# Texts from the participant's phone go through the signed webhook, as in the SMS tests.
from tests.sms.conftest import phone, twilio_config  # noqa: F401


class ApiClient:
    def __init__(self, client, token: str | None) -> None:
        self.client = client
        self.token = token
        #: Every body this client received, to check that no phone number ever leaves.
        self.bodies: list[str] = []

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        token = token or self.token
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        if response.mimetype == "application/json":
            self.bodies.append(response.get_data(as_text=True))
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)


def api_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every API operation, for the demo study and its participant P1."""
    values = {"slug": "ai-connection", "label": "P1", "number": "1"}
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule.endswith("openapi.json"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda match: values[match[1]], rule.rule)
        routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


@pytest.fixture
def make_token(db, clock):
    """Factory: a new API token (the text) for a user."""

    def _make_token(user, name: str = "test") -> str:
        _, token = issue_token(user, name, clock.now(), actor="test")
        db.session.commit()
        return token

    return _make_token


@pytest.fixture
def api_as(client, make_user, make_token):
    """Factory: an API client acting as a new user with a role on a study."""

    def _api_as(study=None, role: str = "owner", email: str | None = None) -> ApiClient:
        user = make_user(email or f"{role}@example.org", study=study, role=role)
        return ApiClient(client, make_token(user))

    return _api_as


@pytest.fixture
def api(api_as, study):
    """The demo study's owner."""
    return api_as(study, "owner")
