"""Does a random schedule fit the waking day? (eas/scheduling/fit.py, protocol validation and
the planner's refusal)

Failure 6 of ../shared/reference/ema.md section 1: an impossible minimum gap (per_day x gap
longer than the window) must be refused up front or raise, never become dropped prompts. Also
windows across midnight (failure 7) and blackouts, which take time out of the day.
"""

from __future__ import annotations

import json
from datetime import time

import pytest

from eas.protocols.validation import ProtocolInvalid, validate_protocol_text
from eas.scheduling.fit import random_fit_problem, window_overlap_problem
from eas.scheduling.planner import Group, PlanningError, plan_prompts
from tests.scheduling.helpers import NY, QUESTIONNAIRE, definition, subject, wall


def schedule(per_day: int, gap: int = 0, **more) -> dict:
    return {"id": "b", "questionnaire": "q", "type": "random", "per_day": per_day,
            "min_gap_minutes": gap, **more}  # fmt: skip


def test_a_schedule_that_fits_has_no_problem():
    """Failure 6, the other way: a schedule that fits exactly is not refused."""
    assert random_fit_problem(schedule(5, 90), time(9), time(22)) is None
    assert random_fit_problem(schedule(13, 60), time(9), time(22)) is None  # exactly 780
    assert random_fit_problem(schedule(4, 120), time(20), time(4)) is None  # across midnight
    assert random_fit_problem(schedule(8, 180), time(9), time(9)) is None  # a 24-hour day


def test_too_short_a_day_is_explained():
    """Failure 6: the sentence names the need, the day and the time there is."""
    assert random_fit_problem(schedule(8, 120), time(9), time(21)) == (
        "8 prompts at least 120 minutes apart need 960 minutes, "
        "but on Mondays the waking day 09:00-21:00 has 720 minutes"
    )
    assert random_fit_problem(schedule(5, 60), time(22), time(2)) == (
        "5 prompts at least 60 minutes apart need 300 minutes, "
        "but on Mondays the waking day 22:00-02:00 has 240 minutes"
    )


def test_more_prompts_than_minutes_is_a_problem_even_without_a_gap():
    """Failure 6 with min_gap 0: one whole minute per prompt, or the blocks would be empty."""
    problem = random_fit_problem(
        schedule(40, window={"start": "10:00", "end": "10:30"}), time(9), time(22)
    )
    assert problem == (
        "40 prompts need a minute each, but on Mondays the window 10:00-10:30 has 30 minutes"
    )


def test_weekend_windows_are_considered():
    """Weekend waking days count: a schedule fitting 09:00-22:00 can fail on a short Saturday,
    unless it does not run on weekends."""
    short_weekend = (time(9), time(22), time(14), time(18))
    assert random_fit_problem(schedule(5, 60), *short_weekend) == (
        "5 prompts at least 60 minutes apart need 300 minutes, "
        "but on Saturdays the waking day 14:00-18:00 has 240 minutes"
    )
    weekdays = ["mon", "tue", "wed", "thu", "fri"]
    assert random_fit_problem(schedule(5, 60, weekdays=weekdays), *short_weekend) is None
    long_weekend = (time(9), time(12), time(8), time(23))
    assert random_fit_problem(schedule(5, 60, weekdays=["sat", "sun"]), *long_weekend) is None
    assert "on Mondays" in random_fit_problem(schedule(5, 60), *long_weekend)


def test_blackouts_are_considered_by_weekday():
    """Blackouts take their time out of the day they apply to, and are named in the message."""
    school = [{"start": "08:00", "end": "15:00", "weekdays": ["wed"]}]
    assert random_fit_problem(schedule(5, 90, blackouts=school), time(7), time(21)) == (
        "5 prompts at least 90 minutes apart need 450 minutes, "
        "but on Wednesdays the waking day 07:00-21:00 minus blackouts has 420 minutes"
    )
    assert random_fit_problem(schedule(4, 90, blackouts=school), time(7), time(21)) is None


