"""Local wall-clock time on the days the clocks change (eas/scheduling/localtime.py), the
planner's prompts on those days, and waking windows across midnight.

Failure modes 1-4 and 7 of ../shared/reference/ema.md section 1: wall-clock times stored as
fixed offsets, "+24 h" day arithmetic, nonexistent and repeated local times, duplicates around
DST, windows across midnight and blocks spanning days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from eas.protocols.validation import ProtocolInvalid
from eas.scheduling.localtime import local, local_date_of, to_utc, window_bounds
from eas.scheduling.planner import PlanningError, plan_prompts
from tests.scheduling.helpers import MONDAY, NY, by_day, definition, subject, wall

SPRING_NY, FALL_NY = date(2026, 3, 8), date(2026, 11, 1)

#: (zone, date, local time in the gap, the wall-clock time it becomes)
GAPS = [
    (NY, SPRING_NY, "02:30", "03:30"),
    ("Europe/London", date(2026, 3, 29), "01:30", "02:30"),
    ("Europe/Berlin", date(2026, 3, 29), "02:30", "03:30"),
    ("Australia/Lord_Howe", date(2026, 10, 4), "02:10", "02:40"),
    ("Pacific/Chatham", date(2026, 9, 27), "03:00", "04:00"),
    ("America/Santiago", date(2026, 9, 6), "00:30", "01:30"),
    ("Pacific/Auckland", date(2026, 9, 27), "02:30", "03:30"),
]
#: (zone, date, a local time that happens twice, the UTC offset of its first occurrence)
REPEATS = [
    (NY, FALL_NY, "01:30", timedelta(hours=-4)),
    ("Europe/London", date(2026, 10, 25), "01:30", timedelta(hours=1)),
    ("Europe/Berlin", date(2026, 10, 25), "02:30", timedelta(hours=2)),
    ("Australia/Lord_Howe", date(2026, 4, 5), "01:45", timedelta(hours=11)),
    ("Pacific/Chatham", date(2026, 4, 5), "03:00", timedelta(hours=13, minutes=45)),
    ("America/Santiago", date(2026, 4, 4), "23:30", timedelta(hours=-3)),
    ("Pacific/Auckland", date(2026, 4, 5), "02:30", timedelta(hours=13)),
]
TRANSITION_DAYS = [(zone, day) for zone, day, *_ in GAPS + REPEATS]


@pytest.mark.parametrize(("zone", "day", "text", "becomes"), GAPS)
def test_a_nonexistent_time_shifts_forward_by_the_gap(zone, day, text, becomes):
    """Failure 3: 02:30 on a spring-forward night is 03:30 (the gap's length later), in every
    zone, including 30-minute (Lord Howe) and midnight (Santiago) transitions."""
    moment = to_utc(day, time.fromisoformat(text), zone)
    assert moment.tzinfo is UTC
    assert wall(moment, zone) == datetime.combine(day, time.fromisoformat(becomes))


@pytest.mark.parametrize(("zone", "day", "text", "offset"), REPEATS)
def test_a_repeated_time_means_its_first_occurrence(zone, day, text, offset):
    """Failure 3: 01:30 on a fall-back night means the first 01:30 (still summer time)."""
    moment = to_utc(day, time.fromisoformat(text), zone)
    assert moment == datetime.combine(day, time.fromisoformat(text), UTC) - offset
    assert local(moment, zone).utcoffset() == offset
    assert local(moment, zone).fold == 0


@pytest.mark.parametrize(("zone", "day"), TRANSITION_DAYS)
def test_every_minute_of_a_transition_day_follows_the_two_rules(zone, day):
    """Failure 3, exhaustively: the real instants of the day (walked in UTC) say which wall
    times exist; an existing time maps to its first instant, a missing one to the gap later."""
    tz = ZoneInfo(zone)
    moment = datetime.combine(day, time(0), UTC) - timedelta(hours=15)
    instants: dict[datetime, datetime] = {}
    while moment < datetime.combine(day, time(0), UTC) + timedelta(hours=40):
        instants.setdefault(moment.astimezone(tz).replace(tzinfo=None), moment)
        moment += timedelta(minutes=1)
    for minute in range(24 * 60):
        naive = datetime.combine(day, time(0)) + timedelta(minutes=minute)
        got = to_utc(day, naive.time(), zone)
        if naive in instants:
            assert got == instants[naive], naive
        else:
            before = (naive - timedelta(hours=4)).replace(tzinfo=tz).utcoffset()
            assert got == naive.replace(tzinfo=UTC) - before, naive


def test_window_bounds_across_midnight_and_real_lengths():
    """Failure 2 and 7: a window whose end is at or before its start closes the next day, and
    its length is the real time that passes (23 h / 25 h over the transitions)."""
    opens, closes = window_bounds(date(2026, 3, 2), time(20), time(4), NY)
    assert (wall(opens), wall(closes)) == (datetime(2026, 3, 2, 20), datetime(2026, 3, 3, 4))
    spring = window_bounds(date(2026, 3, 7), time(12), time(12), NY)
    fall = window_bounds(date(2026, 10, 31), time(12), time(12), NY)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert fall[1] - fall[0] == timedelta(hours=25)
    night = window_bounds(SPRING_NY - timedelta(days=1), time(22), time(6), NY)
    assert night[1] - night[0] == timedelta(hours=7)
    lord_howe = window_bounds(date(2026, 4, 5), time(0), time(6), "Australia/Lord_Howe")
    assert lord_howe[1] - lord_howe[0] == timedelta(hours=6, minutes=30)


def test_local_date_of():
    """Failure 8: the local date of an instant is the participant's, not UTC's."""
    moment = datetime(2026, 3, 3, 2, 30, tzinfo=UTC)
    assert local_date_of(moment, NY) == date(2026, 3, 2)
    assert local_date_of(moment, "Asia/Kathmandu") == date(2026, 3, 3)
    assert local_date_of(moment, "UTC") == date(2026, 3, 3)


@pytest.mark.parametrize(
    ("start", "change"), [(date(2026, 3, 2), SPRING_NY), (date(2026, 10, 26), FALL_NY)]
)
def test_a_fixed_time_stays_put_across_dst(start, change):
    """Failure 1 (a wall-clock time stored as UTC or a fixed offset moves an hour at DST): a
    09:00 prompt is at 09:00 local before and after the change, in both directions; the UTC
    hour moves instead."""
    plan = plan_prompts(
        definition({"type": "fixed", "times": ["09:00"]}, days=14), subject(start=start)
    )
    assert [wall(s).time() for s in plan] == [time(9)] * 14
    hours = {s.local_date < change: s.due_at.hour for s in plan}
    assert hours == ({True: 14, False: 13} if change == SPRING_NY else {True: 13, False: 14})


@pytest.mark.parametrize(
    ("zone", "start", "changes"),
    [
        (NY, date(2026, 3, 5), {SPRING_NY: 23}),
        (NY, date(2026, 10, 29), {FALL_NY: 25}),
        ("Australia/Lord_Howe", date(2026, 4, 3), {date(2026, 4, 5): 24.5}),
        ("Australia/Lord_Howe", date(2026, 10, 2), {date(2026, 10, 4): 23.5}),
        ("America/Santiago", date(2026, 9, 4), {date(2026, 9, 6): 23}),
        ("Asia/Kathmandu", date(2026, 3, 5), {}),
    ],
)
def test_days_are_calendar_days_not_24_hours(zone, start, changes):
    """Failure 2 ("+24 h" arithmetic is an hour off on transition days): consecutive 09:00 and
    21:30 prompts are 23 h or 25 h (23.5 h, 24.5 h on Lord Howe) apart across a change and 24 h
    otherwise, and every prompt of day N is on date start + N - 1 at its own wall time."""
    protocol = definition({"type": "fixed", "times": ["09:00", "21:30"]}, days=5)
    plan = plan_prompts(protocol, subject(zone, start))
    assert len(plan) == 10
    for slot in plan:
        assert slot.local_date == start + timedelta(days=slot.study_day - 1)
        assert wall(slot, zone).date() == slot.local_date
        assert wall(slot, zone).time() == time.fromisoformat(slot.occurrence[-5:])
    mornings = [s for s in plan if s.occurrence.endswith("@09:00")]
    for before, after in pairwise(mornings):
        hours = (after.due_at - before.due_at) / timedelta(hours=1)
        assert hours == changes.get(after.local_date, 24), after.local_date


def test_fixed_times_in_the_gap_and_the_repeated_hour():
    """Failure 3 in the plan: a 02:30 prompt on the spring-forward day is at 03:30 EDT; a
    01:30 prompt on the fall-back day is sent once, at the first 01:30 (EDT, 05:30 UTC)."""
    protocol = definition({"type": "fixed", "times": ["01:30", "02:30"]}, days=3)
    spring = plan_prompts(protocol, subject(start=SPRING_NY - timedelta(days=1)))
    assert [str(local(s.due_at, NY))[:16] for s in spring if s.local_date == SPRING_NY] == [
        "2026-03-08 01:30",
        "2026-03-08 03:30",
    ]
    fall = [s for s in plan_prompts(protocol, subject(start=FALL_NY)) if s.local_date == FALL_NY]
    assert [s.due_at for s in fall] == [
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 7, 30, tzinfo=UTC),
    ]


@pytest.mark.parametrize("day", [SPRING_NY - timedelta(days=1), FALL_NY - timedelta(days=1)])
def test_random_draws_use_real_time_on_transition_nights(day):
    """Failure 3 (random draws inside the gap) and 4: on a night window 22:00-06:00 across the
    change, draws are spread over the real time (7 h or 9 h), blocks and gaps tile it, and no
    two prompts share an instant or an occurrence."""
    protocol = definition(
        {"type": "random", "per_day": 6, "min_gap_minutes": 30},
        defaults={"wake": "22:00", "sleep": "06:00"},
        days=1,
    )
    plan = plan_prompts(protocol, subject(start=day, wake="22:00", sleep="06:00"))
    real = plan[-1].window_end_at - plan[0].window_start_at
    assert real == timedelta(hours=7 if day.month == 3 else 9)
    gaps = 5 * timedelta(minutes=30)
    assert all(b.window_end_at - b.window_start_at == (real - gaps) / 6 for b in plan)
    assert len({s.due_at for s in plan}) == len({s.occurrence for s in plan}) == 6


def test_random_draws_are_not_piled_up_after_the_gap():
    """Failure 3: drawing a wall-clock minute and shifting gap minutes forward would put twice
    the density into 03:00-04:00 on spring-forward night; real-time draws put a third of the
    prompts of a 01:00-05:00 window (3 real hours) there."""
    protocol = definition(
        {"type": "random", "per_day": 1, "window": {"start": "01:00", "end": "05:00"}}, days=1
    )
    hours = [
        wall(plan_prompts(protocol, subject(start=SPRING_NY, seed=seed))[0]).hour
        for seed in range(600)
    ]
    assert 2 not in hours
    assert 160 < hours.count(3) < 240


def test_fall_back_night_interval_prompts_are_unique():
    """Failure 4 (LAMP fired at both 3 pm and 4 pm): an interval schedule over the repeated
    hour gives one prompt per real half hour, each instant once, with distinct occurrences."""
    protocol = definition(
        {"type": "interval", "every_minutes": 30, "window": {"start": "00:00", "end": "04:00"}},
        days=1,
    )
    plan = plan_prompts(protocol, subject(start=FALL_NY))
    assert len(plan) == 10 == len({s.due_at for s in plan}) == len({s.occurrence for s in plan})
    assert all(b.due_at - a.due_at == timedelta(minutes=30) for a, b in pairwise(plan))


def test_fixed_times_never_collide_on_spring_forward_day():
    """Failure 4: times ["02:30", "03:30"] both land on 03:30 EDT on 8 March 2026; that is one
    prompt, the second planned as cancelled ('clock_change'), so due times of the prompts that
    are sent stay unique per schedule. The day before, both are sent."""
    protocol = definition({"type": "fixed", "times": ["02:30", "03:30"]}, days=2)
    plan = plan_prompts(protocol, subject(start=SPRING_NY - timedelta(days=1)))
    assert [(s.occurrence, str(local(s.due_at, NY))[11:16], s.cancel_reason) for s in plan] == [
        ("2026-03-07@02:30", "02:30", None),
        ("2026-03-07@03:30", "03:30", None),
        ("2026-03-08@02:30", "03:30", None),
        ("2026-03-08@03:30", "03:30", "clock_change"),
    ]


def test_a_night_too_short_after_spring_forward_raises():
    """Failure 6 on a transition night: 4 prompts 120 minutes apart fit a 20:00-04:00 window on
    ordinary nights but not the 7-hour spring-forward night. Validation says so for the study's
    own zone; for a participant in another zone the planner says so; nothing is dropped."""
    schedule = {"type": "random", "per_day": 4, "min_gap_minutes": 120}
    night = {"wake": "20:00", "sleep": "04:00"}
    clock_change = r"on Saturday 2026-03-07, when the clocks change in "
    with pytest.raises(ProtocolInvalid, match=clock_change):
        definition(schedule, defaults=night)
    protocol = definition(schedule, defaults=night, timezone="UTC")
    with pytest.raises(PlanningError, match=r"2026-03-07.*420 minutes available; the clocks"):
        plan_prompts(protocol, subject(start=date(2026, 3, 2), wake="20:00", sleep="04:00"))
    assert (
        len(plan_prompts(protocol, subject(start=date(2026, 2, 2), wake="20:00", sleep="04:00")))
        == 28
    )


def test_window_across_midnight_and_a_block_spanning_two_dates():
    """Failure 7 (windows across midnight, blocks spanning days): a night shift waking 20:00 to
    04:00 gets its prompts from 20:00 to 04:00 the next morning, all counted on the study day
    the window opened, and a block may start on one date and end on the next."""
    protocol = definition(
        {"type": "random", "per_day": 3}, defaults={"wake": "20:00", "sleep": "04:00"}
    )
    plan = plan_prompts(protocol, subject(wake="20:00", sleep="04:00"))
    assert len(plan) == 21
    for slot in plan:
        opens = datetime.combine(slot.local_date, time(20))
        assert opens <= wall(slot) < opens + timedelta(hours=8)
    middle = [s for s in plan if s.occurrence.endswith("#2")]
    assert all(wall(s.window_start_at).date() == s.local_date for s in middle)
    assert all(wall(s.window_end_at).date() == s.local_date + timedelta(days=1) for s in middle)


@pytest.mark.parametrize(
    ("start", "times"),
    [
        (MONDAY, ("03:30", "19:30", "09:00", "04:00")),
        (date(2026, 3, 6), ("03:00", "02:30", None, None)),
    ],
    ids=["weekend-into-monday", "sleep-in-the-spring-forward-gap"],
)
def test_consecutive_days_windows_never_overlap(start, times):
    """Failure 4 and 7: a window across midnight ends when the next day's opens, so two study
    days' prompts never share time (and never an instant): an early-shift baker whose weekend
    night runs to 04:00 (validation refuses this; the planner holds regardless), and a 02:30
    sleep time that the spring-forward gap shifts past the next 03:00 wake."""
    wake, sleep, weekend_wake, weekend_sleep = times
    member = subject(start=start, wake=wake, sleep=sleep, seed=4)
    if weekend_wake:
        member = subject(start=start, wake=wake, sleep=sleep, weekend_wake=weekend_wake,
                         weekend_sleep=weekend_sleep)  # fmt: skip
    plan = by_day(plan_prompts(definition({"type": "random", "per_day": 6}, days=9), member))
    for day, following in pairwise(sorted(plan)):
        assert plan[day][-1].window_end_at <= plan[following][0].window_start_at, day
