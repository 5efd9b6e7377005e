"""Signed Twilio webhooks through the Flask test client, and a participant with a prompt."""

from __future__ import annotations

import itertools
import uuid
import xml.etree.ElementTree as ET

import pytest
from twilio.request_validator import RequestValidator

from tests.fixtures import PHONE

AUTH_TOKEN = "test-auth-token-0123456789abcdef"

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
