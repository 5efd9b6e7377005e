"""Properties of the planner over many zones, windows and start dates around the clock changes.

Each property guards against failure modes of ../shared/reference/ema.md section 1: prompts
outside the waking day or in the spring-forward gap (1, 2, 3, 7), gaps shorter than asked (6),
missing or duplicate prompts (4, 6), re-randomisation (15), draws outside their block (17-ish).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from eas.protocols.validation import validate_protocol_text
from eas.scheduling.planner import PlannedSlot, Subject, plan_prompts
from tests.scheduling.helpers import QUESTIONNAIRE

ZONES = [
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "America/Santiago",
    "Pacific/Auckland",
    "UTC",
]
FIRST, LAST = date(2025, 1, 1), date(2030, 12, 31)


def clock_changes(zone: str) -> list[date]:
    """Local dates of 2025-2030 whose noon has another UTC offset than the day before's."""
    tz, found = ZoneInfo(zone), []
    day = FIRST
    while day < LAST:
        noon, next_noon = (datetime.combine(d, time(12), tz) for d in (day, day + timedelta(1)))
        if noon.utcoffset() != next_noon.utcoffset():
            found.append(day + timedelta(days=1))
        day += timedelta(days=1)
    return found


CHANGES = {zone: clock_changes(zone) for zone in ZONES}
#: Times of day for fixed prompts: away from every zone's transition hours (those are pinned,
#: example by example, in test_localtime.py).
FIXED_TIMES = [f"{hour:02d}:{minute:02d}" for hour in range(6, 21) for minute in (0, 17, 45)]


def hhmm(minute_of_day: int) -> str:
    return f"{minute_of_day // 60:02d}:{minute_of_day % 60:02d}"


def wall_window(subject: Subject, day: date) -> tuple[time, time]:
    if day.weekday() >= 5 and subject.weekend_wake is not None:  # Saturday, Sunday
        return subject.weekend_wake, subject.weekend_sleep
    return subject.wake, subject.sleep


def real_window(subject: Subject, day: date) -> tuple[datetime, datetime]:
    """The waking window of local date `day` in UTC, computed here from zoneinfo directly. One
    across midnight ends no later than the next day's opens (a sleep time in the gap, shifted
    forward, could otherwise run past it)."""
    wake, sleep = wall_window(subject, day)
    tz = ZoneInfo(subject.timezone)
    following = day + timedelta(days=1)
    opens = datetime.combine(day, wake, tz).astimezone(UTC)
    if sleep > wake:
        return opens, datetime.combine(day, sleep, tz).astimezone(UTC)
    closes = datetime.combine(following, sleep, tz).astimezone(UTC)
    next_opens = datetime.combine(following, wall_window(subject, following)[0], tz)
    return opens, min(closes, next_opens.astimezone(UTC))


@st.composite
def windows(draw, needed: int) -> tuple[str, str]:
    """A waking window (possibly across midnight, up to 24 h) at least `needed` minutes long."""
    wake = draw(st.integers(0, 24 * 60 - 1))
    length = draw(st.integers(needed, 24 * 60))
    return hhmm(wake), hhmm((wake + length) % (24 * 60))


@st.composite
def studies(draw):
    zone = draw(st.sampled_from(ZONES))
    if CHANGES[zone] and draw(st.booleans()):
        back = draw(st.integers(0, 5))  # the study starts up to 5 days before the change
        start = draw(st.sampled_from(CHANGES[zone])) - timedelta(days=back)
        days = draw(st.integers(back + 2, back + 6))
    else:
        start = FIRST + timedelta(days=draw(st.integers(0, (LAST - FIRST).days - 28)))
        days = 28
    per_day = draw(st.integers(1, 8))
    gap = draw(st.integers(0, 120))
    # 60 minutes of margin: a spring-forward night is an hour shorter than its clock times.
    needed = max(per_day * gap, (per_day - 1) * gap + per_day) + 60
    wake, sleep = draw(windows(needed))
    weekend = draw(st.none() | windows(needed))
    times = draw(st.lists(st.sampled_from(FIXED_TIMES), min_size=1, max_size=3, unique=True))
    seed = draw(st.integers(0, 2**63 - 1))
    defaults = {"wake": wake, "sleep": sleep}
    if weekend:
        # Validation refuses a window across midnight that runs into the next day's (Friday
        # into Saturday, Sunday into Monday); tested in test_fit.py.
        assume(not (sleep <= wake and sleep > weekend[0]))
        assume(not (weekend[1] <= weekend[0] and weekend[1] > wake))
        defaults |= {"weekend_wake": weekend[0], "weekend_sleep": weekend[1]}
    doc = {
        "study": {"id": "t", "title": "T", "timezone": zone, "duration_days": days},
        "participant_defaults": defaults,
        "questionnaires": [QUESTIONNAIRE],
        "schedules": [
            {"id": "beep", "questionnaire": "q", "type": "random", "per_day": per_day,
             "min_gap_minutes": gap, "expires_after_minutes": 30},
            {"id": "diary", "questionnaire": "q", "type": "fixed", "times": times,
             "channel": "web"},
        ],
    }  # fmt: skip
    definition = validate_protocol_text(json.dumps(doc), "p.yaml").definition
    subject = Subject(
        timezone=zone,
        start_date=start,
        wake=time.fromisoformat(wake),
        sleep=time.fromisoformat(sleep),
        weekend_wake=time.fromisoformat(weekend[0]) if weekend else None,
        weekend_sleep=time.fromisoformat(weekend[1]) if weekend else None,
        channel="sms",
        seed=seed,
    )
    return definition, subject