def test_validation_refuses_an_impossible_gap():
    """Failure 6 at the protocol level: validation reports the schedule's per_day, naming the
    participant defaults (including the weekend ones) it was checked against."""
    doc = {
        "study": {"id": "t", "title": "T", "timezone": NY, "duration_days": 7},
        "participant_defaults": {"wake": "09:00", "sleep": "22:00",
                                 "weekend_wake": "12:00", "weekend_sleep": "20:00"},
        "questionnaires": [QUESTIONNAIRE],
        "schedules": [schedule(6, 90)],
    }  # fmt: skip
    with pytest.raises(ProtocolInvalid) as info:
        validate_protocol_text(json.dumps(doc), "p.yaml")
    [error] = info.value.errors
    assert error.path == "schedules[0].per_day"
    assert error.message == (
        "6 prompts at least 90 minutes apart need 540 minutes, but on Saturdays the default "
        "waking day (participant_defaults) 12:00-20:00 has 480 minutes"
    )
    doc["schedules"] = [schedule(6, 80)]
    assert validate_protocol_text(json.dumps(doc), "p.yaml").definition["schedules"][0]["per_day"]


def test_a_window_across_midnight_must_end_before_the_next_opens():
    """Failure 7: a waking day that crosses midnight may not run into the next day's window
    (weekday into Saturday, Sunday into Monday); validation says which days collide."""
    assert window_overlap_problem(time(22), time(6)) is None
    assert window_overlap_problem(time(9), time(9)) is None  # exactly 24 hours
    assert window_overlap_problem(time(3, 30), time(19, 30), time(9), time(4)) == (
        "the Sunday waking day 09:00-04:00 runs past the Monday wake time 03:30"
    )
    assert window_overlap_problem(time(20), time(8), time(7), time(23)) == (
        "the Friday waking day 20:00-08:00 runs past the Saturday wake time 07:00"
    )
    doc = {
        "study": {"id": "t", "title": "T", "timezone": NY, "duration_days": 7},
        "participant_defaults": {"wake": "03:30", "sleep": "19:30",
                                 "weekend_wake": "09:00", "weekend_sleep": "04:00"},
        "questionnaires": [QUESTIONNAIRE],
        "schedules": [schedule(3)],
    }  # fmt: skip
    with pytest.raises(ProtocolInvalid) as info:
        validate_protocol_text(json.dumps(doc), "p.yaml")
    assert [error.path for error in info.value.errors] == ["participant_defaults.sleep"]


def test_impossible_gap_in_a_participants_own_window_raises():
    """Failure 6 (PACO silently drops prompts): a participant whose own waking day is too short
    for per_day x min_gap gets a PlanningError, never fewer prompts."""
    protocol = definition({"type": "random", "per_day": 5, "min_gap_minutes": 90})
    with pytest.raises(PlanningError, match=r"5 prompts 90 minutes apart do not fit .*\(180 "):
        plan_prompts(protocol, subject(wake="09:00", sleep="12:00"))


def test_group_without_enough_shared_time_raises():
    """Failure 6 for groups: when the members' shared waking time is too short the planner
    raises, it never plans fewer or unshared prompts."""
    protocol = definition({"type": "random", "per_day": 3, "min_gap_minutes": 60})
    members = (
        subject(NY, wake="09:00", sleep="13:00"),
        subject("Europe/London", wake="09:00", sleep="16:00"),
    )
    with pytest.raises(PlanningError, match="group's shared waking time"):
        plan_prompts(protocol, members[0], Group(seed=1, members=members))
    # Shared: 14:00-16:00 UTC (09:00-11:00 in New York), 120 minutes for 3 x 60. Until 17:00
    # London time it is 180 minutes, enough.
    ok = (
        subject(NY, wake="09:00", sleep="13:00"),
        subject("Europe/London", wake="09:00", sleep="17:00"),
    )
    assert len(plan_prompts(protocol, ok[1], Group(seed=1, members=ok))) == 21


OVERNIGHT_BLACKOUT = [{"start": "22:00", "end": "07:00"}]


def test_fit_counts_a_blackout_across_midnight():
    """A blackout from 22:00 to 07:00 leaves only 07:00-10:00 of a 06:00-10:00 window: three
    prompts 70 minutes apart (210) do not fit the 180 minutes left."""
    problem = random_fit_problem(schedule(3, 70, blackouts=OVERNIGHT_BLACKOUT), time(6), time(10))
    assert problem is not None


def test_no_random_prompt_inside_a_blackout_across_midnight():
    """Blackouts are never violated: with a 22:00-07:00 blackout and a 06:00-21:00 window, no
    prompt may be due between 06:00 and 07:00."""
    protocol = definition(
        {"type": "random", "per_day": 3, "window": {"start": "06:00", "end": "21:00"},
         "blackouts": OVERNIGHT_BLACKOUT},
        days=28,
    )  # fmt: skip
    plan = plan_prompts(protocol, subject())
    assert all(wall(s).time() >= time(7) for s in plan)
