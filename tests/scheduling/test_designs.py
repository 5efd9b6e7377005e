"""Designs published EMA studies use (issue 22): times relative to each participant's day,
explicit blocks in one random schedule, interval caps, and random draws that keep clear of
fixed prompts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eas.scheduling.planner import Group, PlanningError, plan_prompts
from tests.scheduling.helpers import MONDAY, NY, by_day, definition, subject, wall

ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kathmandu", "Pacific/Auckland", "UTC"]
#: Days around New York's spring-forward (8 March 2026) and Berlin's (29 March).
STARTS = [date(2026, 3, 2), date(2026, 3, 6), date(2026, 3, 27), date(2026, 10, 30)]


def _sent(plan):
    return [slot for slot in plan if slot.cancel_reason is None]


# Bug 3: a random draw on a fixed prompt's instant cancelled it ------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), zone=st.sampled_from(ZONES), start=st.sampled_from(STARTS))
def test_random_draws_keep_their_gap_from_a_fixed_diary(seed, zone, start):
    protocol = definition(
        {
            "type": "random",
            "per_day": 8,
            "min_gap_minutes": 60,
            "window": {"start": "07:00", "end": "23:00"},
            "expires_after_minutes": 30,
        },
        {"type": "fixed", "times": ["22:15"]},
        days=10,
        defaults={"wake": "07:00", "sleep": "23:30"},
    )
    plan = plan_prompts(protocol, subject(zone, start, "07:00", "23:30", seed=seed))
    assert not [slot for slot in plan if slot.cancel_reason], "no prompt is lost"
    for day, slots in by_day(plan).items():
        diary = [s for s in slots if s.schedule_id == "s1"]
        assert len(diary) == 1, day
        draws = [s for s in slots if s.schedule_id == "s0"]
        assert len(draws) == 8, day
        for draw in draws:
            assert abs(draw.due_at - diary[0].due_at) >= timedelta(minutes=60), (day, draw)


def test_a_draw_that_lands_on_the_diary_instant_is_avoided_not_cancelled():
    """Without a gap, a draw could still fall on the diary's instant: before the fix, the
    overlap rule then cancelled one of the two (this failed for several of these seeds)."""
    protocol = definition(
        {"type": "random", "per_day": 8, "window": {"start": "07:00", "end": "23:00"}},
        {"type": "fixed", "times": ["22:15"]},
        days=30,
    )
    for seed in range(40):
        plan = plan_prompts(protocol, subject(seed=seed))
        assert all(slot.cancel_reason is None for slot in plan), seed
        instants = [slot.due_at for slot in plan]
        assert len(instants) == len(set(instants)), seed


def test_two_random_sms_schedules_never_draw_the_same_instant():
    protocol = definition(
        {"type": "random", "per_day": 12, "window": {"start": "09:00", "end": "10:00"}},
        {"type": "random", "per_day": 12, "window": {"start": "09:00", "end": "10:00"}},
        days=20,
    )
    for seed in range(10):
        plan = plan_prompts(protocol, subject(seed=seed))
        assert all(slot.cancel_reason is None for slot in plan), seed


def test_a_web_random_schedule_is_not_moved_by_sms_prompts():
    alone = definition({"type": "random", "per_day": 4, "channel": "web"}, days=3)
    mixed = definition(
        {"type": "random", "per_day": 4, "channel": "web"},
        {"type": "fixed", "times": ["12:00", "15:00"]},
        days=3,
    )
    draws = [s.due_at for s in plan_prompts(alone, subject())]
    assert draws == [s.due_at for s in plan_prompts(mixed, subject()) if s.schedule_id == "s0"]


# Times relative to each participant's day ---------------------------------------------------


def test_fixed_times_relative_to_wake_and_sleep_follow_each_participant():
    protocol = definition({"type": "fixed", "times": ["wake+30m", "sleep-1h"]}, days=2)
    early = plan_prompts(protocol, subject(wake="06:00", sleep="21:00"))
    late = plan_prompts(protocol, subject(wake="10:15", sleep="23:45"))
    assert [wall(s).strftime("%H:%M") for s in early] == ["06:30", "20:00"] * 2
    assert [wall(s).strftime("%H:%M") for s in late] == ["10:45", "22:45"] * 2
    assert {s.occurrence for s in early} == {
        "2026-03-02@wake+30m",
        "2026-03-02@sleep-60m",
        "2026-03-03@wake+30m",
        "2026-03-03@sleep-60m",
    }


def test_relative_times_use_weekend_hours_and_a_sleep_after_midnight():
    protocol = definition({"type": "fixed", "times": ["wake+1h", "sleep-30m"]}, days=7)
    person = subject(wake="08:00", sleep="01:00", weekend_wake="10:00", weekend_sleep="02:00")
    plan = plan_prompts(protocol, person)
    saturday = [s for s in plan if s.local_date == date(2026, 3, 7)]
    assert [wall(s) for s in saturday] == [datetime(2026, 3, 7, 11), datetime(2026, 3, 8, 1, 30)]
    monday = [s for s in plan if s.local_date == MONDAY]
    assert [wall(s) for s in monday] == [datetime(2026, 3, 2, 9), datetime(2026, 3, 3, 0, 30)]
    assert all(s.study_day == 1 for s in monday)


def test_an_interval_from_waking_with_a_cap_per_day():
    protocol = definition(
        {
            "type": "interval",
            "every_minutes": 120,
            "window": {"start": "wake+30m", "end": "sleep"},
            "max_per_day": 5,
        },
        days=2,
    )
    plan = plan_prompts(protocol, subject(wake="07:10", sleep="23:00"))
    first_day = [wall(s).strftime("%H:%M") for s in plan if s.study_day == 1]
    assert first_day == ["07:40", "09:40", "11:40", "13:40", "15:40"]


def test_a_random_window_relative_to_wake_and_sleep():
    protocol = definition(
        {"type": "random", "per_day": 3, "window": {"start": "wake+60m", "end": "sleep-60m"}},
        days=7,
    )
    person = subject(wake="07:00", sleep="22:00")
    for slot in plan_prompts(protocol, person):
        assert "08:00" <= wall(slot).strftime("%H:%M") < "21:00"


# Explicit blocks ---------------------------------------------------------------------------


BLOCKS = [
    {
        "start": f"{9 + (i * 90) // 60:02d}:{(i * 90) % 60:02d}",
        "end": f"{9 + ((i + 1) * 90) // 60:02d}:{((i + 1) * 90) % 60:02d}",
    }
    for i in range(8)
]  # 09:00-10:30, 10:30-12:00, ... 19:30-21:00


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    zone=st.sampled_from(ZONES),
    start=st.sampled_from(STARTS),
    gap=st.sampled_from([0, 15, 30]),
)
def test_one_beep_per_block_with_the_gap_kept_across_blocks(seed, zone, start, gap):
    protocol = definition(
        {"type": "random", "blocks": BLOCKS, "min_gap_minutes": gap, "expires_after_minutes": 15},
        days=5,
    )
    plan = plan_prompts(protocol, subject(zone, start, "08:00", "22:00", seed=seed))
    for day, slots in by_day(plan).items():
        assert [s.occurrence for s in slots] == [f"{day.isoformat()}#{n}" for n in range(1, 9)]
        for slot, block in zip(slots, BLOCKS, strict=True):
            local_time = wall(slot, zone).strftime("%H:%M")
            assert block["start"] <= local_time < block["end"], (slot, block)
        for before, after in pairwise(slots):
            assert after.due_at - before.due_at >= timedelta(minutes=max(gap, 1))


def test_blocks_with_several_prompts_and_a_relative_block():
    protocol = definition(
        {
            "type": "random",
            "min_gap_minutes": 20,
            "blocks": [
                {"start": "wake", "end": "wake+2h", "prompts": 2},
                {"start": "12:00", "end": "14:00"},
                {"start": "sleep-3h", "end": "sleep", "prompts": 3},
            ],
        },
        days=3,
    )
    plan = plan_prompts(protocol, subject(wake="07:00", sleep="23:00"))
    day = [wall(s).strftime("%H:%M") for s in plan if s.study_day == 2]
    assert len(day) == 6
    assert all("07:00" <= t < "09:00" for t in day[:2])
    assert "12:00" <= day[2] < "14:00"
    assert all("20:00" <= t < "23:00" for t in day[3:])


def test_group_members_share_block_draws():
    protocol = definition({"type": "random", "blocks": BLOCKS[:3]}, days=3)
    members = (subject(NY, seed=1), subject(NY, seed=2, wake="08:30"))
    group = Group(seed=9, members=members)
    first, second = (plan_prompts(protocol, m, group) for m in members)
    assert [s.due_at for s in first] == [s.due_at for s in second]


def test_a_block_that_cannot_hold_its_prompts_is_a_planning_error():
    protocol = definition(
        {
            "type": "random",
            "blocks": [{"start": "wake", "end": "wake+3h", "prompts": 2}],
            "min_gap_minutes": 60,
        },
        days=1,
    )
    plan_prompts(protocol, subject())
    narrow = definition(
        {
            "type": "random",
            "blocks": [{"start": "sleep-30m", "end": "sleep", "prompts": 1}],
            "blackouts": [{"start": "21:00", "end": "22:30"}],
        },
        days=1,
        defaults={"wake": "09:00", "sleep": "23:30"},
    )
    with pytest.raises(PlanningError, match="block 1"):
        plan_prompts(narrow, subject(sleep="22:00"))


def test_draws_in_a_window_across_midnight_keep_clear_of_the_next_dates_fixed_prompt():
    """A fixed 01:00 diary falls inside the previous evening's 23:00-02:00 window: the draws of
    that evening keep their gap from it (they looked only at their own date before)."""
    protocol = definition(
        {
            "type": "random",
            "per_day": 2,
            "min_gap_minutes": 30,
            "expires_after_minutes": 30,
            "window": {"start": "23:00", "end": "02:00"},
        },
        {"type": "fixed", "times": ["01:00"], "expires_after_minutes": 30},
        days=30,
        defaults={"wake": "12:00", "sleep": "02:00"},
    )
    for seed in range(20):
        plan = plan_prompts(protocol, subject(wake="12:00", sleep="02:00", seed=seed))
        assert not [slot for slot in plan if slot.cancel_reason], seed
        diaries = [slot.due_at for slot in plan if slot.schedule_id == "s1"]
        for slot in plan:
            if slot.schedule_id == "s0":
                assert all(abs(slot.due_at - d) >= timedelta(minutes=30) for d in diaries), seed


def test_a_group_gets_its_days_per_week_among_the_allowed_weekdays():
    """Drawn from all seven dates and then filtered by weekdays, a couple got fewer days than
    asked for in most weeks."""
    protocol = definition(
        {"type": "random", "per_day": 1, "days_per_week": 2, "weekdays": ["sat", "sun"]},
        days=28,
    )
    members = (subject(NY, seed=1), subject(NY, seed=2))
    plan = plan_prompts(protocol, members[0], Group(seed=4, members=members))
    weeks: dict[int, int] = {}
    for slot in plan:
        weeks[(slot.study_day - 1) // 7] = weeks.get((slot.study_day - 1) // 7, 0) + 1
    assert weeks == {0: 2, 1: 2, 2: 2, 3: 2}
