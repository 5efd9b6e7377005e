"""The dispatcher in virtual time, against a stateful fake provider."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from eas.delivery.channels import Lookup, SendError
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.models import Direction, DispatcherHeartbeat, MessageStatus
from eas.delivery.outbox import Lease, new_job, record
from eas.delivery.report import TickReport
from eas.participants.lifecycle import pause
from eas.participants.models import ParticipantStatus
from eas.responses.models import AccessLink, Response, ResponseStatus
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.surveys.links import resolve, token_hash
from tests.delivery.helpers import FIRST_DUE, messages, planned_prompt


@pytest.fixture
def dispatcher(clock, provider):
    dispatcher = Dispatcher(provider, name="test", clock=clock, workers=4, lease_seconds=60)
    yield dispatcher
    dispatcher.close()


def test_a_due_prompt_is_sent_once_with_its_first_question(
    db, clock, participant, provider, dispatcher
):
    clock.set(FIRST_DUE - timedelta(minutes=1))
    assert dispatcher.tick().sent == 0
    clock.set(FIRST_DUE + timedelta(seconds=3))
    report = dispatcher.tick()
    assert report.sent == 1 and report.lateness == [3.0]
    assert dispatcher.tick().sent == 0  # never twice
    prompt = planned_prompt(db)
    assert prompt.status is PromptStatus.sent and prompt.sent_at == clock.now()
    assert prompt.attempts == 1 and prompt.claimed_by is None
    (accepted,) = provider.accepted
    assert accepted.message.phone == "+12025550101"
    # Sealed until a transport asks: neither the message nor its number shows it.
    assert "2025550101" not in repr(accepted.message)
    assert accepted.message.body == "Hi!\n1/2 How is your mood? 0=bad, 10=good Reply 0-10"
    assert accepted.message.validity_seconds == 30 * 60 - 3
    (message,) = messages(db, direction=Direction.outbound)
    assert message.status is MessageStatus.sent and message.prompt_id == prompt.id
    assert message.provider_sid == accepted.receipt.provider_sid


def test_an_overdue_prompt_expires_instead_of_being_sent_late(
    db, clock, participant, provider, dispatcher
):
    clock.set(FIRST_DUE + timedelta(minutes=31))  # the dispatcher was down all that time
    report = dispatcher.tick()
    assert report.sent == 0 and report.expired == 1
    prompt = planned_prompt(db)
    assert prompt.status is PromptStatus.expired
    assert prompt.status_reason == "not sent before it expired"
    assert provider.calls == 0


def test_retryable_failures_back_off_inside_the_window(db, clock, participant, dispatcher):
    failures = iter(
        [SendError("HTTP 503", retryable=True), SendError("busy", code=20429, retryable=True)]
    )
    dispatcher.transport.fail = lambda message: next(failures, None)
    clock.set(FIRST_DUE)
    assert dispatcher.tick().retried == 1
    prompt = planned_prompt(db)
    assert prompt.status is PromptStatus.scheduled
    assert prompt.next_attempt_at == FIRST_DUE + timedelta(seconds=5)
    clock.advance(timedelta(seconds=4))
    assert dispatcher.tick().sent == 0  # still backing off
    clock.advance(timedelta(seconds=1))
    assert dispatcher.tick().retried == 1
    assert planned_prompt(db).next_attempt_at == clock.now() + timedelta(seconds=10)
    clock.advance(timedelta(seconds=10))
    assert dispatcher.tick().sent == 1
    prompt = planned_prompt(db)
    assert prompt.status is PromptStatus.sent and prompt.attempts == 3
    statuses = [(m.status, m.error_code) for m in messages(db, prompt_id=prompt.id)]
    assert statuses == [
        (MessageStatus.failed, None),
        (MessageStatus.failed, 20429),
        (MessageStatus.sent, None),
    ]


def test_retries_stop_when_the_window_closes(db, clock, participant, dispatcher):
    dispatcher.transport.fail = lambda message: SendError("HTTP 500", retryable=True)
    clock.set(FIRST_DUE)
    for _ in range(40):
        dispatcher.tick()
        clock.advance(timedelta(minutes=1))
    prompt = planned_prompt(db)
    assert prompt.status is PromptStatus.failed
    assert prompt.status_reason == "no attempt left in its window: HTTP 500"
    assert all(m.created_at < prompt.expires_at for m in messages(db, prompt_id=prompt.id))


def test_unsubscribed_number_opts_the_participant_out(db, clock, participant, dispatcher):
    dispatcher.transport.fail = lambda m: SendError("unsubscribed", code=21610, retryable=False)
    clock.set(FIRST_DUE)
    assert dispatcher.tick().failed == 1
    prompt = planned_prompt(db)
    assert (prompt.status, prompt.status_reason) == (PromptStatus.failed, "unsubscribed (21610)")
    assert participant.status is ParticipantStatus.opted_out
    later = db.session.scalars(
        sa.select(PlannedPrompt).where(PlannedPrompt.due_at > clock.now())
    ).all()
    assert later and {(p.status, p.status_reason) for p in later} == {
        (PromptStatus.cancelled, "opted_out")
    }


def test_bad_number_stops_at_once(db, clock, participant, dispatcher):
    dispatcher.transport.fail = lambda m: SendError("invalid To", code=21211, retryable=False)
    clock.set(FIRST_DUE)
    dispatcher.tick()
    clock.advance(timedelta(minutes=5))
    dispatcher.tick()
    assert dispatcher.transport.calls == 1
    assert planned_prompt(db).status_reason == "invalid To (21211)"


def test_a_pause_between_claim_and_send_stops_the_send(db, clock, participant, dispatcher):
    clock.set(FIRST_DUE)
    claimed = dispatcher._claim(clock.now())
    assert len(claimed) == 1
    pause(participant, clock.now(), actor="test")
    db.session.commit()
    report = TickReport()
    dispatcher._deliver(claimed, report)  # the same dispatcher goes on with its batch
    assert report.sent == 0 and dispatcher.transport.calls == 0
    prompt = planned_prompt(db)
    assert (prompt.status, prompt.status_reason) == (PromptStatus.cancelled, "paused")


def test_reminder_goes_out_once_while_open_and_unanswered(db, clock, participant, dispatcher):
    clock.set(FIRST_DUE)
    dispatcher.tick()
    clock.advance(timedelta(minutes=9))
    assert dispatcher.tick().reminders == 0
    clock.advance(timedelta(minutes=1))
    assert dispatcher.tick().reminders == 1
    clock.advance(timedelta(minutes=5))
    assert dispatcher.tick().reminders == 0
    bodies = dispatcher.transport.bodies_for(participant.id)
    assert bodies[1].startswith("Reminder: Hi!\n1/2 How is your mood?")
    assert [m.purpose for m in messages(db, direction=Direction.outbound)] == [
        "prompt",
        "reminder",
    ]


def test_a_reminder_sent_is_on_record_even_if_the_tick_fails_later(
    db, clock, participant, dispatcher, monkeypatch
):
    clock.set(FIRST_DUE)
    dispatcher.tick()
    clock.advance(timedelta(minutes=10))

    def failing(now, report):
        raise RuntimeError("a later step of the tick failed")

    monkeypatch.setattr(dispatcher.heartbeat, "beat", failing)
    with pytest.raises(RuntimeError):
        dispatcher.tick()
    db.session.rollback()  # as the timer's job wrapper does
    db.session.expire_all()
    assert dispatcher.transport.bodies_for(participant.id)[1].startswith("Reminder:")
    (reminder,) = [m for m in messages(db, direction=Direction.outbound) if m.purpose == "reminder"]
    assert reminder.status is MessageStatus.sent and reminder.provider_sid


def test_no_reminder_once_answered(db, clock, participant, dispatcher):
    clock.set(FIRST_DUE)
    dispatcher.tick()
    prompt = planned_prompt(db)
    db.session.add(
        Response(
            prompt_id=prompt.id,
            channel=prompt.channel,
            status=ResponseStatus.completed,
            started_at=clock.now(),
            last_activity_at=clock.now(),
            completed_at=clock.now(),
        )
    )
    db.session.commit()
    clock.advance(timedelta(minutes=10))
    assert dispatcher.tick().reminders == 0


def test_web_prompts_carry_their_own_link(db, clock, participant, dispatcher):
    clock.set(datetime(2026, 3, 20, 1, 0, tzinfo=UTC))  # 21:00 in New York
    assert dispatcher.tick().sent == 1
    body = dispatcher.transport.accepted[0].message.body
    assert body.startswith("Evening diary: http://127.0.0.1:5000/p/")
    token = body.rsplit("/", 1)[1]
    assert len(token) == 16
    assert resolve(token).prompt_id == planned_prompt(db, "evening").id
    assert resolve(token[:-2] + "xx") is None
    stored = db.session.scalars(sa.select(AccessLink.token_hash)).all()
    assert token not in stored and token_hash(token) in stored


@pytest.mark.parametrize(
    ("provider_says", "status", "resent"),
    [
        (Lookup.sent, PromptStatus.sent, False),
        (Lookup.not_sent, PromptStatus.sent, True),
        (Lookup.unknown, PromptStatus.failed, False),
    ],
)
def test_a_crashed_dispatchers_prompt_is_reconciled(
    db, clock, participant, provider, provider_says, status, resent
):
    crashed = Dispatcher(provider, name="crashed", clock=clock, lease_seconds=30)
    clock.set(FIRST_DUE)
    claimed = crashed._claim(clock.now())
    # It recorded the message and (maybe) handed it over, then died before recording the result.
    prompt = claimed[0]
    key, lease = f"prompt-{prompt.id}-attempt-1", Lease(prompt.claim_expires_at)
    job = new_job(prompt, "Hi", key, "prompt", clock.now(), lease)
    record([job])
    db.session.commit()
    if provider_says is Lookup.sent:
        provider.send(job.outbound)
    if provider_says is Lookup.unknown:
        provider.lookup = lambda attempt: (Lookup.unknown, None)
    crashed.close()
    calls_before = provider.calls

    survivor = Dispatcher(provider, name="survivor", clock=clock, lease_seconds=30)
    clock.advance(timedelta(seconds=10))
    assert survivor.tick().reconciled == 0  # the lease still holds
    clock.advance(timedelta(seconds=21))
    report = survivor.tick()
    survivor.close()
    assert report.reconciled == 1
    prompt = planned_prompt(db)
    assert prompt.status is status
    sends = [a for a in provider.accepted if a.message.participant_id == participant.id]
    assert len(sends) == 1 if provider_says is not Lookup.unknown else len(sends) == 0
    assert (provider.calls > calls_before) is resent
    # Found sent, or sent again: either way counted in the tick that settled it, with its
    # lateness, and in its dispatcher's heartbeat.
    settled_as_sent = provider_says is not Lookup.unknown
    assert report.sent == len(report.lateness) == settled_as_sent
    beat = db.session.get(DispatcherHeartbeat, "survivor", populate_existing=True)
    assert beat.sent == settled_as_sent
    if provider_says is Lookup.unknown:
        assert prompt.status_reason == "unconfirmed after a dispatcher crash; not re-sent"


def test_healthz_and_metrics(client, db, clock, participant, dispatcher):
    assert client.get("/healthz").status_code == 503
    clock.set(FIRST_DUE)
    dispatcher.tick()
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["dispatchers"][0]["name"] == "test"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'eas_prompts_sent_total{channel="sms"}' in metrics
    assert "eas_due_to_sent_seconds_bucket" in metrics


def test_eas_run_refuses_to_dispatch_inside_gunicorn(runner, monkeypatch):
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    result = runner.invoke(args=["run", "--port", "5999"])
    assert result.exit_code == 1
    assert "refusing to start a dispatcher inside a gunicorn worker" in result.output


def test_a_reminder_a_stop_keeps_from_going_out_is_handed_back(
    db, clock, participant, dispatcher, monkeypatch
):
    """SIGTERM between a reminder's claim and its call: it did not go out, so it stays due (for
    whichever dispatcher ticks next), and goes out once."""
    from eas.delivery import reminders

    clock.set(FIRST_DUE)
    dispatcher.tick()
    clock.advance(timedelta(minutes=10))
    still_open = reminders.still_open

    def stopped_meanwhile(ids, now):
        dispatcher.stopping.set()  # SIGTERM, after the claim and before the call
        return still_open(ids, now)

    monkeypatch.setattr(reminders, "still_open", stopped_meanwhile)
    assert dispatcher.tick().reminders == 0
    assert dispatcher.transport.calls == 1  # the prompt only
    monkeypatch.setattr(reminders, "still_open", still_open)
    dispatcher.stopping.clear()  # the next dispatcher
    clock.advance(timedelta(minutes=1))
    assert dispatcher.tick().reminders == 1
    assert dispatcher.tick().reminders == 0
    bodies = dispatcher.transport.bodies_for(participant.id)
    assert len(bodies) == 2 and bodies[1].startswith("Reminder: Hi!")
    assert [(m.purpose, m.status.value) for m in messages(db, direction=Direction.outbound)] == [
        ("prompt", "sent"),
        ("reminder", "sent"),
    ]
