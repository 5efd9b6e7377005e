"""The Twilio transport without a network: the SDK talks to a recording fake HTTP client.

Checks the exact form the transport sends and how Twilio's answers map onto the dispatcher's
rules: 5xx, 429 and 20429 are retried; other refusals stop the prompt with Twilio's code; a
connection that never opened is retried; a read timeout propagates (the dispatcher treats it
as ambiguous).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from eas.core.clock import VirtualClock
from eas.delivery.channels import (
    BAD_NUMBER_CODES,
    OPTED_OUT_CODES,
    Attempt,
    Lookup,
    OutboundMessage,
    SendError,
    SendReceipt,
)
from eas.delivery.twilio import TwilioSettings, TwilioTransport

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "unit-test-token"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
FROM_NUMBER = "+14155550100"
TO_NUMBER = "+41791234567"
MESSAGE_SID = "SM" + "00112233445566778899aabbccddeeff"
NOW = datetime(2026, 3, 18, 14, 0, tzinfo=UTC)
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


@dataclass(frozen=True)
class Sent:
    method: str
    uri: str
    data: dict
    auth: tuple | None
    params: dict | None = None


class FakeHttpClient(HttpClient):
    """Records every request and answers with the next canned response (or raises it)."""

    def __init__(self, *answers: Response | BaseException) -> None:
        super().__init__(logger=logging.getLogger(__name__), is_async=False)
        self.answers = list(answers)
        self.sent: list[Sent] = []

    def request(
        self,
        method,
        uri,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        self.sent.append(Sent(method, uri, dict(data or {}), auth, dict(params or {})))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def created(sid: str = MESSAGE_SID) -> Response:
    return Response(
        201,
        json.dumps(
            {
                "sid": sid,
                "account_sid": ACCOUNT_SID,
                "status": "queued",
                "to": TO_NUMBER,
                "body": "hello",
                "date_created": "Wed, 18 Mar 2026 14:00:00 +0000",
            }
        ),
    )


def twilio_error(status: int, code: int, message: str = "refused") -> Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Response(status, json.dumps(body))


def make_transport(
    *answers: Response | BaseException, **overrides
) -> tuple[TwilioTransport, FakeHttpClient]:
    values = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "messaging_service_sid": MESSAGING_SERVICE_SID,
        "public_base_url": "https://eas.example.org",
    } | overrides
    transport = TwilioTransport(TwilioSettings(**values), VirtualClock(NOW))
    fake = FakeHttpClient(*answers)
    transport.client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=fake)
    return transport, fake


def message(validity_seconds: int = 1800) -> OutboundMessage:
    return OutboundMessage(
        participant_id=7,
        to=TO_NUMBER,
        body="How connected do you feel right now? Reply 1-7.",
        idempotency_key="prompt-7-attempt-1",
        validity_seconds=validity_seconds,
    )


def form(sent: Sent) -> dict[str, str]:
    """The fields as they go on the wire (requests form-encodes every value as text)."""
    return {key: str(value) for key, value in sent.data.items()}


# --- what goes out -------------------------------------------------------------------------------


def test_messaging_service_send_posts_the_exact_form():
    transport, fake = make_transport(created())

    receipt = transport.send(message())

    assert receipt == SendReceipt(provider_sid=MESSAGE_SID, sent_at=NOW)
    [sent] = fake.sent
    assert sent.method == "POST"
    assert sent.uri == MESSAGES_URL
    assert sent.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert form(sent) == {
        "To": TO_NUMBER,
        "Body": message().body,
        "MessagingServiceSid": MESSAGING_SERVICE_SID,
        "StatusCallback": "https://eas.example.org/sms/status?key=prompt-7-attempt-1",
        "ValidityPeriod": "1800",
    }
    assert isinstance(sent.data["ValidityPeriod"], int)


def test_from_number_is_used_when_there_is_no_messaging_service():
    transport, fake = make_transport(created(), messaging_service_sid=None, from_number=FROM_NUMBER)

    transport.send(message())

    [sent] = fake.sent
    assert form(sent) == {
        "To": TO_NUMBER,
        "Body": message().body,
        "From": FROM_NUMBER,
        "StatusCallback": "https://eas.example.org/sms/status?key=prompt-7-attempt-1",
        "ValidityPeriod": "1800",
    }


def test_messaging_service_wins_over_a_from_number():
    transport, fake = make_transport(created(), from_number=FROM_NUMBER)

    transport.send(message())

    assert form(fake.sent[0])["MessagingServiceSid"] == MESSAGING_SERVICE_SID
    assert "From" not in fake.sent[0].data


@pytest.mark.parametrize("public_base_url", [None, ""])
def test_no_status_callback_without_a_public_base_url(public_base_url):
    transport, fake = make_transport(created(), public_base_url=public_base_url)

    transport.send(message())

    assert "StatusCallback" not in fake.sent[0].data
    assert set(fake.sent[0].data) == {"To", "Body", "MessagingServiceSid", "ValidityPeriod"}


def test_status_callback_joins_a_base_url_with_a_trailing_slash():
    transport, fake = make_transport(created(), public_base_url="https://eas.example.org/study/")

    transport.send(message())

    assert (
        form(fake.sent[0])["StatusCallback"]
        == "https://eas.example.org/study/sms/status?key=prompt-7-attempt-1"
    )


@pytest.mark.parametrize(
    ("validity_seconds", "expected"),
    [(0, 1), (-30, 1), (1, 1), (600, 600), (36_000, 36_000), (36_001, 36_000), (100_000, 36_000)],
)
def test_validity_period_is_clamped_to_twilio_range(validity_seconds, expected):
    transport, fake = make_transport(created())

    transport.send(message(validity_seconds=validity_seconds))

    assert form(fake.sent[0])["ValidityPeriod"] == str(expected)


def test_a_transport_needs_a_sender():
    with pytest.raises(ValueError, match="Messaging Service SID or a From number"):
        TwilioTransport(TwilioSettings(ACCOUNT_SID, AUTH_TOKEN), VirtualClock(NOW))


def test_settings_from_config():
    settings = TwilioSettings.from_config(
        {
            "EAS_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "EAS_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "EAS_TWILIO_FROM": FROM_NUMBER,
            "EAS_PUBLIC_BASE_URL": "https://eas.example.org",
            "EAS_TWILIO_TIMEOUT_SECONDS": 4.0,
        }
    )

    assert settings == TwilioSettings(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        from_number=FROM_NUMBER,
        public_base_url="https://eas.example.org",
        timeout_seconds=4.0,
    )


# --- how Twilio's answers map -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "code"),
    [
        pytest.param(twilio_error(429, 20429, "Too Many Requests"), 20429, id="429-20429"),
        pytest.param(Response(429, "Too Many Requests"), 429, id="429-no-json"),
        pytest.param(twilio_error(400, 20429, "Too Many Requests"), 20429, id="code-20429"),
        pytest.param(twilio_error(500, 20500, "Internal Server Error"), 20500, id="500"),
        pytest.param(Response(503, "<html>Service Unavailable</html>"), 503, id="503-html"),
        pytest.param(twilio_error(503, 20503, "Service Unavailable"), 20503, id="503"),
    ],
)
def test_rate_limits_and_server_errors_are_retried(response, code):
    transport, fake = make_transport(response)

    with pytest.raises(SendError) as failed:
        transport.send(message())

    error = failed.value
    assert error.retryable is True
    assert error.ambiguous is False
    assert error.code == code
    assert error.reason.startswith(f"Twilio {response.status_code}:")
    assert len(fake.sent) == 1  # the transport itself does not retry: the dispatcher does


@pytest.mark.parametrize(
    ("code", "message_text"),
    [
        (21610, "Attempt to send to unsubscribed recipient"),
        (21211, "Invalid 'To' Phone Number"),
        (21614, "'To' number is not a valid mobile number"),
    ],
)
def test_refusals_stop_the_prompt_with_twilio_code(code, message_text):
    assert code in OPTED_OUT_CODES | BAD_NUMBER_CODES
    transport, _ = make_transport(twilio_error(400, code, message_text))

    with pytest.raises(SendError) as failed:
        transport.send(message())

    error = failed.value
    assert error.retryable is False
    assert error.ambiguous is False
    assert error.code == code
    assert error.reason.startswith("Twilio 400:")
    assert message_text in error.reason


def test_bad_credentials_are_not_retried():
    transport, _ = make_transport(twilio_error(401, 20003, "Authenticate"))

    with pytest.raises(SendError) as failed:
        transport.send(message())

    assert (failed.value.retryable, failed.value.code) == (False, 20003)


def test_a_long_twilio_message_is_cut_to_180_characters():
    transport, _ = make_transport(twilio_error(400, 21211, "x" * 500))

    with pytest.raises(SendError) as failed:
        transport.send(message())

    assert len(failed.value.reason) == 180
    assert len(str(failed.value)) == 180


def test_an_rfc9457_refusal_also_stops_the_prompt():
    body = {
        "type": "https://www.twilio.com/docs/errors/21610",
        "title": "Attempt to send to unsubscribed recipient",
        "status": 400,
        "code": 21610,
        "detail": "The recipient replied STOP.",
    }
    transport, _ = make_transport(Response(400, json.dumps(body)))

    with pytest.raises(SendError) as failed:
        transport.send(message())

    assert (failed.value.retryable, failed.value.code) == (False, 21610)


def test_a_connection_that_never_opened_is_retried_and_not_ambiguous():
    transport, fake = make_transport(requests.exceptions.ConnectTimeout("connect timed out"))

    with pytest.raises(SendError) as failed:
        transport.send(message())

    error = failed.value
    assert error.retryable is True
    assert error.ambiguous is False
    assert error.code is None
    assert "cannot reach Twilio" in error.reason
    assert len(fake.sent) == 1


def test_a_refused_connection_is_retried_but_a_dropped_one_is_ambiguous():
    from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

    refused = requests.exceptions.ConnectionError(
        MaxRetryError(None, "/", NewConnectionError(None, "Connection refused"))
    )
    transport, _ = make_transport(refused)
    with pytest.raises(SendError) as failed:
        transport.send(message())
    assert (failed.value.retryable, failed.value.ambiguous) == (True, False)

    dropped = requests.exceptions.ConnectionError(ProtocolError("Connection aborted."))
    transport, _ = make_transport(dropped)
    with pytest.raises(requests.exceptions.ConnectionError):
        transport.send(message())


def test_a_read_timeout_propagates_for_the_dispatcher_to_treat_as_ambiguous():
    timeout = requests.exceptions.ReadTimeout("read timed out")
    transport, _ = make_transport(timeout)

    with pytest.raises(requests.exceptions.ReadTimeout) as raised:
        transport.send(message())

    assert raised.value is timeout
    assert not isinstance(raised.value, SendError)


def listed(*messages: tuple[str, str, str]) -> Response:
    """Twilio's answer to a list of messages: (sid, body, date created) each, newest first."""
    return Response(
        200,
        json.dumps(
            {
                "messages": [
                    {"sid": sid, "to": TO_NUMBER, "body": body, "date_created": created}
                    for sid, body, created in messages
                ],
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "uri": "/2010-04-01/Accounts/x/Messages.json",
            }
        ),
    )


