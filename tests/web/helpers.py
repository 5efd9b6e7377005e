"""Helpers for driving the dashboard's forms through the test client."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path: str = "/login") -> str:
    """The session's form token, as a page carries it."""
    return _TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def post(client, path: str, data: dict | None = None, **kwargs):
    """Submit a form as a browser would: with the session's token."""
    return client.post(path, data={"csrf_token": csrf(client), **(data or {})}, **kwargs)


def text(response) -> str:
    return response.get_data(as_text=True)
