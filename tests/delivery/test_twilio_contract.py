"""The real Twilio transport against Twilio's own OpenAPI contract, served by Stoplight Prism.

Prism answers 201 only to a request that satisfies tests/contracts/twilio/twilio_api_v2010.json
(path, HTTP Basic auth, form fields and their formats) and 422 otherwise. Each test also records
what the transport put on the wire, so a pass proves that those very parameters were accepted.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from twilio.base.exceptions import TwilioRestException

from eas.core.clock import VirtualClock
from eas.delivery.channels import Attempt, Lookup, OutboundMessage, SendError, SendReceipt
from eas.delivery.twilio import TwilioSettings, TwilioTransport
from tests.delivery.prism import TWILIO_SPEC, running_prism

pytestmark = [pytest.mark.twilio_contract, pytest.mark.slow]  # Prism: a process of its own

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "contract-test-token"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
FROM_NUMBER = "+14155550100"
TO_NUMBER = "+41791234567"
PUBLIC_BASE_URL = "https://eas.example.org"
NOW = datetime(2026, 3, 18, 14, 0, tzinfo=UTC)
MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory):
    with running_prism(tmp_path_factory.mktemp("prism")) as url:
        yield url


@pytest.fixture(scope="module")
def validity_range() -> tuple[int, int]:
    """The ValidityPeriod range the contract documents (its schema gives only `integer`)."""
    spec = json.loads(TWILIO_SPEC.read_text(encoding="utf-8"))
    form = spec["paths"][MESSAGES_PATH]["post"]["requestBody"]["content"]
    field = form["application/x-www-form-urlencoded"]["schema"]["properties"]["ValidityPeriod"]
    assert field["type"] == "integer"
    found = re.search(r"integers from `(\d+)` to `(\d+)`", field["description"])
    assert found, field["description"]
    return int(found[1]), int(found[2])


def make_transport(prism_url: str, **overrides) -> tuple[TwilioTransport, list[dict]]:
    """The real transport pointed at Prism, and a list filling with each request it sends."""
    values = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "messaging_service_sid": MESSAGING_SERVICE_SID,
        "public_base_url": PUBLIC_BASE_URL,
        "api_base_url": prism_url,
        "timeout_seconds": 10.0,
    } | overrides
    transport = TwilioTransport(TwilioSettings(**values), VirtualClock(NOW))
    http = transport.client.http_client
    sent: list[dict] = []
    forward = http.request

    def recording_request(method, url, *args, **kwargs):
        response = forward(method, url, *args, **kwargs)
        sent.append(
            {
                "method": method,
                "url": url,
                "data": dict(kwargs.get("data") or {}),
                "params": dict(kwargs.get("params") or {}),
                "status": response.status_code,
            }
        )
        return response

    http.request = recording_request
    return transport, sent


def message(validity_seconds: int = 1800, to: str = TO_NUMBER) -> OutboundMessage:
    return OutboundMessage(
        participant_id=1,
        to=to,
        body="How connected do you feel right now? Reply 1-7.",
        idempotency_key="prompt-1-attempt-1",
        validity_seconds=validity_seconds,
    )


def form(request: dict) -> dict[str, str]:
    """The form fields as they go on the wire (requests form-encodes every value as text)."""
    return {key: str(value) for key, value in request["data"].items()}


def test_prism_rejects_a_request_that_breaks_the_contract(prism_url):
    """Guards the guard: a Prism that accepted anything would make the other tests worthless."""
    transport, sent = make_transport(prism_url)
    transport.client.messages.create(to=TO_NUMBER, body="valid")
    with pytest.raises(TwilioRestException) as refused:
        transport.client.messages.create(to=TO_NUMBER, body="x", validity_period="soon")
    assert [request["status"] for request in sent] == [201, 422]
    assert refused.value.status == 422


def test_messaging_service_with_status_callback_and_validity_period(prism_url):
    transport, sent = make_transport(prism_url)

    receipt = transport.send(message(validity_seconds=1800))

    assert isinstance(receipt, SendReceipt)
    assert re.fullmatch(r"SM[0-9a-fA-F]{32}", receipt.provider_sid)
    assert receipt.sent_at == NOW
    [request] = sent
    assert request["method"] == "POST"
    # The SDK addresses api.twilio.com; the transport's client takes it to Prism (hence the 201).
    assert request["url"] == "https://api.twilio.com" + MESSAGES_PATH.format(AccountSid=ACCOUNT_SID)
    assert request["status"] == 201
    assert form(request) == {
        "To": TO_NUMBER,
        "Body": message().body,
        "MessagingServiceSid": MESSAGING_SERVICE_SID,
        "StatusCallback": f"{PUBLIC_BASE_URL}/sms/status?key=prompt-1-attempt-1",
        "ValidityPeriod": "1800",
    }


def test_from_number_without_status_callback(prism_url):
    transport, sent = make_transport(
        prism_url, messaging_service_sid=None, from_number=FROM_NUMBER, public_base_url=None
    )

    receipt = transport.send(message())

    assert re.fullmatch(r"SM[0-9a-fA-F]{32}", receipt.provider_sid)
    [request] = sent
    assert request["status"] == 201
    assert form(request) == {
        "To": TO_NUMBER,
        "Body": message().body,
        "From": FROM_NUMBER,
        "ValidityPeriod": "1800",
    }


def test_a_request_twilio_refuses_is_a_permanent_send_error(prism_url):
    transport, sent = make_transport(prism_url, account_sid="ACbad")

    with pytest.raises(SendError) as refused:
        transport.send(message())

    assert [request["status"] for request in sent] == [422]
    assert sent[0]["url"].endswith("/2010-04-01/Accounts/ACbad/Messages.json")
    error = refused.value
    assert error.retryable is False
    assert error.ambiguous is False
    assert error.code == 422  # Prism's error body has no Twilio code: the SDK falls back to status
    assert error.reason.startswith("Twilio 422:")
    assert len(error.reason) <= 180


@pytest.mark.parametrize(
    ("validity_seconds", "expected"),
    [(100_000, 36_000), (36_001, 36_000), (36_000, 36_000), (1, 1), (0, 1), (-5, 1)],
)
def test_validity_period_is_clamped_into_the_documented_range(
    prism_url, validity_range, validity_seconds, expected
):
    transport, sent = make_transport(prism_url)

    transport.send(message(validity_seconds=validity_seconds))

    [request] = sent
    assert request["status"] == 201
    assert form(request)["ValidityPeriod"] == str(expected)
    low, high = validity_range
    assert low <= int(form(request)["ValidityPeriod"]) <= high


def test_an_ambiguous_send_is_looked_up_in_the_list_of_messages_to_that_number(prism_url):
    """The lookup's request (GET, To, PageSize) is one the contract accepts, and its answer
    (Prism's example messages, none of them ours) is read as "not sent", not as an error."""
    transport, sent = make_transport(prism_url)

    state, receipt = transport.lookup(Attempt(message(), started=NOW, ended=NOW))

    [request] = sent
    assert request["method"] == "GET" and request["status"] == 200
    assert request["url"] == "https://api.twilio.com" + MESSAGES_PATH.format(AccountSid=ACCOUNT_SID)
    assert request["params"]["To"] == TO_NUMBER
    assert (state, receipt) == (Lookup.not_sent, None)


def test_a_lookup_twilio_refuses_says_nothing_is_known(prism_url):
    transport, sent = make_transport(prism_url, account_sid="ACbad")

    assert transport.lookup(Attempt(message(), started=NOW, ended=NOW)) == (Lookup.unknown, None)
    assert [request["status"] for request in sent] == [422]
