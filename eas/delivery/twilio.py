"""The Twilio transport: prompts and reminders through Twilio's Messages API, with the real SDK.

Messages go from a Messaging Service (preferred: it handles sender pools and opt-outs) or a From
number, with a StatusCallback to `/sms/status` when eas knows its public address, and a
ValidityPeriod equal to what is left of the prompt's window, so Twilio drops a message it could
only deliver after the prompt closed.

Errors map to the dispatcher's rules: 5xx, 429 and 20429 are retried with backoff; everything
Twilio refuses otherwise (21610 unsubscribed, 21211/21614 bad number, ...) stops the prompt. A
connection that could not be opened never reached Twilio and is retried; a timeout after the
request left may have been accepted, so the dispatcher treats it as ambiguous and, before
trying again, looks for it in Twilio's list of messages to that number (`lookup`): Twilio keeps
no idempotency key of ours.

Each message's StatusCallback carries its idempotency key (`/sms/status?key=...`), so a
delivery report finds its message even when it arrives before the send's answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from eas.core.clock import Clock
from eas.delivery.channels import Attempt, Lookup, OutboundMessage, SendError, SendReceipt

TWILIO_API = "https://api.twilio.com"
#: Twilio accepts a ValidityPeriod of 1 to 36,000 seconds.
_VALIDITY_RANGE = (1, 36_000)
_RETRYABLE_CODES = frozenset({20429})
#: How many of a number's latest messages a lookup reads (a participant gets a few a day).
_LOOKUP_PAGE = 50
#: Clocks differ: a message Twilio created this long before the attempt may still be it.
_CLOCK_SLACK = timedelta(minutes=2)


class _RebasedHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to another base URL (a contract mock such as Prism)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace(TWILIO_API, self.base_url, 1), *args, **kwargs)


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    messaging_service_sid: str | None = None
    from_number: str | None = None
    #: Where Twilio reaches eas (https://eas.example.org); without it no status callbacks.
    public_base_url: str | None = None
    #: Only for tests against a mock of Twilio's API.
    api_base_url: str | None = None
    timeout_seconds: float = 10.0

    @classmethod
    def from_config(cls, config) -> TwilioSettings:
        return cls(
            account_sid=config["EAS_TWILIO_ACCOUNT_SID"],
            auth_token=config["EAS_TWILIO_AUTH_TOKEN"],
            messaging_service_sid=config.get("EAS_TWILIO_MESSAGING_SERVICE_SID"),
            from_number=config.get("EAS_TWILIO_FROM"),
            public_base_url=config.get("EAS_PUBLIC_BASE_URL"),
            api_base_url=config.get("EAS_TWILIO_API_BASE_URL"),
            timeout_seconds=config["EAS_TWILIO_TIMEOUT_SECONDS"],
        )


#: Phone numbers in Twilio's error texts ("The 'To' number +1202... is not valid"): the reason is
#: logged, stored and exported, and must not carry them.
_NUMBER = re.compile(r"\+?\d[\d ().-]{5,}\d")


def classify(error: TwilioRestException | TwilioServiceException) -> SendError:
    """Twilio's refusal as the dispatcher's rule: retry (5xx, 429, 20429) or stop."""
    retryable = error.status >= 500 or error.status == 429 or error.code in _RETRYABLE_CODES
    text = error.msg if isinstance(error, TwilioRestException) else error.detail or error.title
    reason = _NUMBER.sub("[number]", f"Twilio {error.status}: {text}").strip()
    return SendError(reason[:180], code=error.code, retryable=retryable)


def _never_connected(error: requests.exceptions.ConnectionError) -> bool:
    """A refused or timed-out connection: the request never left, so Twilio cannot have it.
    (A connection dropped after the request went out is a ConnectionError too: ambiguous.)"""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, NewConnectionError)


class TwilioTransport:
    name = "twilio"

    def __init__(self, settings: TwilioSettings, clock: Clock) -> None:
        if not (settings.messaging_service_sid or settings.from_number):
            raise ValueError("Twilio needs a Messaging Service SID or a From number")
        self.settings = settings
        self.clock = clock
        #: The timeout bounds connecting and then each wait for the answer.
        self.call_seconds = 2 * settings.timeout_seconds
        http_client = (
            _RebasedHttpClient(settings.api_base_url, settings.timeout_seconds)
            if settings.api_base_url
            else TwilioHttpClient(timeout=settings.timeout_seconds)
        )
        self.client = Client(settings.account_sid, settings.auth_token, http_client=http_client)

    def status_callback(self, message: OutboundMessage) -> str | None:
        base = self.settings.public_base_url
        if not base:
            return None
        return f"{base.rstrip('/')}/sms/status?key={quote(message.idempotency_key, safe='')}"

    def request_parameters(self, message: OutboundMessage) -> dict:
        low, high = _VALIDITY_RANGE
        parameters = {
            "to": message.phone,
            "body": message.body,
            "validity_period": min(high, max(low, message.validity_seconds)),
        }
        if self.settings.messaging_service_sid:
            parameters["messaging_service_sid"] = self.settings.messaging_service_sid
        else:
            parameters["from_"] = self.settings.from_number
        if callback := self.status_callback(message):
            parameters["status_callback"] = callback
        return parameters

    def send(self, message: OutboundMessage) -> SendReceipt:
        try:
            created = self.client.messages.create(**self.request_parameters(message))
        except (TwilioRestException, TwilioServiceException) as error:
            raise classify(error) from None
        except requests.exceptions.ConnectionError as error:
            if not _never_connected(error):
                raise  # the dispatcher treats it as ambiguous: it may have gone out
            raise SendError(f"cannot reach Twilio: {error}"[:180], retryable=True) from None
        return SendReceipt(provider_sid=created.sid, sent_at=self.clock.now())

    def lookup(self, attempt: Attempt) -> tuple[Lookup, SendReceipt | None]:
        """Whether Twilio has the attempt's message: one with its text, to its number, created
        while the call could have been under way, and not another message of ours (not
        filtered by DateSent: a message still queued has none)."""
        try:
            # One page, one request: the latest messages to the number, newest first.
            page = self.client.messages.page(to=attempt.message.phone, page_size=_LOOKUP_PAGE)
            latest = list(page)
        except (TwilioException, requests.exceptions.RequestException):
            return Lookup.unknown, None  # the list could not be read: nothing is known
        earliest, latest_possible = attempt.started - _CLOCK_SLACK, attempt.ended + _CLOCK_SLACK
        for found in reversed(latest):  # the oldest first: the attempt's, if several match
            created = found.date_created
            in_time = created is not None and earliest <= created <= latest_possible
            ours = found.sid not in attempt.known and _same_text(
                attempt.message.body, found.body or ""
            )
            if in_time and ours:
                return Lookup.sent, SendReceipt(found.sid, created)
        return Lookup.not_sent, None


def _folded(text: str) -> str:
    """The text's ASCII letters and digits: what survives Twilio's smart encoding (which turns
    curly quotes, dashes and accented letters into GSM characters) unchanged."""
    decomposed = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(character for character in decomposed.lower() if character.isalnum())


def _same_text(ours: str, theirs: str) -> bool:
    """Twilio may append to a text (opt-out language) or re-encode it, never shorten it."""
    return theirs.startswith(ours) or _folded(theirs).startswith(_folded(ours))
