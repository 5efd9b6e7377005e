"""Answering a web prompt through the Flask test client. The `diary` fixture (the evening
diary, sent as a web link) is in tests/fixtures.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

#: 21:30 in New York on study day 1 (EDT): the evening diary is due.
DIARY_DUE = datetime(2026, 3, 20, 1, 30, tzinfo=UTC)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def page_item_of(html: str) -> str:
    return re.search(r'name="page_item" value="([^"]*)"', html).group(1)


class Answerer:
    def __init__(self, client, path: str) -> None:
        self.client = client
        self.path = path

    def page(self):
        return self.client.get(self.path)

    def submit(self, answers: dict, *, follow: bool = False):
        html = self.page().get_data(as_text=True)
        data = {"csrf_token": csrf_of(html), "page_item": page_item_of(html), **answers}
        return self.client.post(self.path, data=data, follow_redirects=follow)
