"""Beeps belong to the questionnaire and the participant's day, not to the schedule (issue 22):
several schedules feeding one questionnaire make one sequence of beeps a day, which the lags,
person means, compliance per beep and the wide tables follow; reports the participant starts
make a sequence of their own."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from frictionless import validate

from eas.export.operations import export_study
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.helpers import PHONE
from tests.sms.helpers import Phone

#: One check-in questionnaire fed by four one-beep random schedules in their own windows, a
#: fixed one between them, and a report the participant texts NOTE to start.
BLOCKS = """\
study: {id: blocks, title: Blocks, timezone: America/New_York, duration_days: 2}
participant_defaults: {wake: "09:00", sleep: "22:00", channel: sms}
questionnaires:
  - id: checkin
    items:
      - {id: mood, type: scale, min: 0, max: 10, text: Mood}
schedules:
  - {id: block1, questionnaire: checkin, type: random, per_day: 1, expires_after_minutes: 20,
     window: {start: "09:00", end: "10:30"}}
  - {id: block2, questionnaire: checkin, type: random, per_day: 1, expires_after_minutes: 20,
     window: {start: "10:30", end: "12:00"}}
  - {id: noon, questionnaire: checkin, type: fixed, times: ["12:30"], expires_after_minutes: 20}
  - {id: block3, questionnaire: checkin, type: random, per_day: 1, expires_after_minutes: 20,
     window: {start: "13:00", end: "14:30"}}
  - {id: block4, questionnaire: checkin, type: random, per_day: 1, expires_after_minutes: 20,
     window: {start: "14:30", end: "16:00"}}
  - {id: note, questionnaire: checkin, type: event, keyword: NOTE, expires_after_minutes: 20}
"""
PLANNED = ("block1", "block2", "noon", "block3", "block4")


def _read(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _ten_blocks() -> str:
    """The issue's design: one beep per 90-minute block, written as ten one-beep schedules."""
    schedules = []
    for block in range(10):
        start, end = 7 * 60 + block * 90, 7 * 60 + (block + 1) * 90
        schedules.append(
            f"  - {{id: b{block + 1:02d}, questionnaire: checkin, type: random, per_day: 1, "
            f'window: {{start: "{start // 60:02d}:{start % 60:02d}", '
            f'end: "{end // 60:02d}:{end % 60:02d}"}}}}\n'
        )
    head = BLOCKS.split("schedules:\n", 1)[0].replace("duration_days: 2", "duration_days: 5")
    return head + "schedules:\n" + "".join(schedules)


@pytest.fixture
def blocks_participant(db, create_study, enroll_csv):
    study = create_study(BLOCKS)
    csv_text = f"label,phone,timezone,start_date\nB1,{PHONE},America/New_York,2026-03-19\n"
    return enroll_csv(study, csv_text).created[0]


def _next_planned(db, participant, after):
    return db.session.scalar(
        sa.select(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.status == PromptStatus.scheduled,
            PlannedPrompt.due_at > after,
        )
        .order_by(PlannedPrompt.due_at, PlannedPrompt.id)
        .limit(1)
    )


@pytest.fixture
def day_one(db, clock, client, twilio_config, blocks_participant, dispatcher):
    """Day 1 answered: the planned check-ins with moods 1, 2, 3, 4, 5 in due order, and a
    report (mood 9) texted right after the first; day 2 goes unanswered."""
    phone = Phone(client)
    participant = blocks_participant
    moods = iter(range(1, 6))
    while True:
        prompt = _next_planned(db, participant, clock.now())
        if prompt is None or prompt.study_day != 1:
            break
        clock.set(prompt.due_at + timedelta(seconds=1))
        dispatcher.tick()
        phone.text(str(next(moods)))
        if prompt.schedule_id == "block1":
            clock.advance(timedelta(minutes=2))
            phone.text("NOTE")
            phone.text("9")
    clock.set(clock.now() + timedelta(days=2))  # day 2 closes unanswered
    dispatcher.tick()
    return participant


def _export(participant, clock, folder: Path) -> Path:
    export_study(participant.study, folder, now=clock.now(), wide=True)
    return folder


def test_several_schedules_of_one_questionnaire_make_one_sequence_of_beeps(
    db, clock, day_one, tmp_path
):
    folder = _export(day_one, clock, tmp_path / "out")
    prompts = _read(folder, "prompts")
    planned = [p for p in prompts if p["schedule"] in PLANNED]
    assert len(planned) == 10
    for day in ("1", "2"):
        that_day = sorted(
            (p for p in planned if p["study_day"] == day),
            key=lambda p: (p["scheduled_utc"], int(p["prompt_id"])),
        )
        assert [p["beep"] for p in that_day] == ["1", "2", "3", "4", "5"]
        assert [p["schedule"] for p in that_day] == list(PLANNED)  # which schedule planned it
    # The report is a sequence of its own: beep 1, and no planned beep moved for it.
    (report,) = [p for p in prompts if p["schedule"] == "note"]
    assert (report["study_day"], report["beep"]) == ("1", "1")

    wide = _read(folder, "responses_wide_checkin")
    planned_ids = {p["prompt_id"] for p in planned}
    keys = Counter((r["id"], r["day"], r["beep"]) for r in wide if r["prompt_id"] in planned_ids)
    assert len(keys) == 10 and set(keys.values()) == {1}
    day1 = sorted(
        (r for r in wide if r["prompt_id"] in planned_ids and r["day"] == "1"),
        key=lambda r: int(r["beep"]),
    )
    assert [r["mood"] for r in day1] == ["1", "2", "3", "4", "5"]


