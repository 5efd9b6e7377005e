"""The prompt's place in the day (`responses.context.place_of`), by the export's beep rule: its
position among the participant's prompts of its questionnaire that study day, by due time then
id, counting every prompt not replaced by a re-plan, across the questionnaire's planned
schedules; reports the participant starts count on their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from eas.responses import context
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.helpers import PHONE

PROTOCOL = """
study: {id: beeps, title: Beeps, timezone: America/New_York, duration_days: 2}
questionnaires:
  - id: q
    items:
      - {id: a, type: yes_no, text: A}
      - {id: b, type: yes_no, text: B, show_if: last_beep}
  - id: other
    items: [{id: c, type: yes_no, text: C}]
schedules:
  - {id: morning, questionnaire: q, type: fixed, times: ["09:00", "12:00"]}
  - {id: evening, questionnaire: q, type: fixed, times: ["20:00"], channel: web}
  - {id: others, questionnaire: other, type: fixed, times: ["10:00", "21:00"]}
  - {id: report, questionnaire: q, type: event, keyword: AI}
"""


@pytest.fixture
def person(db, create_study, enroll_csv):
    study = create_study(PROTOCOL)
    csv = f"label,phone,timezone,start_date\nP1,{PHONE},America/New_York,2026-03-19\n"
    return enroll_csv(study, csv).created[0]


def _prompts(db, person, day=1) -> dict[str, PlannedPrompt]:
    """The day's prompts of `q`, by local time."""
    prompts = db.session.scalars(
        sa.select(PlannedPrompt).where(
            PlannedPrompt.participant_id == person.id,
            PlannedPrompt.questionnaire_id == "q",
            PlannedPrompt.study_day == day,
        )
    ).all()
    return {context.place_of(p.id, _definition(person)).local_time: p for p in prompts}


def _definition(person):
    return person.study.current_version.definition


def _beeps(db, person, day=1) -> dict[str, tuple]:
    definition = _definition(person)
    return {
        local: (place.beep, place.first_beep, place.last_beep)
        for local, prompt in _prompts(db, person, day).items()
        for place in [context.place_of(prompt.id, definition)]
    }


def test_beeps_count_across_the_questionnaires_planned_schedules(db, person):
    assert _beeps(db, person) == {
        "09:00": (1, True, False),
        "12:00": (2, False, False),
        "20:00": (3, False, True),
    }
    assert _beeps(db, person, day=2)["09:00"] == (1, True, False)


def test_the_rest_of_the_place(db, person):
    prompt = _prompts(db, person)["20:00"]
    place = context.place_of(prompt.id, _definition(person))
    # 2026-03-19 is a Thursday; 20:00 in New York.
    assert (place.study_day, place.local_time, place.weekday) == (1, "20:00", "thu")
    assert place.names() == {
        "beep": 3, "first_beep": False, "last_beep": True, "study_day": 1,
        "local_time": "20:00", "weekday": "thu",
    }  # fmt: skip


def test_cancelled_prompts_count_replaced_ones_do_not(db, person):
    prompts = _prompts(db, person)
    prompts["12:00"].status, prompts["12:00"].status_reason = PromptStatus.cancelled, "paused"
    prompts["20:00"].status, prompts["20:00"].status_reason = PromptStatus.cancelled, "superseded"
    db.session.flush()
    assert _beeps(db, person) == {
        "09:00": (1, True, False),
        "12:00": (2, False, True),
        "20:00": (None, None, None),  # replaced: never presented
    }


def test_prompts_due_at_once_are_ordered_by_id(db, person):
    prompts = _prompts(db, person)
    prompts["12:00"].due_at = prompts["09:00"].due_at
    db.session.flush()
    first, second = sorted((prompts["09:00"].id, prompts["12:00"].id))
    definition = _definition(person)
    assert context.place_of(first, definition).beep == 1
    assert context.place_of(second, definition).beep == 2


def test_reports_are_a_sequence_of_their_own(db, clock, phone, person):
    clock.set(_prompts(db, person)["12:00"].due_at + timedelta(minutes=90))  # 13:30
    phone.text("AI")
    clock.set(clock.now() + timedelta(hours=1))
    phone.text("AI")  # the first report is closed: a second one
    reports = db.session.scalars(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.schedule_id == "report")
        .order_by(PlannedPrompt.due_at)
    ).all()
    definition = _definition(person)
    places = [context.place_of(report.id, definition) for report in reports]
    assert [(p.beep, p.first_beep, p.last_beep) for p in places] == [
        (1, True, False),
        (2, False, True),
    ]
    assert places[0].local_time == "13:30"
    assert _beeps(db, person)["20:00"] == (3, False, True)  # planned ones unchanged


def test_the_place_takes_one_query(db, person, statements):
    prompt = _prompts(db, person)["12:00"]
    statements.clear()
    context.place_of(prompt.id, _definition(person))
    assert len(statements) == 1
