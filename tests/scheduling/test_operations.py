"""Materialising plans: idempotent, history untouched, every cancellation with its reason."""

from datetime import UTC, datetime, timedelta
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from eas.participants.csv_import import CsvInvalid
from eas.participants.lifecycle import change_timezone, pause, resume, withdraw
from eas.protocols.validation import validate_protocol_text
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.operations import replan_participant
from eas.studies.operations import publish_protocol
from tests.helpers import DEMO_PROTOCOL

ONE = (
    "label,phone,timezone,wake,sleep,start_date\n"
    "P1,+12025550101,America/New_York,09:00,22:00,2026-03-19\n"
)
PROMPTS_PER_PARTICIPANT = 14 * 5 + 14 + 2  # beeps, diary, intake and closing


def _prompts(db, **filters):
    query = sa.select(PlannedPrompt).order_by(PlannedPrompt.due_at, PlannedPrompt.id)
    for name, value in filters.items():
        query = query.where(getattr(PlannedPrompt, name) == value)
    return db.session.scalars(query).all()


@pytest.fixture
def enrolled(db, create_study, enroll_csv):
    study = create_study()
    result = enroll_csv(study, ONE)
    return result.created[0]


def _mark_past_as_sent(db, now):
    for prompt in _prompts(db, status=PromptStatus.scheduled):
        if prompt.due_at < now:
            prompt.status = PromptStatus.sent
            prompt.sent_at = prompt.due_at
    db.session.flush()


def test_enrolment_plans_the_whole_study_once(db, enrolled):
    prompts = _prompts(db)
    assert len(prompts) == PROMPTS_PER_PARTICIPANT
    assert {p.status for p in prompts} == {PromptStatus.scheduled}
    assert {(p.schedule_id, p.occurrence) for p in prompts}.__len__() == len(prompts)
    assert prompts[0].study_day == 1 and prompts[-1].study_day == 14
    assert str(prompts[0].local_date) == "2026-03-19"


def test_replanning_unchanged_inputs_changes_nothing(db, clock, enrolled):
    before = [(p.id, p.due_at, p.status) for p in _prompts(db)]
    result = replan_participant(enrolled, clock.now())
    assert (result.created, result.cancelled, result.kept) == (0, 0, PROMPTS_PER_PARTICIPANT)
    assert [(p.id, p.due_at, p.status) for p in _prompts(db)] == before


def test_time_zone_change_replans_only_the_future(db, clock, enrolled):
    clock.advance(timedelta(days=4))  # into study day 3 in New York
    now = clock.now()
    _mark_past_as_sent(db, now)
    sent_before = [(p.id, p.due_at) for p in _prompts(db, status=PromptStatus.sent)]
    assert sent_before

    result = change_timezone(enrolled, now, zone="Europe/Berlin", actor="test")

    assert [(p.id, p.due_at) for p in _prompts(db, status=PromptStatus.sent)] == sent_before
    superseded = _prompts(db, status=PromptStatus.cancelled)
    assert superseded and {p.status_reason for p in superseded} == {"superseded"}
    assert all(p.due_at >= now for p in superseded)
    fresh = _prompts(db, status=PromptStatus.scheduled)
    assert result.created == len(fresh) and result.cancelled == len(superseded)
    # Slots of today that the move put in the past are gone, not sent late.
    fresh_slots = {(p.schedule_id, p.occurrence) for p in fresh}
    assert fresh_slots <= {(p.schedule_id, p.occurrence) for p in superseded}
    assert all(
        p.local_date.isoformat() == "2026-03-22"
        for p in superseded
        if (p.schedule_id, p.occurrence) not in fresh_slots
    )
    assert {p.revision for p in fresh} == {1}
    # The diary now comes at 21:30 Berlin time.
    diary = next(p for p in fresh if p.schedule_id == "diary")
    assert diary.due_at.astimezone(UTC).hour == 20 and diary.due_at.minute == 30
    assert [c.timezone for c in enrolled.timezone_changes] == ["America/New_York", "Europe/Berlin"]
    # Doing it again is a no-op.
    again = replan_participant(enrolled, now)
    assert (again.created, again.cancelled) == (0, 0)


def test_open_pause_then_resume(db, clock, enrolled):
    clock.advance(timedelta(days=3))
    paused_at = clock.now()
    pause(enrolled, paused_at, reason="holiday", actor="test")
    assert enrolled.status.value == "paused"
    assert not [p for p in _prompts(db, status=PromptStatus.scheduled) if p.due_at >= paused_at]
    assert {p.status_reason for p in _prompts(db, status=PromptStatus.cancelled)} == {"paused"}

    clock.advance(timedelta(days=2))
    resumed_at = clock.now()
    resume(enrolled, resumed_at, actor="test")
    assert enrolled.status.value == "active"
    scheduled = [p for p in _prompts(db, status=PromptStatus.scheduled) if p.due_at >= paused_at]
    assert scheduled and min(p.due_at for p in scheduled) >= resumed_at
    # The paused stretch stays cancelled as paused: it is part of the study's record.
    gap = [p for p in _prompts(db) if paused_at <= p.due_at < resumed_at]
    assert gap and {(p.status, p.status_reason) for p in gap} == {
        (PromptStatus.cancelled, "paused")
    }