def test_lags_and_person_means_follow_the_questionnaire_not_the_schedule(
    db, clock, day_one, tmp_path
):
    folder = _export(day_one, clock, tmp_path / "out")
    schedule = {p["prompt_id"]: p["schedule"] for p in _read(folder, "prompts")}
    moods = [r for r in _read(folder, "responses") if r["item"] == "mood"]
    planned = sorted(
        (r for r in moods if schedule[r["prompt_id"]] in PLANNED and r["study_day"] == "1"),
        key=lambda r: int(r["beep"]),
    )
    assert [(r["beep"], r["value_numeric"], r["lag1"]) for r in planned] == [
        ("1", "1", ""),
        ("2", "2", "1"),  # from the previous block's prompt (another schedule), not the report
        ("3", "3", "2"),
        ("4", "4", "3"),
        ("5", "5", "4"),
    ]
    assert all(float(r["lag1_gap_minutes"]) > 0 for r in planned[1:])
    # Planned prompts pool across schedules; the report is apart.
    assert {float(r["person_mean"]) for r in planned} == {3.0}
    assert [float(r["person_centred"]) for r in planned] == [-2, -1, 0, 1, 2]
    (report,) = [r for r in moods if schedule[r["prompt_id"]] == "note"]
    assert (report["beep"], report["lag1"], report["person_mean"]) == ("1", "", "9")


def test_compliance_beeps_are_per_questionnaire_and_beep(db, clock, day_one, tmp_path):
    folder = _export(day_one, clock, tmp_path / "out")
    beeps = _read(folder, "compliance_beeps")
    assert [(b["questionnaire"], b["beep"], b["planned"], b["completed"]) for b in beeps] == [
        ("checkin", str(beep), "2", "1") for beep in range(1, 6)
    ]
    assert "schedule" not in beeps[0]
    package = json.loads((folder / "datapackage.json").read_text())
    resources = {r["name"]: r for r in package["resources"]}
    assert resources["compliance_beeps"]["schema"]["primaryKey"] == ["questionnaire", "beep"]
    report = validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_ten_one_beep_schedules_give_beeps_one_to_ten(
    db, clock, create_study, enroll_csv, dispatcher, tmp_path
):
    """The issue's own design, five days, nothing sent (the dispatcher finds them expired)."""
    study = create_study(_ten_blocks())
    csv_text = f"label,phone,timezone,start_date\nT1,{PHONE},America/New_York,2026-03-19\n"
    enroll_csv(study, csv_text)
    clock.advance(timedelta(days=8))
    dispatcher.tick()
    folder = tmp_path / "out"
    export_study(study, folder, now=clock.now(), wide=True)
    prompts = _read(folder, "prompts")
    by_day: dict[str, list[tuple]] = {}
    for p in prompts:
        by_day.setdefault(p["study_day"], []).append((p["scheduled_utc"], p["beep"]))
    assert sorted(by_day) == ["1", "2", "3", "4", "5"]
    for planned in by_day.values():
        assert [beep for _, beep in sorted(planned)] == [str(b) for b in range(1, 11)]
    wide = _read(folder, "responses_wide_checkin")
    keys = Counter((r["id"], r["day"], r["beep"]) for r in wide)
    assert len(wide) == 50 and set(keys.values()) == {1}
    assert len(_read(folder, "compliance_beeps")) == 10
    report = validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]


def test_a_pause_and_resume_leaves_the_beeps_as_they_were(db, clock, blocks_participant, tmp_path):
    """Paused, a day's prompts are cancelled; resumed, they are planned again as new revisions
    of the same slots: the cancelled revisions are replaced, neither beeps nor compliance."""
    from eas.participants.lifecycle import pause, resume
    from eas.responses.context import place_of

    participant = blocks_participant
    clock.set(clock.now().replace(year=2026, month=3, day=19, hour=12, minute=0))  # 08:00 day 1
    pause(participant, clock.now(), actor="test")
    clock.advance(timedelta(minutes=30))
    resume(participant, clock.now(), actor="test")
    db.session.flush()
    day = db.session.scalars(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == participant.id, PlannedPrompt.study_day == 1)
        .order_by(PlannedPrompt.due_at)
    ).all()
    assert {p.revision for p in day} == {0, 1}  # every slot twice: paused, then planned again
    definition = participant.study.current_version.definition
    beeps = [place_of(p.id, definition).beep for p in day if p.revision == 1]
    assert beeps == [1, 2, 3, 4, 5]
    folder = _export(participant, clock, tmp_path / "export")
    exported = [
        int(row["beep"])
        for row in _read(folder, "prompts")
        if row["study_day"] == "1" and row["beep"]
    ]
    assert exported == [1, 2, 3, 4, 5]
    assert {row["beep"] for row in _read(folder, "compliance_beeps")} == {"1", "2", "3", "4", "5"}
