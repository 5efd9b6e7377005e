"""The phone simulator's transport on an engine and on the one connection a simulation has."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from eas.core.clock import VirtualClock
from eas.delivery.channels import Attempt, Lookup, OutboundMessage, SendError
from eas.delivery.models import SimulatedMessage
from eas.delivery.simulator import SimulatorTransport

T0 = datetime(2026, 3, 2, 14, tzinfo=UTC)


@pytest.fixture
def engine():
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    # The table alone: the participants it refers to are not what is tested here.
    sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA foreign_keys=OFF"))
    with engine.begin() as connection:
        SimulatedMessage.__table__.create(connection)
    yield engine
    engine.dispose()


def _message(key: str) -> OutboundMessage:
    return OutboundMessage(
        participant_id=7, to="+15550100001", body="Check-in time!", idempotency_key=key,
        validity_seconds=3600,
    )  # fmt: skip


def _attempt(key: str) -> Attempt:
    return Attempt(_message(key), started=T0, ended=T0)


def _stored(engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(SimulatedMessage.idempotency_key, SimulatedMessage.body)
        ).all()
    return [tuple(row) for row in rows]


@pytest.mark.parametrize("on_connection", [False, True], ids=["engine", "connection"])
def test_a_send_is_recorded_once_and_looked_up(engine, on_connection):
    with engine.connect() as connection:
        transport = SimulatorTransport(connection if on_connection else engine, VirtualClock(T0))
        receipt = transport.send(_message("prompt-1-attempt-1"))
        with pytest.raises(SendError) as refused:
            transport.send(_message("prompt-1-attempt-1"))
        assert not refused.value.retryable
        assert not connection.in_transaction()  # the transport's own transaction is over
        assert transport.lookup(_attempt("prompt-1-attempt-1")) == (Lookup.sent, receipt)
        assert transport.lookup(_attempt("prompt-2-attempt-1")) == (Lookup.not_sent, None)
        assert not connection.in_transaction()
    assert _stored(engine) == [("prompt-1-attempt-1", "Check-in time!")]


def test_on_a_connection_it_never_writes_inside_another_transaction(engine):
    with engine.connect() as connection:
        transport = SimulatorTransport(connection, VirtualClock(T0))
        with connection.begin(), pytest.raises(sa.exc.InvalidRequestError):
            transport.send(_message("prompt-1-attempt-1"))
    assert _stored(engine) == []


def test_on_a_connection_what_was_sent_is_looked_up_in_the_transaction_open_on_it(engine):
    """Recovery asks about an earlier attempt while its own transaction is open."""
    with engine.connect() as connection:
        transport = SimulatorTransport(connection, VirtualClock(T0))
        receipt = transport.send(_message("prompt-1-attempt-1"))
        with connection.begin():
            connection.execute(sa.select(SimulatedMessage.id)).all()
            assert transport.lookup(_attempt("prompt-1-attempt-1")) == (Lookup.sent, receipt)
            assert connection.in_transaction()  # still the caller's
