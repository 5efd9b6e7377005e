"""Tokens for the users of `make_user`, and API clients that send them (tests/api/helpers.py).
Texts from the participant's phone go through the signed webhook, as in the SMS tests (the
`phone` fixture of tests/fixtures.py)."""

from __future__ import annotations

import pytest

from eas.api.tokens import issue_token
from tests.api.helpers import ApiClient


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