def test_bounded_pause_cancels_only_inside_it(db, clock, enrolled):
    start = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    clock.set(start)
    until = start + timedelta(days=1)
    pause(enrolled, start, until=until, actor="test")
    assert enrolled.status.value == "active"
    for prompt in _prompts(db):
        inside = start <= prompt.due_at < until
        assert (prompt.status is PromptStatus.cancelled) == inside
        if inside:
            assert prompt.status_reason == "paused"


def test_withdrawal_cancels_every_future_prompt_for_good(db, clock, enrolled):
    clock.advance(timedelta(days=5))
    now = clock.now()
    _mark_past_as_sent(db, now)
    withdraw(enrolled, now, reason="asked to stop", actor="test")
    future = [p for p in _prompts(db) if p.due_at >= now]
    assert {(p.status, p.status_reason) for p in future} == {(PromptStatus.cancelled, "withdrawn")}
    assert _prompts(db, status=PromptStatus.sent)
    assert replan_participant(enrolled, now).created == 0


def test_new_protocol_version_supersedes_future_prompts(db, clock, enrolled):
    clock.set(datetime(2026, 3, 24, 12, 0, tzinfo=UTC))
    now = clock.now()
    _mark_past_as_sent(db, now)
    text = DEMO_PROTOCOL.read_text().replace("duration_days: 14", "duration_days: 7")
    text = text.replace("day: 14\n", "day: 7\n")
    result = publish_protocol(validate_protocol_text(text, "v2.yaml"), actor="test")
    assert result.version.number == 2
    scheduled = _prompts(db, status=PromptStatus.scheduled)
    assert {p.protocol_version_id for p in scheduled} == {result.version.id}
    assert max(p.study_day for p in scheduled) == 7
    reasons = {p.status_reason for p in _prompts(db, status=PromptStatus.cancelled)}
    assert reasons == {"superseded", "study_ended"}
    sent = _prompts(db, status=PromptStatus.sent)
    assert sent and {p.protocol_version_id for p in sent} != {result.version.id}


def test_group_members_share_random_times(db, create_study, enroll_csv):
    study = create_study()
    enroll_csv(
        study,
        "label,phone,timezone,wake,sleep,start_date,group\n"
        "A,+12025550101,America/New_York,08:00,23:00,2026-03-19,couple-1\n"
        "B,+12025550102,America/New_York,10:00,22:00,2026-03-19,couple-1\n"
        "C,+12025550103,America/New_York,10:00,22:00,2026-03-19,\n",
    )
    by_label = {}
    for prompt in _prompts(db, schedule_id="beeps", status=PromptStatus.scheduled):
        by_label.setdefault(prompt.participant.label, []).append(prompt.due_at)
    assert by_label["A"] == by_label["B"]
    assert by_label["A"] != by_label["C"]
    # Shared times lie in both members' windows: 10:00-22:00 New York time.
    for moment in by_label["A"]:
        local = moment.astimezone(ZoneInfo("America/New_York"))
        assert 10 <= local.hour < 22


def test_a_window_too_short_on_a_dst_night_is_refused_at_import(db, create_study, enroll_csv):
    study = create_study()
    with pytest.raises(CsvInvalid) as caught:
        enroll_csv(
            study,
            "label,phone,timezone,wake,sleep,start_date\n"
            "N1,+4915123456789,Europe/Berlin,23:00,07:00,2026-03-20\n",
        )
    (error,) = caught.value.errors
    assert error.line == 2
    assert "on Saturday 2026-03-28, when the clocks change in Europe/Berlin," in error.message
    assert _prompts(db) == []


def test_same_day_start_uses_the_rest_of_today(db, clock, create_study, enroll_csv):
    text = DEMO_PROTOCOL.read_text().replace(
        "  duration_days: 14\n", "  duration_days: 14\n  start: same_day\n"
    )
    study = create_study(text)
    clock.set(datetime(2026, 3, 18, 18, 0, tzinfo=UTC))  # 14:00 in New York
    participant = enroll_csv(
        study, dedent("label,phone,timezone\nP1,+12025550101,America/New_York\n")
    ).created[0]
    assert str(participant.start_date) == "2026-03-18"
    first_day = _prompts(db, study_day=1)
    assert first_day and min(p.due_at for p in first_day) >= clock.now()
