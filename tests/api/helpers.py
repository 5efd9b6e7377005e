"""An API client that sends a user's token, and the API's routes. The fixtures (`make_token`,
`api_as`, `api`) are in tests/api/conftest.py."""

from __future__ import annotations

import re


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
