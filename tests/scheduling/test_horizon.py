"""Long and open-ended studies (issue 22): planned weeks ahead and extended as time passes,
with the prompts a complete plan would have had."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa

from eas import create_app
from eas.core.clock import VirtualClock, install_clock
from eas.core.db import db as _db
from eas.participants.csv_import import parse_participants_csv
from eas.participants.lifecycle import withdraw
from eas.participants.operations import import_participants
from eas.protocols.validation import ProtocolInvalid, validate_protocol_text
from eas.scheduling.horizon import PLAN_AHEAD_DAYS
from eas.scheduling.models import PlanHorizon, PlannedPrompt, PromptStatus
from eas.scheduling.operations import extend_plans, subject_for
from eas.scheduling.planner import plan_prompts
from eas.studies.operations import publish_protocol
from tests.databases import temporary_database
from tests.helpers import make_test_config
from tests.scheduling.helpers import subject

CSV = (
    "label,phone,timezone,wake,sleep,start_date\n"
    "P1,+12025550101,America/New_York,09:00,22:00,{start}\n"
)


def _protocol(duration: str) -> str:
    return f"""
study: {{id: long, title: Long, timezone: America/New_York, duration_days: {duration}}}
questionnaires:
  - id: q
    items: [{{id: mood, type: scale, min: 0, max: 10, text: Mood}}]
schedules:
  - {{id: beeps, questionnaire: q, type: random, per_day: 3, min_gap_minutes: 60, days_per_week: 3}}
  - {{id: diary, questionnaire: q, type: fixed, times: ["21:00"], weekdays: [sun]}}
