"""Re-planning edge cases: consent, partners, protocol edits, overdue prompts, travel."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa

from eas.participants.csv_import import CsvInvalid
from eas.participants.lifecycle import LifecycleError, change_timezone, pause, resume, withdraw
from eas.participants.models import ParticipantStatus
from eas.protocols.validation import validate_protocol_text
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.operations import replan_participant
from eas.studies.operations import publish_protocol
from tests.helpers import DEMO_PROTOCOL

ONE = "label,phone,timezone,start_date\nP1,+12025550101,America/Los_Angeles,2026-03-19\n"


def _prompts(db, participant, **filters):
    query = sa.select(PlannedPrompt).where(PlannedPrompt.participant_id == participant.id)
    for name, value in filters.items():
        query = query.where(getattr(PlannedPrompt, name) == value)
    return db.session.scalars(query.order_by(PlannedPrompt.due_at)).all()


@pytest.fixture
def person(db, create_study, enroll_csv):
    return enroll_csv(create_study(), ONE).created[0]


@pytest.mark.parametrize("first", ["withdraw", "pause_then_withdraw", "opt_out"])
def test_nobody_who_left_comes_back_by_a_resume(db, clock, person, first):
    if first == "pause_then_withdraw":
        pause(person, clock.now(), actor="test")
    if first == "opt_out":
        person.status = ParticipantStatus.opted_out
    else:
        withdraw(person, clock.now(), actor="test")
    with pytest.raises(LifecycleError):
        resume(person, clock.now(), actor="test")
    assert person.status is not ParticipantStatus.active
    assert _prompts(db, person, status=PromptStatus.scheduled) == [] or first == "opt_out"
    assert all(p.ends_at is not None for p in person.pauses)


def test_a_partner_leaving_supersedes_not_withdraws_the_others_prompts(
    db, clock, create_study, enroll_csv
):
    study = create_study()
    a, b = enroll_csv(
        study,
        "label,phone,timezone,wake,sleep,start_date,group\n"
        "A,+12025550101,America/New_York,08:00,22:00,2026-03-19,g\n"
        "B,+12025550102,America/Chicago,08:00,22:00,2026-03-19,g\n",
    ).created
    clock.set(datetime(2026, 3, 21, 12, 0, tzinfo=UTC))
    withdraw(b, clock.now(), actor="test")
    reasons = {p.status_reason for p in _prompts(db, a, status=PromptStatus.cancelled)}
    assert reasons == {"superseded"}  # A's random times follow A's own window again
    assert {p.status_reason for p in _prompts(db, b, status=PromptStatus.cancelled)} == {
        "withdrawn"
    }


def test_a_wording_edit_keeps_every_planned_prompt(db, clock, person):
    before = [(p.id, p.due_at) for p in _prompts(db, person)]
    text = DEMO_PROTOCOL.read_text().replace("Right now, how lonely", "Right now, how alone")
    result = publish_protocol(validate_protocol_text(text, "v2.yaml"), actor="test")
    assert (result.prompts_cancelled, result.prompts_planned) == (0, 0)
    after = _prompts(db, person)
    assert [(p.id, p.due_at) for p in after] == before
    assert {p.protocol_version_id for p in after} == {result.version.id}


def test_a_pause_also_stops_an_overdue_prompt_not_yet_picked_up(db, clock, person):
    first = _prompts(db, person)[0]
    clock.set(first.due_at + timedelta(minutes=2))  # due, still open, no dispatcher ran yet
    pause(person, clock.now(), until=clock.now() + timedelta(hours=3), actor="test")
    db.session.refresh(first)
    assert (first.status, first.status_reason) == (PromptStatus.cancelled, "paused")


def test_after_travel_no_prompt_comes_sooner_than_the_minimum_gap(
    db, clock, create_study, enroll_csv
):
    study = create_study()
    gap = timedelta(minutes=90)
    for seed in range(12):
        label = f"T{seed}"
        person = enroll_csv(
            study,
            f"label,phone,timezone,start_date\n{label},+1202555{seed:04d},America/Los_Angeles,"
            "2026-03-19\n",
        ).created[0]
        person.schedule_seed = 100 + seed
        replan_participant(person, clock.now())
        clock.set(datetime(2026, 3, 20, 4, 0, tzinfo=UTC))  # LA evening
        for prompt in _prompts(db, person, status=PromptStatus.scheduled):
            if prompt.due_at < clock.now():
                prompt.status, prompt.sent_at = PromptStatus.sent, prompt.due_at
        change_timezone(person, clock.now(), zone="Asia/Tokyo", actor="test")
        beeps = [
            p.due_at
            for p in _prompts(db, person, schedule_id="beeps")
            if p.status in (PromptStatus.sent, PromptStatus.scheduled)
        ]
        assert all(later - earlier >= gap for earlier, later in pairwise(beeps)), seed
        clock.set(datetime(2026, 3, 18, 14, 0, tzinfo=UTC))


def test_a_study_that_would_already_be_over_is_refused(db, clock, create_study, enroll_csv):
    with pytest.raises(CsvInvalid) as caught:
        enroll_csv(
            create_study(),
            "label,phone,timezone,start_date\nOld,+12025550101,America/New_York,2020-01-01\n",
        )
    assert [e.format("p.csv") for e in caught.value.errors] == [
        "p.csv:2: start_date: 2020-01-01: the 14-day study would have ended on 2020-01-14"
    ]


def test_preview_uses_weekend_defaults_and_leaves_out_what_is_never_sent(runner, tmp_path):
    protocol = tmp_path / "weekend.yaml"
    protocol.write_text(
        """
study: {id: wk, title: Weekend, timezone: America/New_York, duration_days: 7}
participant_defaults: {wake: "08:00", sleep: "22:00", weekend_wake: "10:00",
                       weekend_sleep: "23:00"}
questionnaires:
  - id: q
    items: [{id: mood, type: scale, min: 0, max: 10, text: "Mood? 0-10"}]
schedules:
  - {id: hourly, questionnaire: q, type: interval, every_minutes: 120}
  - {id: night, questionnaire: q, type: fixed, times: ["02:30", "03:30"],
     expires_after_minutes: 20}
"""
    )
    result = runner.invoke(
        args=["schedule", "preview", str(protocol), "--start", "2026-03-02", "--format", "json"]
    )
    prompts = __import__("json").loads(result.output)["prompts"]
    saturday = [p["local"] for p in prompts if p["schedule"] == "hourly" and " Sat " in p["local"]]
    assert saturday[0].endswith("10:00 EST")
    spring = [p["local"] for p in prompts if p["local"].startswith("2026-03-08")]
    assert [t for t in spring if "03:30" in t] == ["2026-03-08 Sun 03:30 EDT"]  # once, not twice