ATTEMPT = datetime(2026, 3, 18, 14, 0, tzinfo=UTC)
KNOWN_SID = "SM" + "4" * 32
AFTER, LONG_BEFORE = "Wed, 18 Mar 2026 14:00:03 +0000", "Wed, 18 Mar 2026 12:00:00 +0000"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (listed((MESSAGE_SID, message().body, AFTER)), Lookup.sent),
        # Opt-out language a Messaging Service appends, and smart encoding's GSM characters.
        (listed((MESSAGE_SID, message().body + " Reply STOP to opt out.", AFTER)), Lookup.sent),
        (
            listed((MESSAGE_SID, "How connected do you feel right now? Reply 1\u20137.", AFTER)),
            Lookup.sent,
        ),
        # The same text sent for an earlier prompt is not this attempt, nor one on record.
        (listed((MESSAGE_SID, message().body, LONG_BEFORE)), Lookup.not_sent),
        (listed((KNOWN_SID, message().body, AFTER)), Lookup.not_sent),
        (
            listed((KNOWN_SID, message().body, AFTER), (MESSAGE_SID, message().body, AFTER)),
            Lookup.sent,
        ),
        (listed(("SM" + "9" * 32, "Reminder: your check-in is open", AFTER)), Lookup.not_sent),
        (listed(), Lookup.not_sent),
        (twilio_error(500, 20500, "Internal error"), Lookup.unknown),
        (requests.exceptions.ReadTimeout("read timed out"), Lookup.unknown),
    ],
)
def test_lookup_finds_the_message_in_twilios_list_to_that_number(answer, expected):
    transport, fake = make_transport(answer)

    state, receipt = transport.lookup(
        Attempt(message(), started=ATTEMPT, ended=ATTEMPT, known=frozenset({KNOWN_SID}))
    )

    assert state is expected
    if expected is Lookup.sent:
        assert receipt.provider_sid == MESSAGE_SID
    [asked] = fake.sent
    assert asked.method == "GET" and asked.uri == MESSAGES_URL
    assert asked.params["To"] == TO_NUMBER


def test_a_phone_number_in_twilios_error_text_is_not_kept():
    transport, _ = make_transport(
        twilio_error(400, 21211, "The 'To' number +1 (202) 555-0101 is not a valid phone number.")
    )
    with pytest.raises(SendError) as failed:
        transport.send(message())
    assert "555" not in failed.value.reason
    assert "The 'To' number [number] is not a valid phone number." in failed.value.reason
