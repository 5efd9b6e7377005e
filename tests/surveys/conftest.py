"""A participant with the evening diary sent as a web link, and a client that answers it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eas.scheduling.models import PlannedPrompt, PromptStatus

#: 21:30 in New York on study day 1 (EDT): the evening diary is due.
DIARY_DUE = datetime(2026, 3, 20, 1, 30, tzinfo=UTC)


@pytest.fixture
def diary(db, clock, participant, dispatcher, provider):
    """The diary prompt, sent; returns (prompt, the path of its link)."""
    clock.set(DIARY_DUE + timedelta(seconds=1))
    dispatcher.tick()
    db.session.expire_all()
    prompt = db.session.scalar(
        sa.select(PlannedPrompt).where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.schedule_id == "diary",
            PlannedPrompt.status == PromptStatus.sent,
        )
    )
    body = next(b for b in provider.bodies_for(participant.id) if b.startswith("Evening diary"))
    path = re.search(r"https?://[^/]+(/p/\S+)", body).group(1)
    return prompt, path


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