def assert_inside_waking_day(slot: PlannedSlot, subject: Subject) -> None:
    opens, closes = real_window(subject, slot.local_date)
    assert opens <= slot.due_at < closes, slot
    # On the wall clock too. Bounds in the spring-forward gap read as shifted; the second pass
    # through a repeated hour (fold 1) may show a clock time before `wake` and is exempt.
    tz = ZoneInfo(subject.timezone)
    seen = slot.due_at.astimezone(tz)
    low, high = (moment.astimezone(tz).replace(tzinfo=None) for moment in (opens, closes))
    assert seen.replace(tzinfo=None) < high, slot
    assert seen.fold or low <= seen.replace(tzinfo=None), slot


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies())
def test_plans_hold_their_invariants_across_zones_and_clock_changes(study):
    """Failures 1-4, 6, 7, 8, 15, 17-ish at once, over 9 zones (30- and 45-minute offsets, a
    30-minute DST, midnight transitions) and studies spanning the changes of 2025-2030: exact
    counts, no duplicates, sorted, deterministic, each random prompt inside the participant's
    real waking window on its study date and inside its block, blocks tiling the window, gaps
    of at least min_gap real minutes, fixed prompts at their wall-clock times."""
    definition, subject = study
    plan = plan_prompts(definition, subject)
    days = definition["study"]["duration_days"]
    beep = definition["schedules"][0]
    per_day, gap = beep["per_day"], timedelta(minutes=beep["min_gap_minutes"])
    times = definition["schedules"][1]["times"]

    # Deterministic for a seed (15); exact counts, nothing dropped or doubled (4, 6).
    assert plan == plan_prompts(definition, subject)
    counts = Counter(slot.schedule_id for slot in plan)
    assert counts == {"beep": per_day * days, "diary": len(times) * days}
    keys = [(slot.schedule_id, slot.occurrence) for slot in plan]
    assert len(set(keys)) == len(keys)
    for schedule_id in counts:
        dues = [slot.due_at for slot in plan if slot.schedule_id == schedule_id]
        assert len(set(dues)) == len(dues)
    assert [slot.due_at for slot in plan] == sorted(slot.due_at for slot in plan)
    assert all(slot.expires_at > slot.due_at for slot in plan)

    by_day: dict[date, list[PlannedSlot]] = {}
    for slot in plan:
        # Study day N is date start + N - 1 (2, 8).
        assert slot.local_date == subject.start_date + timedelta(days=slot.study_day - 1)
        if slot.schedule_id == "diary":
            seen = slot.due_at.astimezone(ZoneInfo(subject.timezone))
            assert (seen.date(), seen.strftime("%H:%M")) == (slot.local_date, slot.occurrence[-5:])
        else:
            assert_inside_waking_day(slot, subject)
            by_day.setdefault(slot.local_date, []).append(slot)

    for day, slots in by_day.items():
        assert len(slots) == per_day
        # Blocks and the minimum gaps between them tile the real waking window; each draw lies
        # in its own block (17-ish).
        assert (slots[0].window_start_at, slots[-1].window_end_at) == real_window(subject, day)
        for slot in slots:
            assert slot.window_start_at <= slot.due_at < slot.window_end_at
        for before, after in pairwise(slots):
            assert after.window_start_at - before.window_end_at == gap
            assert after.due_at - before.due_at >= gap  # real minutes (6)


@settings(max_examples=200, deadline=None)
@given(studies(), st.integers(0, 40))
def test_replanning_from_a_later_instant_keeps_the_draws(study, index):
    """Failure 15: re-planning from any later moment (restart, new version) redraws nothing."""
    definition, subject = study
    plan = plan_prompts(definition, subject)
    cut = plan[min(index, len(plan) - 1)].due_at + timedelta(seconds=index % 2)
    later = replace(subject, not_before=cut)
    assert plan_prompts(definition, later) == [slot for slot in plan if slot.due_at >= cut]


#: The 0.999 quantile of the chi-square distribution with 9 degrees of freedom, and its 0.001
#: quantile (a fit that good means the draws are not random at all, e.g. evenly spaced).
CHI2_9_UPPER, CHI2_9_LOWER = 27.877, 1.152


@pytest.mark.parametrize(("gap", "block_minutes"), [(0, 120), (24, 100)])
def test_draws_are_uniform_within_their_blocks(gap, block_minutes):
    """Failure 17-ish and 15 (biased draws, e.g. formr's re-drawing favours early times): a
    draw's relative position in its block is uniform, with and without a minimum gap (pushing
    a draw past the previous one + gap would skew it late). 4032 draws from fixed seeds,
    10 bins, chi-square computed by hand."""
    doc = {
        "study": {"id": "t", "title": "T", "timezone": "Europe/Berlin", "duration_days": 28},
        "questionnaires": [QUESTIONNAIRE],
        "schedules": [{"id": "beep", "questionnaire": "q", "type": "random", "per_day": 6,
                       "min_gap_minutes": gap, "window": {"start": "09:00", "end": "21:00"}}],
    }  # fmt: skip
    definition = validate_protocol_text(json.dumps(doc), "p.yaml").definition
    bins = [0] * 10
    for seed in range(24):
        start = date(2026, 1, 5) + timedelta(days=11 * seed)
        subject = Subject("Europe/Berlin", start, time(9), time(21), "sms", seed)
        for slot in plan_prompts(definition, subject):
            block = slot.window_end_at - slot.window_start_at
            assert block == timedelta(minutes=block_minutes)  # 10 bins of whole minutes
            bins[int(10 * ((slot.due_at - slot.window_start_at) / block))] += 1
    total = sum(bins)
    assert total == 24 * 28 * 6 == 4032
    expected = total / 10
    statistic = sum((count - expected) ** 2 / expected for count in bins)
    assert CHI2_9_LOWER < statistic < CHI2_9_UPPER, (bins, statistic)
