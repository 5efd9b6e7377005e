"""The phone simulator: a transport whose "phones" are rows in the database.

It behaves like an outside provider: it records each message in its own transaction (so it
knows what was sent even when the dispatcher crashes), refuses a second message with the same
idempotency key, takes a configurable time per call, and answers reconciliation lookups.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from eas.core.clock import Clock
from eas.delivery.channels import Attempt, Lookup, OutboundMessage, SendError, SendReceipt
from eas.delivery.models import SimulatedMessage

_TABLE = SimulatedMessage.__table__
#: Built once: the simulated study sends thousands.
_INSERT = _TABLE.insert()


@contextmanager
def _transaction(bind: Engine | Connection) -> Iterator[Connection]:
    """A transaction of its own: on a connection of the engine's, or on the connection given
    (a simulation's only one: the dispatcher commits before it sends, and a transaction open
    on it meanwhile makes this fail rather than write in it)."""
    if isinstance(bind, Connection):
        with bind.begin():
            yield bind
    else:
        with bind.begin() as connection:
            yield connection


@contextmanager
def _reading(bind: Engine | Connection) -> Iterator[Connection]:
    """Where to read what was sent: in the transaction open on the connection given, if any
    (recovery asks while it has one: on one connection, it sees all that was committed)."""
    if isinstance(bind, Connection) and bind.in_transaction():
        yield bind
    else:
        with _transaction(bind) as connection:
            yield connection


class SimulatorTransport:
    name = "simulator"

    def __init__(self, bind: Engine | Connection, clock: Clock, latency_ms: int = 0) -> None:
        self.bind = bind
        self.clock = clock
        self.latency = latency_ms / 1000
        self.call_seconds = self.latency

    def send(self, message: OutboundMessage) -> SendReceipt:
        if self.latency:
            time.sleep(self.latency)  # the provider's own response time
        receipt = SendReceipt(provider_sid=f"SM{secrets.token_hex(16)}", sent_at=self.clock.now())
        try:
            with _transaction(self.bind) as connection:
                connection.execute(
                    _INSERT,
                    {
                        "idempotency_key": message.idempotency_key,
                        "provider_sid": receipt.provider_sid,
                        "participant_id": message.participant_id,
                        "body": message.body,
                        "received_at": receipt.sent_at,
                    },
                )
        except sa.exc.IntegrityError:
            raise SendError(
                f"duplicate idempotency key {message.idempotency_key}", retryable=False
            ) from None
        return receipt

    def lookup(self, attempt: Attempt) -> tuple[Lookup, SendReceipt | None]:
        with _reading(self.bind) as connection:
            row = connection.execute(
                sa.select(_TABLE.c.provider_sid, _TABLE.c.received_at).where(
                    _TABLE.c.idempotency_key == attempt.message.idempotency_key
                )
            ).first()
        if row is None:
            return Lookup.not_sent, None
        return Lookup.sent, SendReceipt(provider_sid=row.provider_sid, sent_at=row.received_at)
