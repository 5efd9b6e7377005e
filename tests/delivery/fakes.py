"""A stateful fake SMS provider: records what it accepted, fails on request, answers lookups."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from eas.delivery.channels import Attempt, Lookup, OutboundMessage, SendError, SendReceipt


@dataclass(frozen=True)
class Accepted:
    message: OutboundMessage
    receipt: SendReceipt


class FakeProvider:
    """Thread-safe. `fail` decides per call: None to accept, or a SendError to raise.

    Twilio's magic numbers are the model: a number can be made to fail permanently.
    """

    name = "fake"
    call_seconds = 0.0

    def __init__(self, clock, fail: Callable[[OutboundMessage], SendError | None] | None = None):
        self.clock = clock
        self.fail = fail or (lambda message: None)
        self.accepted: list[Accepted] = []
        self.calls = 0
        self.lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendReceipt:
        with self.lock:
            self.calls += 1
            error = self.fail(message)
            if error is not None:
                raise error
            if any(a.message.idempotency_key == message.idempotency_key for a in self.accepted):
                raise SendError("duplicate idempotency key", retryable=False)
            receipt = SendReceipt(f"SM{uuid.uuid4().hex}", self.clock.now())
            self.accepted.append(Accepted(message, receipt))
            return receipt

    def lookup(self, attempt: Attempt) -> tuple[Lookup, SendReceipt | None]:
        for accepted in self.accepted:
            if accepted.message.idempotency_key == attempt.message.idempotency_key:
                return Lookup.sent, accepted.receipt
        return Lookup.not_sent, None

    def bodies_for(self, participant_id: int) -> list[str]:
        return [a.message.body for a in self.accepted if a.message.participant_id == participant_id]


def random_faults(share: float, seed: int = 7) -> Callable[[OutboundMessage], SendError | None]:
    """Fail about `share` of calls with a mix of 5xx, 20429, timeouts and, rarely, 21211."""
    rng = random.Random(seed)
    kinds = [
        SendError("HTTP 503 from provider", code=None, retryable=True),
        SendError("Too many requests", code=20429, retryable=True),
        SendError("read timeout", code=None, retryable=True),
        SendError("invalid To number", code=21211, retryable=False),
    ]

    def fail(message: OutboundMessage) -> SendError | None:
        if rng.random() >= share:
            return None
        return rng.choices(kinds, weights=[40, 30, 28, 2])[0]

    return fail
