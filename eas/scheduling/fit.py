"""Does a random schedule fit a waking day? Checked before planning, never discovered mid-study.

The check runs the planner's own window arithmetic on a reference week in UTC, for each weekday
the schedule runs on, with the weekend window and the blackouts of that weekday; given a zone, it
also runs it on the days around that zone's clock changes, where a night can be an hour shorter.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from eas.scheduling import segments as seg
from eas.scheduling.localtime import zone as zone_info
from eas.scheduling.planner import WEEKDAY_NAMES, Subject, available_segments, random_fits

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


def random_fit_problem(
    schedule: dict[str, Any],
    wake: time,
    sleep: time,
    weekend_wake: time | None = None,
    weekend_sleep: time | None = None,
    *,
    zone: str = "UTC",
    waking: str = "waking day",
) -> str | None:
    """A sentence saying why `schedule` cannot fit this waking day, or None if it fits.
    `waking`: what the sentence calls the waking day (whose it is)."""
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
    needed = schedule["per_day"] * schedule.get("min_gap_minutes", 0)
    for day in days:
        weekday = WEEKDAY_NAMES[day.weekday()]
        if weekday not in schedule.get("weekdays", WEEKDAY_NAMES):
            continue
        available = seg.available_minutes(available_segments(schedule, subject, day))
        if not random_fits(schedule["per_day"], schedule.get("min_gap_minutes", 0), available):
            if "window" in schedule:
                window = f"window {schedule['window']['start']}-{schedule['window']['end']}"
            else:
                start, end = subject.waking_window(day)
                window = f"{waking} {start:%H:%M}-{end:%H:%M}"
            blackouts = " minus blackouts" if schedule.get("blackouts") else ""
            when = (
                f"{_DAY_NAMES[weekday]}s"
                if day < _REFERENCE_MONDAY + timedelta(days=7)
                else f"{_day_name(day)} {day.isoformat()}, when the clocks change in {zone},"
            )
            gap = schedule.get("min_gap_minutes", 0)
            need = (
                f"{schedule['per_day']} prompts at least {gap} minutes apart need {needed} minutes"
                if gap
                else f"{schedule['per_day']} prompts need a minute each"
            )
            return f"{need}, but on {when} the {window}{blackouts} has {available} minutes"
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
