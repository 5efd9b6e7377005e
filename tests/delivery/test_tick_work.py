"""What a tick reads and writes stays small as a study goes on: planned reminders end with their
prompt's window, and a tick's statements do not grow with the study's history."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.core.db import db as _db
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import Direction, MessageStatus
from eas.participants.lifecycle import pause
from eas.responses.models import Response, ResponseStatus
from eas.scheduling.models import PromptStatus
from tests.delivery.fakes import FakeProvider
from tests.delivery.helpers import FIRST_DUE, messages, planned_prompt


@pytest.fixture
def dispatcher(clock):
    dispatcher = Dispatcher(FakeProvider(clock), name="test", clock=clock, workers=0)
    yield dispatcher
    dispatcher.close()


def _start(db, prompt, now) -> None:
    db.session.add(
        Response(
            prompt_id=prompt.id,
            channel=prompt.channel,
            status=ResponseStatus.in_progress,
            started_at=now,
            last_activity_at=now,
        )
    )
    db.session.commit()


def test_an_answered_prompts_reminder_is_dropped_once_its_window_closes(
    db, clock, participant, dispatcher
):
    clock.set(FIRST_DUE)
    assert dispatcher.tick().sent == 1
    _start(db, planned_prompt(db), clock.now())
    clock.advance(timedelta(minutes=10))
    assert dispatcher.tick().reminders == 0
    # Still open: the reminder stays planned (a response could go away only with its data).
    assert planned_prompt(db).next_reminder_at == FIRST_DUE + timedelta(minutes=10)
    clock.advance(timedelta(minutes=21))  # past its 30 minutes
    assert dispatcher.tick().reminders == 0
    prompt = planned_prompt(db)
    assert (prompt.status, prompt.next_reminder_at, prompt.reminders_sent) == (
        PromptStatus.sent,
        None,
        0,
    )


def test_a_reminder_due_during_a_pause_goes_out_when_the_pause_ends(
    db, clock, participant, dispatcher
):
    clock.set(FIRST_DUE)
    dispatcher.tick()
    pause(participant, clock.now(), until=clock.now() + timedelta(minutes=15), actor="test")
    db.session.commit()
    clock.advance(timedelta(minutes=10))
    assert dispatcher.tick().reminders == 0
    clock.advance(timedelta(minutes=6))
    assert dispatcher.tick().reminders == 1
    reminder = messages(db, direction=Direction.outbound)[-1]
    assert (reminder.purpose, reminder.status) == ("reminder", MessageStatus.sent)
    assert reminder.idempotency_key == f"prompt-{planned_prompt(db).id}-reminder-1"


def test_a_prompt_paused_past_its_window_loses_its_reminder(db, clock, participant, dispatcher):
    clock.set(FIRST_DUE)
    dispatcher.tick()
    pause(participant, clock.now(), until=clock.now() + timedelta(hours=1), actor="test")
    db.session.commit()
    clock.advance(timedelta(minutes=10))
    assert dispatcher.tick().reminders == 0
    clock.advance(timedelta(hours=1))
    assert dispatcher.tick().reminders == 0
    assert planned_prompt(db).next_reminder_at is None
    assert [m.purpose for m in messages(db, direction=Direction.outbound)] == ["prompt"]


def _statements(dispatcher) -> list[str]:
    """The statements a tick runs, by their first words (the test session's commits are
    savepoints)."""
    seen = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()[:3]))

    engine = _db.session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        dispatcher.tick()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def test_a_busy_tick_commits_three_times_and_an_idle_one_once(db, clock, participant, dispatcher):
    dispatcher.tick()  # the heartbeat's row exists from here on
    clock.set(FIRST_DUE)
    statements = _statements(dispatcher)
    # The claim with the message (before the send), the outcomes, the rest of the tick.
    assert sum(s.startswith("SAVEPOINT") for s in statements) == 3, statements
    # The message is written once before the send and once with its outcome.
    assert statements.count("INSERT INTO messages") == 1
    assert statements.count("UPDATE messages SET") == 1
    assert messages(db, direction=Direction.outbound)[0].status is MessageStatus.sent
    assert planned_prompt(db).status is PromptStatus.sent
    clock.advance(timedelta(minutes=1))
    idle = _statements(dispatcher)
    assert sum(s.startswith("SAVEPOINT") for s in idle) == 1, idle
    assert not any(s.startswith("INSERT") for s in idle)
