"""One interface for every way a text reaches a participant: the simulator, Twilio, test fakes.

A transport sends one message and, after a crash or a timeout, says whether that message
really went out. Errors say whether trying again could help.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from eas.core.crypto import DataCipher


@dataclass(frozen=True)
class SealedNumber:
    """A participant's number as stored, with the cipher that opens it."""

    encrypted: bytes
    cipher: DataCipher

    def __repr__(self) -> str:
        return "SealedNumber(...)"  # never the number, in a log or a traceback

    def open(self) -> str:
        return self.cipher.decrypt(self.encrypted)


@dataclass(frozen=True)
class OutboundMessage:
    participant_id: int
    #: E.164, or sealed until a transport asks for `phone` (the phone simulator never does:
    #: its phones are participants).
    to: str | SealedNumber
    body: str
    idempotency_key: str
    #: How long the provider may keep trying (Twilio's ValidityPeriod): the prompt's window.
    validity_seconds: int

    @property
    def phone(self) -> str:
        """The number, decrypted (in the sending thread, for the call)."""
        return self.to if isinstance(self.to, str) else self.to.open()


@dataclass(frozen=True)
class SendReceipt:
    provider_sid: str
    sent_at: datetime


class SendError(Exception):
    """A send that failed. `retryable`: HTTP 5xx, timeouts, rate limits (Twilio 20429).
    `ambiguous`: the provider may have accepted it anyway (a timeout): look it up before
    trying again."""

    def __init__(
        self, reason: str, *, code: int | None = None, retryable: bool, ambiguous: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retryable = retryable
        self.ambiguous = ambiguous


class NotSent(Exception):
    """The dispatcher decided not to call the provider (the window closed, the prompt was
    cancelled, the claim would run out during the call, the dispatcher is stopping): nothing
    left eas. `hand_back`: the prompt goes back to be sent (by whichever dispatcher claims it)."""

    def __init__(self, reason: str, *, expired: bool = False, hand_back: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired
        self.hand_back = hand_back


#: Provider error codes that stop a prompt at once.
OPTED_OUT_CODES = frozenset({21610})  # the recipient replied STOP
BAD_NUMBER_CODES = frozenset({21211, 21214, 21408, 21612, 21614})


@dataclass(frozen=True)
class Attempt:
    """A send whose outcome is not known, as looking it up needs it."""

    message: OutboundMessage
    #: The call, if it was made, was made between these moments (eas's clock).
    started: datetime
    ended: datetime
    #: The provider's ids of other messages on record to the same number: never this one.
    known: frozenset[str] = frozenset()


class Lookup(enum.Enum):
    """What a provider knows of an attempt after a crash or a timeout."""

    sent = "sent"
    not_sent = "not_sent"
    unknown = "unknown"


class Transport(Protocol):
    name: str
    #: The longest a `send` call can take (its timeout): a send starts only while the claim
    #: has longer than this to run, so no other dispatcher takes a prompt over mid-call.
    call_seconds: float

    def send(self, message: OutboundMessage) -> SendReceipt:
        """Send one message or raise `SendError`. Must be safe to call from several threads."""

    def lookup(self, attempt: Attempt) -> tuple[Lookup, SendReceipt | None]:
        """After a crash or a timeout: did this attempt's message go out?"""
