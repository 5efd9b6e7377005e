"""Signed Twilio webhooks through the Flask test client: a participant's phone texting eas.
The fixtures (`twilio_config`, `phone`) are in tests/fixtures.py."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

from twilio.request_validator import RequestValidator

from tests.helpers import PHONE

__all__ = ["AUTH_TOKEN", "PHONE", "Phone", "sign"]

AUTH_TOKEN = "test-auth-token-0123456789abcdef"


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
