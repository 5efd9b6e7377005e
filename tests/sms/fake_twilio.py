"""A stateful fake of Twilio, for whole conversations end to end.

eas talks to it through the real `TwilioTransport` and the real SDK (the fake is the SDK's HTTP
client); it keeps every message it accepted, refuses Twilio's magic numbers the way Twilio
does, and plays the phone network back at eas: signed status callbacks and signed replies
posted to the app's webhooks, the TwiML answers of which it delivers to the phone in turn.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from eas.delivery.twilio import TwilioSettings, TwilioTransport

ACCOUNT_SID = "AC" + "5" * 32
SERVICE_SID = "MG" + "6" * 32
PUBLIC_BASE = "https://ema.example.org"
#: Twilio's test-credential magic numbers, as the model of permanent refusals.
MAGIC_FAILURES = {
    "+15005550001": (21211, "The 'To' number is not a valid phone number."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}


@dataclass
class TwilioMessage:
    sid: str
    to: str
    body: str
    form: dict
    status: str = "queued"


@dataclass
class FakeTwilio(HttpClient):
    auth_token: str
    #: Numbers whose sends fail with a 503 this many more times.
    outages: dict[str, int] = field(default_factory=dict)
    messages: list[TwilioMessage] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(logger=logging.getLogger(__name__), is_async=False)
        self.lock = threading.Lock()

    # the REST API ------------------------------------------------------------------------

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kwargs):
        assert method == "POST" and uri.endswith(f"/Accounts/{ACCOUNT_SID}/Messages.json"), uri
        assert auth == (ACCOUNT_SID, self.auth_token)
        form = dict(data or {})
        to = form["To"]
        with self.lock:
            if self.outages.get(to):
                self.outages[to] -= 1
                return _error(503, 20500, "Service unavailable")
            if to in MAGIC_FAILURES:
                return _error(400, *MAGIC_FAILURES[to])
            message = TwilioMessage(f"SM{uuid.uuid4().hex}", to, form["Body"], form)
            self.messages.append(message)
        payload = {"sid": message.sid, "status": "queued", "to": to, "body": message.body}
        return Response(201, json.dumps(payload))

    def transport(self, clock) -> TwilioTransport:
        settings = TwilioSettings(
            account_sid=ACCOUNT_SID,
            auth_token=self.auth_token,
            messaging_service_sid=SERVICE_SID,
            public_base_url=PUBLIC_BASE,
        )
        transport = TwilioTransport(settings, clock)
        transport.client.http_client = self
        return transport

    # the phone network, posting back to eas ----------------------------------------------

    def _post(self, client, path: str, params: dict):
        signature = RequestValidator(self.auth_token).compute_signature(PUBLIC_BASE + path, params)
        return client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    def report(self, client, message: TwilioMessage, status: str, error_code: int | None = None):
        params = {
            "MessageSid": message.sid,
            "MessageStatus": status,
            "AccountSid": ACCOUNT_SID,
            "MessagingServiceSid": SERVICE_SID,
            "To": message.to,
        }
        if error_code:
            params["ErrorCode"] = str(error_code)
        response = self._post(client, "/sms/status", params)
        assert response.status_code == 204
        message.status = status

    def text_from(self, client, phone: str, body: str) -> list[str]:
        """A participant's text reaches eas; eas's TwiML answer is delivered to the phone."""
        params = {
            "MessageSid": f"SM{uuid.uuid4().hex}",
            "AccountSid": ACCOUNT_SID,
            "MessagingServiceSid": SERVICE_SID,
            "From": phone,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
        }
        response = self._post(client, "/sms/inbound", params)
        assert response.status_code == 200, response.status_code
        replies = [m.text or "" for m in ET.fromstring(response.data).iter("Message")]
        with self.lock:
            for text in replies:
                self.messages.append(TwilioMessage(f"SM{uuid.uuid4().hex}", phone, text, {}))
        return replies

    def inbox(self, phone: str) -> list[str]:
        return [message.body for message in self.messages if message.to == phone]


def _error(status: int, code: int, text: str) -> Response:
    body = {
        "code": code,
        "message": text,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    return Response(status, json.dumps({**body, "status": status}))
