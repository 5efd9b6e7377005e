"""A schedule's own `window` takes the place of wake and sleep (issue 25): the preview says when
it puts prompts outside the waking hours, exactly when the planner does (blackouts, the
interval grid, weekend hours and waking days across midnight all count), and never otherwise."""

from __future__ import annotations

import json
from datetime import date

import yaml

from eas.scheduling.planner import plan_prompts
from eas.scheduling.preview import awake_at, build_preview, waking_warnings
from tests.scheduling.helpers import MONDAY, NY, clock, definition, subject, wall


def _warnings(protocol, wake="09:00", sleep="22:00", **weekend):
    times = {k: clock(v) for k, v in weekend.items()}
    return build_preview(
        protocol, start=MONDAY, zone=NY, wake=clock(wake), sleep=clock(sleep), **times
    ).warnings


def test_a_window_after_bedtime_warns_with_the_schedule_window_and_hours():
    diary = {"type": "random", "per_day": 1, "window": {"start": "21:00", "end": "21:30"}}
    protocol = definition(diary, days=3)
    (warning,) = _warnings(protocol, wake="07:00", sleep="20:00")
    assert (warning.schedule_id, warning.window, warning.waking_hours) == (
        "s0",
        "21:00-21:30",
        "07:00-20:00",
    )
    assert warning.prompts == 3 and warning.first_study_day == 1
    assert warning.first_local.startswith("Mon 02 Mar 2026 21:") and "EST" in warning.first_local
    assert "schedule 's0'" in warning.message and "21:00-21:30" in warning.message
    assert "07:00-20:00" in warning.message and "3 prompts fall outside" in warning.message
    assert _warnings(protocol, wake="07:00", sleep="21:30") == ()  # awake until it closes


def test_only_prompts_the_planner_puts_outside_count():
    # Random, partly before waking, but a blackout covers that part: no draw can fall there.
    covered = {
        "type": "random",
        "per_day": 2,
        "window": {"start": "06:00", "end": "12:00"},
        "blackouts": [{"start": "06:00", "end": "09:00"}],
    }
    assert _warnings(definition(covered)) == ()
    # Interval: the window runs past bedtime (21:05), but its grid from 08:00 stops at 21:00.
    grid = {"type": "interval", "every_minutes": 60, "window": {"start": "08:00", "end": "21:10"}}
    assert _warnings(definition(grid), wake="08:00", sleep="21:05") == ()
    (late,) = _warnings(definition(grid), wake="08:00", sleep="21:00")  # a window's end is out
    assert late.prompts == 7 and late.first_local.endswith("21:00 EST")
    # A schedule without a window draws in the waking hours: nothing to warn of.
    assert _warnings(definition({"type": "random", "per_day": 3})) == ()


def test_fixed_and_once_times_are_explicit_and_not_warned_of():
    """The planner never moves them for waking hours (protocols/README.md): only a window
    silently takes the place of wake and sleep."""
    protocol = definition(
        {"type": "fixed", "times": ["21:30"]}, {"type": "once", "day": 1, "time": "06:00"}
    )
    assert _warnings(protocol, wake="07:00", sleep="20:00") == ()


def test_weekend_hours_count_on_weekends_only():
    early = {"type": "interval", "every_minutes": 60, "window": {"start": "09:00", "end": "11:00"}}
    (warning,) = _warnings(
        definition(early), wake="08:00", sleep="22:00", weekend_wake="10:00", weekend_sleep="23:00"
    )
    # 09:00 on Saturday and Sunday, before the weekend's 10:00.
    assert warning.prompts == 2 and warning.first_local.startswith("Sat 07 Mar 2026 09:00")
    assert warning.waking_hours == "08:00-22:00, weekends 10:00-23:00"


def test_a_waking_day_across_midnight_covers_the_small_hours():
    night = {"type": "interval", "every_minutes": 60, "window": {"start": "02:00", "end": "05:00"}}
    protocol = definition(night, days=2)
    (warning,) = _warnings(protocol, wake="20:00", sleep="04:00")
    # 02:00 and 03:00 are in the night before's waking day; 04:00 is at its end, outside.
    assert warning.prompts == 2 and warning.first_local == "Mon 02 Mar 2026 04:00 EST"
    person = subject(wake="20:00", sleep="04:00")
    slots = plan_prompts(protocol, person)
    assert [wall(s).hour for s in slots if not awake_at(person, s.due_at)] == [4, 4]


def test_the_warning_counts_what_it_is_given():
    """Enrolment passes the prompts it stored: the same function, the same rule."""
    diary = {"type": "random", "per_day": 1, "window": {"start": "21:00", "end": "21:30"}}
    protocol = definition(diary, days=3)
    person = subject(wake="07:00", sleep="20:00")
    slots = plan_prompts(protocol, person)
    assert waking_warnings(protocol, person, []) == []
    (warning,) = waking_warnings(protocol, person, [(s.schedule_id, s.study_day, s.due_at)
                                                    for s in slots[1:]])  # fmt: skip
    assert warning.prompts == 2 and warning.first_study_day == 2


PROTOCOL = {
    "study": {"id": "t", "title": "T", "timezone": NY, "duration_days": 2},
    "questionnaires": [
        {"id": "q", "items": [{"id": "mood", "type": "scale", "min": 0, "max": 10, "text": "M"}]}
    ],
    "schedules": [
        {
            "id": "diary",
            "questionnaire": "q",
            "type": "random",
            "per_day": 1,
            "window": {"start": "21:00", "end": "21:30"},
        }
    ],
}


def test_the_preview_command_warns_in_every_format(runner, tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(PROTOCOL))
    args = ["schedule", "preview", str(path), "--start", str(date(2026, 3, 5)), "--sleep", "20:00"]
    table = runner.invoke(args=args)
    assert table.exit_code == 0, table.output
    assert "warning: schedule 'diary' prompts in its own window 21:00-21:30" in table.stdout
    assert "the waking hours 09:00-20:00: 2 prompts fall outside" in table.stdout
    as_json = json.loads(runner.invoke(args=[*args, "--format", "json"]).stdout)
    (warning,) = as_json["warnings"]
    assert warning["schedule"] == "diary" and warning["prompts"] == 2
    assert warning["waking_hours"] == "09:00-20:00" and warning["window"] == "21:00-21:30"
    as_csv = runner.invoke(args=[*args, "--format", "csv"])
    assert "warning" not in as_csv.stdout and len(as_csv.stdout.splitlines()) == 3
    assert "warning: schedule 'diary'" in as_csv.stderr
    quiet = runner.invoke(args=[*args[:-2], "--format", "json"])  # awake until 22:00
    assert json.loads(quiet.stdout)["warnings"] == []
