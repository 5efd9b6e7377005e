"""Fixtures shared across packages: a demo-study participant and a dispatcher that sends their
prompts to a stateful fake provider (registered by the root conftest)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.delivery.dispatcher import Dispatcher
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.delivery.fakes import FakeProvider

PHONE = "+12025550101"


@pytest.fixture
def study(create_study):
    return create_study()


@pytest.fixture
def participant(db, study, enroll_csv):
    csv = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"
    return enroll_csv(study, csv).created[0]


@pytest.fixture
def provider(clock):
    return FakeProvider(clock)


@pytest.fixture
def dispatcher(clock, provider):
    dispatcher = Dispatcher(provider, name="sms-test", clock=clock, workers=2)
    yield dispatcher
    dispatcher.close()


@pytest.fixture
def send_next(db, clock, participant, dispatcher):
    """Move the clock to the participant's next SMS prompt and let the dispatcher send it."""

    def _send_next(schedule: str = "beeps") -> PlannedPrompt:
        prompt = db.session.scalar(
            sa.select(PlannedPrompt)
            .where(
                PlannedPrompt.participant_id == participant.id,
                PlannedPrompt.schedule_id == schedule,
                PlannedPrompt.status == PromptStatus.scheduled,
                PlannedPrompt.due_at > clock.now(),
            )
            .order_by(PlannedPrompt.due_at)
            .limit(1)
        )
        clock.set(prompt.due_at + timedelta(seconds=1))
        dispatcher.tick()  # earlier web prompts (the baseline) go out too
        db.session.expire_all()
        sent = db.session.get(PlannedPrompt, prompt.id)
        assert sent.status is PromptStatus.sent
        return sent

    return _send_next


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(db, clock):
    """Factory: a coordinator account, optionally on a study with a role."""
    from eas.users.models import StudyRole
    from eas.users.operations import create_user, grant

    def _make_user(email="coord@example.org", study=None, role="coordinator", admin=False):
        user = create_user(email, "Coordinator", PASSWORD, clock.now(), admin=admin)
        if study is not None:
            grant(user, study.id, StudyRole(role), clock.now(), actor="test")
        db.session.commit()
        return user

    return _make_user


def sign_in(client, email="coord@example.org", password=PASSWORD):
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password})