"""


def _keys(db, participant):
    rows = db.session.execute(
        sa.select(PlannedPrompt.schedule_id, PlannedPrompt.occurrence, PlannedPrompt.due_at)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.status == PromptStatus.scheduled,
        )
        .order_by(PlannedPrompt.due_at)
    ).all()
    return [tuple(row) for row in rows]


def _start(clock) -> date:
    return (clock.now() + timedelta(days=1)).date()


def test_a_long_study_is_planned_weeks_ahead_not_to_its_end(db, clock, create_study, enroll_csv):
    study = create_study(_protocol("730"))
    participant = enroll_csv(study, CSV.format(start=_start(clock))).created[0]
    days = {row[1][:10] for row in _keys(db, participant)}
    assert len(days) <= PLAN_AHEAD_DAYS + 2
    horizon = db.session.get(PlanHorizon, participant.id)
    assert horizon.planned_through_day == PLAN_AHEAD_DAYS + 1
    assert horizon.planned_through == participant.start_date + timedelta(days=PLAN_AHEAD_DAYS)


def test_extending_gives_the_prompts_of_a_complete_plan(db, clock, create_study, enroll_csv):
    """Planned in pieces as time passes, the prompts are those of one plan of the whole study
    (random times and days of the week drawn alike)."""
    study = create_study(_protocol("200"))
    participant = enroll_csv(study, CSV.format(start=_start(clock))).created[0]
    assert extend_plans(clock.now()) == 0  # nothing is due for extension yet
    for _ in range(20):
        clock.advance(timedelta(days=10))
        extend_plans(clock.now())
    assert db.session.get(PlanHorizon, participant.id) is None  # complete now
    stored = sa.select(PlannedPrompt.schedule_id, PlannedPrompt.occurrence, PlannedPrompt.due_at)
    stored = {
        tuple(row)
        for row in db.session.execute(stored.where(PlannedPrompt.participant_id == participant.id))
    }
    complete = {
        (slot.schedule_id, slot.occurrence, slot.due_at)
        for slot in plan_prompts(
            study.current_version.definition, subject_for(participant), with_reminders=False
        )
    }
    assert stored == complete
    assert max(slot[1][:10] for slot in stored) == str(participant.start_date + timedelta(days=199))


def test_an_open_ended_study_runs_until_the_participant_withdraws(
    db, clock, create_study, enroll_csv
):
    study = create_study(_protocol("until_withdrawn"))
    participant = enroll_csv(study, CSV.format(start=_start(clock))).created[0]
    clock.advance(timedelta(days=400))
    for _ in range(5):
        extend_plans(clock.now())
    horizon = db.session.get(PlanHorizon, participant.id)
    assert horizon.planned_through >= clock.now().date() + timedelta(days=PLAN_AHEAD_DAYS - 7)
    withdraw(participant, clock.now(), reason="done", actor="test")
    reached = horizon.planned_through
    clock.advance(timedelta(days=60))
    assert extend_plans(clock.now()) == 0
    assert not [key for key in _keys(db, participant) if key[2] > clock.now() - timedelta(days=60)]
    assert db.session.get(PlanHorizon, participant.id).planned_through == reached


def test_a_short_study_is_planned_completely(db, clock, create_study, enroll_csv):
    study = create_study(_protocol("14"))
    participant = enroll_csv(study, CSV.format(start=_start(clock))).created[0]
    assert db.session.get(PlanHorizon, participant.id) is None


def test_pieces_of_a_plan_agree_with_the_whole():
    definition = validate_protocol_text(_protocol("300"), "p.yaml").definition
    person = subject(start=date(2026, 3, 2), seed=11)
    whole = plan_prompts(definition, person)
    pieces = []
    for first in range(1, 301, 45):
        pieces += plan_prompts(definition, person, days=(first, min(300, first + 44)))
    assert [(s.occurrence, s.due_at) for s in pieces] == [(s.occurrence, s.due_at) for s in whole]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3661", "must be between 1 and 3660 (10 years)"),
        ("forever", 'must be a whole number of days or "until_withdrawn"'),
    ],
)
def test_the_study_length_is_checked(value, message):
    with pytest.raises(ProtocolInvalid) as info:
        validate_protocol_text(_protocol(value), "p.yaml")
    assert f"study.duration_days: {message}" in str(info.value)


def test_two_dispatchers_extending_at_once_on_postgresql(tmp_path):
    """One extends a participant's plan while the other skips it (it was a unique-key error
    that ended the other's tick, and that tick's alert mails, before)."""
    with temporary_database("postgres", tmp_path) as url:
        app = create_app(make_test_config(url, tmp_path))
        clock = VirtualClock(datetime(2026, 3, 18, 14, tzinfo=UTC))
        install_clock(app, clock)
        with app.app_context():
            flask_migrate.upgrade()
            study = publish_protocol(
                validate_protocol_text(_protocol("until_withdrawn"), "p.yaml"), actor="test"
            ).study
            parsed = parse_participants_csv(
                CSV.format(start="2026-03-19"), study.current_version.definition, "US"
            )
            import_participants(study, parsed, actor="test")
            _db.session.commit()
        later = datetime(2026, 3, 27, 14, tzinfo=UTC)
        first_holds = threading.Event()
        results: dict[str, object] = {}

        def extending(name: str) -> None:
            with app.app_context():
                try:
                    results[name] = extend_plans(later)
                    if name == "first":
                        first_holds.set()
                        time.sleep(1)  # holding its claim while the second looks
                    _db.session.commit()
                except Exception as exc:
                    results[name] = exc
                finally:
                    first_holds.set()
                    _db.session.remove()

        first = threading.Thread(target=extending, args=("first",))
        first.start()
        first_holds.wait(timeout=30)
        extending("second")
        first.join()
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
    assert results == {"first": 1, "second": 0}


def test_the_dispatcher_extends_plans_every_ten_minutes_not_every_tick(
    db, clock, create_study, enroll_csv, dispatcher, statements
):
    study = create_study(_protocol("until_withdrawn"))
    participant = enroll_csv(study, CSV.format(start=_start(clock))).created[0]
    reached = db.session.get(PlanHorizon, participant.id).planned_through
    clock.advance(timedelta(days=10))
    statements.clear()
    assert dispatcher.tick().plans_extended == 1
    assert db.session.get(PlanHorizon, participant.id).planned_through > reached
    looked = sum("plan_horizons" in statement for statement in statements)
    statements.clear()
    clock.advance(timedelta(minutes=5))
    dispatcher.tick()
    assert looked >= 1 and not any("plan_horizons" in s for s in statements)
    clock.advance(timedelta(minutes=6))
    dispatcher.tick()
    assert any("plan_horizons" in s for s in statements)
