"""Signed Twilio webhooks through the Flask test client, and a participant with a prompt."""

from __future__ import annotations

import itertools
import uuid
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from eas.delivery.dispatcher import Dispatcher
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.delivery.fakes import FakeProvider

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PHONE = "+12025550101"
_counter = itertools.count()


@pytest.fixture
def twilio_config(app):
    saved = {key: app.config.get(key) for key in ("EAS_TWILIO_AUTH_TOKEN", "EAS_PUBLIC_BASE_URL")}
    app.config["EAS_TWILIO_AUTH_TOKEN"] = AUTH_TOKEN
    app.config["EAS_PUBLIC_BASE_URL"] = None
    yield app.config
    app.config.update(saved)


def sign(url: str, params: dict) -> str:
    return RequestValidator(AUTH_TOKEN).compute_signature(url, params)


class Phone:
    """A participant's phone texting eas through the signed webhook."""

    def __init__(self, client, number: str = PHONE) -> None:
        self.client = client
        self.number = number

    def text(self, body: str, sid: str | None = None, **extra) -> list[str]:
        params = {
            "MessageSid": sid or f"SM{uuid.uuid4().hex}",
            "AccountSid": "AC" + "0" * 32,
            "From": self.number,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
            **extra,
        }
        url = "http://localhost/sms/inbound"
        response = self.client.post(
            "/sms/inbound", data=params, headers={"X-Twilio-Signature": sign(url, params)}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "application/xml"
        root = ET.fromstring(response.get_data(as_text=True))
        return [element.text or "" for element in root.iter("Message")]


@pytest.fixture
def phone(client, twilio_config):
    return Phone(client)


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
