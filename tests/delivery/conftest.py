"""Fixtures of the dispatcher's tests (their dispatchers differ: each module builds its own)."""

from __future__ import annotations

import pytest

from tests.delivery.fakes import FakeProvider
from tests.delivery.helpers import PROTOCOL, START


@pytest.fixture
def participant(db, create_study, enroll_csv):
    """One participant of the `helpers.PROTOCOL` study, starting on `helpers.START`."""
    study = create_study(PROTOCOL)
    csv = f"label,phone,timezone,start_date\nP1,+12025550101,America/New_York,{START}\n"
    return enroll_csv(study, csv).created[0]


@pytest.fixture
def provider(clock):
    return FakeProvider(clock)
