"""The claim, the window and the participant's state are checked again right before sending."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.audit.models import AuditEvent
from eas.delivery.channels import SendError
from eas.delivery.dispatcher import Dispatcher
from eas.delivery.report import TickReport
from eas.participants.lifecycle import pause
from eas.participants.models import ParticipantStatus
from eas.responses.models import Response, ResponseStatus
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.delivery.fakes import FakeProvider
from tests.delivery.helpers import FIRST_DUE, PROTOCOL, START, planned_prompt

TWO = (
    "label,phone,timezone,start_date\n"
    f"P1,+12025550101,America/New_York,{START}\nP2,+12025550102,America/New_York,{START}\n"
)


def _enrol_ten(db, create_study, enroll_csv, block: str) -> None:
    """Ten participants of the test protocol, numbers +1202555<block>00-09, committed."""
    csv = "label,phone,timezone,start_date\n" + "".join(
        f"P{n},+1202555{block}{n:02d},America/New_York,{START}\n" for n in range(10)
    )
    enroll_csv(create_study(PROTOCOL), csv)
    db.session.commit()


@pytest.fixture
def people(db, create_study, enroll_csv):
    return enroll_csv(create_study(PROTOCOL), TWO).created


def _due_prompts(db):
    db.session.expire_all()
    return db.session.scalars(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.schedule_id == "morning", PlannedPrompt.study_day == 1)
        .order_by(PlannedPrompt.participant_id)
    ).all()


def test_a_claim_that_would_run_out_mid_call_is_handed_back_and_sent_once(db, clock, people):
    def slow(message):  # the first call takes longer than the whole lease
        clock.advance(timedelta(seconds=45))

    provider = FakeProvider(clock, fail=slow)
    # The calls in the ticking thread: with a sending thread, whether the batch's claims were
    # renewed before the second call was looked at (then it goes out) would be a race.
    first = Dispatcher(provider, name="slow", clock=clock, workers=0, lease_seconds=30)
    clock.set(FIRST_DUE)
    report = first.tick()
    first.close()
    assert (report.sent, report.handed_back) == (1, 1)
    assert len(provider.accepted) == 1
    provider.fail = lambda message: None
    other = Dispatcher(provider, name="other", clock=clock)
    report = other.tick()  # handed back: claimed and sent, nothing to reconcile
    other.close()
    assert (report.sent, report.reconciled) == (1, 0)
    assert sorted(a.message.participant_id for a in provider.accepted) == [p.id for p in people]
    assert {p.status for p in _due_prompts(db)} == {PromptStatus.sent}


def test_no_call_is_made_that_could_outlast_its_claim(db, clock, create_study, enroll_csv):
    """A batch that takes longer to send than its lease: every call starts while the claim on
    record has longer to run than a call can take, so no other dispatcher could take the
    prompt over mid-call; what could not be sent in time is handed back and sent later."""
    _enrol_ten(db, create_study, enroll_csv, "02")
    provider = FakeProvider(clock)
    provider.call_seconds = 0.5
    dispatcher = Dispatcher(provider, name="d", clock=clock, workers=0, lease_seconds=4)
    margins = []

    def slow(message):
        prompt_id = int(message.idempotency_key.split("-")[1])
        claim = db.session.get(PlannedPrompt, prompt_id, populate_existing=True)
        margins.append(claim.claim_expires_at - clock.now())
        clock.advance(timedelta(seconds=0.5))  # the call

    provider.fail = slow
    clock.set(FIRST_DUE)
    reports = [dispatcher.tick() for _ in range(6)]
    dispatcher.close()
    assert all(margin > timedelta(seconds=0.5) for margin in margins), margins
    assert sum(report.handed_back for report in reports) > 0  # the lease was too short
    sent = [a.message.participant_id for a in provider.accepted]
    assert len(sent) == len(set(sent)) == 10  # each once


def test_nothing_goes_out_after_its_window_while_waiting(db, clock, people):
    def slow(message):
        clock.advance(timedelta(minutes=31))

    provider = FakeProvider(clock, fail=slow)
    dispatcher = Dispatcher(provider, name="d", clock=clock, workers=1, lease_seconds=3600)
    clock.set(FIRST_DUE)
    dispatcher.tick()
    dispatcher.close()
    assert len(provider.accepted) == 1
    statuses = [(p.status, p.status_reason) for p in _due_prompts(db)]
    assert (PromptStatus.expired, "its window closed before it could be sent") in statuses


def test_a_timed_pause_after_the_claim_stops_the_send(db, clock, people):
    provider = FakeProvider(clock)
    dispatcher = Dispatcher(provider, name="d", clock=clock)
    clock.set(FIRST_DUE)
    claimed = dispatcher._claim(clock.now())
    pause(people[0], clock.now(), until=clock.now() + timedelta(hours=2), actor="test")
    db.session.commit()
    dispatcher._deliver(claimed, TickReport())
    dispatcher.close()
    assert [a.message.participant_id for a in provider.accepted] == [people[1].id]
    first = _due_prompts(db)[0]
    assert (first.status, first.status_reason) == (PromptStatus.cancelled, "paused")


def test_no_reminder_during_a_pause_or_once_started(db, clock, people):
    provider = FakeProvider(clock)
    dispatcher = Dispatcher(provider, name="d", clock=clock)
    clock.set(FIRST_DUE)
    dispatcher.tick()
    pause(people[0], clock.now(), until=clock.now() + timedelta(hours=1), actor="test")
    prompt = _due_prompts(db)[1]
    db.session.add(
        Response(
            prompt_id=prompt.id,
            channel=prompt.channel,
            status=ResponseStatus.in_progress,
            started_at=clock.now(),
            last_activity_at=clock.now(),
        )
    )
    db.session.commit()
    clock.advance(timedelta(minutes=10))
    assert dispatcher.tick().reminders == 0
    dispatcher.close()


class _AcceptsThenTimesOut(FakeProvider):
    """The provider takes the first message but the answer never arrives (a read timeout)."""

    def send(self, message):
        receipt = super().send(message)
        if len(self.accepted) == 1:
            raise TimeoutError("read timed out")
        return receipt


def test_a_timeout_that_did_go_out_is_not_sent_again(db, clock, people):
    provider = _AcceptsThenTimesOut(clock)
    dispatcher = Dispatcher(provider, name="d", clock=clock, workers=1)
    clock.set(FIRST_DUE)
    report = dispatcher.tick()
    assert report.retried == 1 and report.sent == 1
    clock.advance(timedelta(seconds=5))
    report = dispatcher.tick()
    dispatcher.close()
    assert report.sent == 1  # settled by looking the first key up, not by a second send
    assert provider.calls == 2  # the two participants' first attempts, nothing more
    assert len(provider.accepted) == 2
    assert {p.status for p in _due_prompts(db)} == {PromptStatus.sent}


def test_an_unsubscribed_number_is_an_audited_opt_out(db, clock, people):
    provider = FakeProvider(
        clock,
        fail=lambda m: (
            SendError("unsubscribed", code=21610, retryable=False)
            if m.participant_id == people[0].id
            else None
        ),
    )
    dispatcher = Dispatcher(provider, name="d", clock=clock)
    clock.set(FIRST_DUE)
    dispatcher.tick()
    dispatcher.close()
    db.session.refresh(people[0])
    assert people[0].status is ParticipantStatus.opted_out
    audit = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "participant.opted_out" in audit
    assert planned_prompt(db).status in (PromptStatus.failed, PromptStatus.sent)


def test_a_batch_slower_than_its_lease_renews_its_claims_while_it_is_sent(
    db, clock, create_study, enroll_csv
):
    _enrol_ten(db, create_study, enroll_csv, "03")

    provider = FakeProvider(clock)
    provider.call_seconds = 0.5
    dispatcher = Dispatcher(provider, name="d", clock=clock, workers=1, lease_seconds=4)
    # Each call waits until the ticking thread has recorded the one before (and so renewed
    # the claims, when due): in real time a slow call gives it that time.
    recorded = threading.Condition()
    outcomes = []
    record = dispatcher.guard.record

    def recording(results, report):
        record(results, report)
        with recorded:
            outcomes.extend(results)
            recorded.notify_all()

    dispatcher.guard.record = recording

    def slow(message):  # ten calls of 0.6 s: 6 s for a batch under a 4 s lease
        calls_before = provider.calls - 1
        with recorded:
            assert recorded.wait_for(lambda: len(outcomes) >= calls_before, timeout=30)
        clock.advance(timedelta(seconds=0.6))

    provider.fail = slow
    clock.set(FIRST_DUE)
    report = dispatcher.tick()
    dispatcher.close()
    assert (report.sent, report.handed_back) == (10, 0)  # one tick: the claims were renewed
    claims = db.session.scalars(
        sa.select(PlannedPrompt.claim_expires_at).where(PlannedPrompt.status == PromptStatus.sent)
    ).all()
    assert len(claims) == 10 and set(claims) == {None}
