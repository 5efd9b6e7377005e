"""Does a random schedule fit a waking day? Checked before planning, never discovered mid-study.

The check runs the planner's own window arithmetic on a reference week in UTC, for each weekday
the schedule runs on, with the weekend window and the blackouts of that weekday; given a zone, it
also runs it on the days around that zone's clock changes, where a night can be an hour shorter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from eas.scheduling import segments as seg
from eas.scheduling.daytimes import parse_daytime
from eas.scheduling.draws import random_fits
from eas.scheduling.localtime import to_utc
from eas.scheduling.localtime import zone as zone_info
from eas.scheduling.planner import Subject
from eas.scheduling.windows import WEEKDAY_NAMES, available_segments, block_segments, local_span

_REFERENCE_MONDAY = date(2026, 1, 5)
#: Weekdays as sentences name them (not the locale's: messages are in English).
_DAY_NAMES = dict(
    zip(
        WEEKDAY_NAMES,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)


def _day_name(day: date) -> str:
    return _DAY_NAMES[WEEKDAY_NAMES[day.weekday()]]


#: Years whose clock changes are checked: the rules of a zone rarely differ between years.
_TRANSITION_YEARS = (2026, 2027)


@cache
def clock_change_days(zone_name: str) -> tuple[date, ...]:
    """Local dates on which the zone's offset changes, and the days before (windows across
    midnight), in the reference years."""
    tz = zone_info(zone_name)
    days: list[date] = []
    for year in _TRANSITION_YEARS:
        day = date(year, 1, 1)
        previous = datetime(year, 1, 1, tzinfo=tz).utcoffset()
        while day.year == year:
            day += timedelta(days=1)
            offset = datetime.combine(day, time(12), tzinfo=tz).utcoffset()
            if offset != previous:
                days += [day - timedelta(days=2), day - timedelta(days=1), day]
            previous = offset
    return tuple(days)


@dataclass(frozen=True)
class KeptClear:
    """A fixed SMS prompt of another schedule: random draws keep their gap from it."""

    time: str
    weekdays: tuple[str, ...] = WEEKDAY_NAMES


def _holes(schedule, subject: Subject, day: date, kept_clear) -> list[seg.Segment]:
    gap = max(timedelta(minutes=schedule.get("min_gap_minutes", 0)), seg.MINUTE)
    holes = []
    wake, sleep = subject.waking_window(day)
    for fixed in kept_clear:
        if WEEKDAY_NAMES[day.weekday()] in fixed.weekdays:
            moment = parse_daytime(fixed.time).on(day, wake, sleep)
            instant = to_utc(moment.date(), moment.time(), subject.timezone)
            holes.append((instant - gap + seg.MINUTE, instant + gap))
    return holes


def _need(count: int, gap: int) -> str:
    if gap:
        return f"{count} prompts at least {gap} minutes apart need {count * gap} minutes"
    return f"{count} prompts need a minute each"


def random_fit_problem(
    schedule: dict[str, Any],
    wake: time,
    sleep: time,
    weekend_wake: time | None = None,
    weekend_sleep: time | None = None,
    *,
    zone: str = "UTC",
    waking: str = "waking day",
    kept_clear: tuple[KeptClear, ...] = (),
) -> str | None:
    """A sentence saying why `schedule` cannot fit this waking day, or None if it fits.
    `waking`: what the sentence calls the waking day (whose it is); `kept_clear`: other
    schedules' fixed SMS times the draws keep their gap from."""
    days = [_REFERENCE_MONDAY + timedelta(days=offset) for offset in range(7)]
    if zone != "UTC":
        days += clock_change_days(zone)
    subject = Subject(
        timezone=zone,
        start_date=_REFERENCE_MONDAY,
        wake=wake,
        sleep=sleep,
        weekend_wake=weekend_wake,
        weekend_sleep=weekend_sleep,
        channel="sms",
        seed=0,
    )
    gap = schedule.get("min_gap_minutes", 0)
    for day in days:
        weekday = WEEKDAY_NAMES[day.weekday()]
        if weekday not in schedule.get("weekdays", WEEKDAY_NAMES):
            continue
        when = (
            f"{_DAY_NAMES[weekday]}s"
            if day < _REFERENCE_MONDAY + timedelta(days=7)
            else f"{_day_name(day)} {day.isoformat()}, when the clocks change in {zone},"
        )
        holes = _holes(schedule, subject, day, kept_clear)
        if "blocks" in schedule:
            problem = _blocks_problem(schedule, subject, day, holes, when, waking)
            if problem:
                return problem
            continue
        whole = available_segments(schedule, subject, day)
        available = seg.available_minutes(seg.subtract(whole, holes))
        clear = ""
        if available != seg.available_minutes(whole):
            clear = (
                f" once kept clear of the fixed SMS prompts "
                f"({seg.available_minutes(whole)} without them)"
            )
        if not random_fits(schedule["per_day"], gap, available):
            if "window" in schedule:
                window = f"window {schedule['window']['start']}-{schedule['window']['end']}"
            else:
                start, end = subject.waking_window(day)
                window = f"{waking} {start:%H:%M}-{end:%H:%M}"
            blackouts = " minus blackouts" if schedule.get("blackouts") else ""
            return (
                f"{_need(schedule['per_day'], gap)}, but on {when} the {window}{blackouts}"
                f" has {available} minutes{clear}"
            )
    return None


def _blocks_problem(schedule, subject: Subject, day: date, holes, when: str, waking: str):
    gap = schedule.get("min_gap_minutes", 0)
    previous_end = None
    wake, sleep = subject.waking_window(day)
    hours = f"with the {waking} {wake:%H:%M}-{sleep:%H:%M}"
    for number, (block, (count, segments)) in enumerate(
        zip(schedule["blocks"], block_segments(schedule, subject, day), strict=True), 1
    ):
        name = f"block {number} ({block['start']}-{block['end']})"
        opens, closes = local_span(block["start"], block["end"], subject, day)
        if closes <= opens:
            return f"{name} is empty on {when} {hours}"
        if previous_end is not None and opens < previous_end:
            return f"{name} begins before the block before it ends on {when} {hours}"
        previous_end = closes
        available = seg.available_minutes(seg.subtract(segments, holes))
        if not random_fits(count, gap, available):
            return f"{name}: {_need(count, gap)}, but on {when} it has {available} minutes"
    return None


def window_overlap_problem(
    wake: time, sleep: time, weekend_wake: time | None = None, weekend_sleep: time | None = None
) -> str | None:
    """A waking day that crosses midnight must end before the next day's begins."""
    subject = Subject("UTC", _REFERENCE_MONDAY, wake, sleep, "sms", 0, weekend_wake, weekend_sleep)
    for offset in range(7):
        day = _REFERENCE_MONDAY + timedelta(days=offset)
        following = day + timedelta(days=1)
        start, end = subject.waking_window(day)
        next_start, _ = subject.waking_window(following)
        if end <= start and end > next_start:
            return (
                f"the {_day_name(day)} waking day {start:%H:%M}-{end:%H:%M} runs "
                f"past the {_day_name(following)} wake time {next_start:%H:%M}"
            )
    return None
