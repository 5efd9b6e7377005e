"""Does a random schedule fit a waking day? Checked before planning, never discovered mid-study.

The check runs the planner's own window arithmetic on a reference week in UTC (so no clock
change interferes), for each weekday the schedule runs on, with the weekend window and the
blackouts of that weekday.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from eas.scheduling import segments as seg
from eas.scheduling.planner import WEEKDAY_NAMES, Subject, available_segments

_REFERENCE_MONDAY = date(2026, 1, 5)


def random_fit_problem(
    schedule: dict[str, Any],
    wake: time,
    sleep: time,
    weekend_wake: time | None = None,
    weekend_sleep: time | None = None,
) -> str | None:
    """A sentence saying why `schedule` cannot fit this waking day, or None if it fits."""
    subject = Subject(
        timezone="UTC",
        start_date=_REFERENCE_MONDAY,
        wake=wake,
        sleep=sleep,
        weekend_wake=weekend_wake,
        weekend_sleep=weekend_sleep,
        channel="sms",
        seed=0,
    )
    needed = schedule["per_day"] * schedule.get("min_gap_minutes", 0)
    for offset in range(7):
        day = _REFERENCE_MONDAY + timedelta(days=offset)
        weekday = WEEKDAY_NAMES[day.weekday()]
        if weekday not in schedule.get("weekdays", WEEKDAY_NAMES):
            continue
        available = seg.available_minutes(available_segments(schedule, subject, day))
        if needed > available or schedule["per_day"] > available:
            if "window" in schedule:
                window = f"window {schedule['window']['start']}-{schedule['window']['end']}"
            else:
                start, end = subject.waking_window(day)
                window = f"waking day {start:%H:%M}-{end:%H:%M}"
            blackouts = " minus blackouts" if schedule.get("blackouts") else ""
            return (
                f"{schedule['per_day']} prompts at least {schedule.get('min_gap_minutes', 0)} "
                f"minutes apart need {needed} minutes, but on {weekday} the {window}{blackouts} "
                f"has {available}"
            )
    return None


def window_overlap_problem(
    wake: time, sleep: time, weekend_wake: time | None = None, weekend_sleep: time | None = None
) -> str | None:
    """A waking day that crosses midnight must end before the next day's begins."""
    for offset in range(7):
        day = _REFERENCE_MONDAY + timedelta(days=offset)
        following = day + timedelta(days=1)
        start, end = _window_on(day, wake, sleep, weekend_wake, weekend_sleep)
        next_start, _ = _window_on(following, wake, sleep, weekend_wake, weekend_sleep)
        if end <= start and end > next_start:
            return (
                f"the {WEEKDAY_NAMES[day.weekday()]} waking day {start:%H:%M}-{end:%H:%M} runs "
                f"past the {WEEKDAY_NAMES[following.weekday()]} wake time {next_start:%H:%M}"
            )
    return None


def _window_on(day, wake, sleep, weekend_wake, weekend_sleep) -> tuple[time, time]:
    if day.weekday() >= 5 and weekend_wake and weekend_sleep:
        return weekend_wake, weekend_sleep
    return wake, sleep
