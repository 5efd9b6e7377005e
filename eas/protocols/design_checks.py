"""Checks of a study's design across its schedules: what a schedule keeps clear of, time a
blackout leaves, and prompts cutting each other short.

Each returns (path, message, is_warning) for the crossref checker: errors for what cannot be
planned as written, warnings for what is valid but probably not meant.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from eas.scheduling import segments as seg
from eas.scheduling.fit import KeptClear
from eas.scheduling.planner import Subject
from eas.scheduling.windows import WEEKDAY_NAMES, available_segments

Path = tuple[str | int, ...]
Check = tuple[Path, str, bool]
_REFERENCE_MONDAY = date(2026, 1, 5)
_DAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def channel_of(schedule: dict[str, Any], defaults: dict[str, Any]) -> str:
    return schedule.get("channel") or defaults.get("channel", "sms")


def kept_clear_of(
    schedules: list[tuple[int, dict[str, Any]]], own_index: int, defaults: dict[str, Any]
) -> tuple[KeptClear, ...]:
    """Other SMS schedules' fixed and once times, which a random SMS schedule's draws keep
    clear of (as the planner does), where a participant can have both (their arms meet)."""
    own = dict(schedules)[own_index]
    found = []
    for index, schedule in schedules:
        if index == own_index or channel_of(schedule, defaults) != "sms":
            continue
        if "arms" in own and "arms" in schedule and not set(own["arms"]) & set(schedule["arms"]):
            continue
        if schedule["type"] == "fixed":
            times = schedule["times"]
        elif schedule["type"] == "once":
            times = [schedule["time"]]  # one day only, but that day must fit too
        else:
            continue
        weekdays = tuple(schedule.get("weekdays", WEEKDAY_NAMES))
        found += [KeptClear(text, weekdays) for text in times]
    return tuple(found)


def interval_time_left(
    path: Path, schedule: dict[str, Any], wake: time, sleep: time, weekend: tuple
) -> list[Check]:
    """An interval schedule whose window its blackouts cover on a day it runs plans nothing
    that day: an error, not a silent empty day."""
    subject = Subject("UTC", _REFERENCE_MONDAY, wake, sleep, "sms", 0, *weekend)
    for offset in range(7):
        day = _REFERENCE_MONDAY + timedelta(days=offset)
        if WEEKDAY_NAMES[day.weekday()] not in schedule.get("weekdays", WEEKDAY_NAMES):
            continue
        if not seg.available_minutes(available_segments(schedule, subject, day)):
            where = "its window" if "window" in schedule else "the default waking day"
            field = "blackouts" if schedule.get("blackouts") else "window"
            return [
                (
                    (*path, field),
                    f"on {_DAYS[offset]} {where} minus blackouts leaves no time: no prompt "
                    "would be planned",
                    False,
                )
            ]
    return []


def cut_short(path: Path, schedule: dict[str, Any], overlap: str, channel: str) -> list[Check]:
    """SMS prompts of one schedule that may come closer together than they stay open: each is
    closed early by the next (or the next is not sent), which the author may not intend."""
    if channel != "sms":
        return []
    expires = schedule["expires_after_minutes"]
    if schedule["type"] == "random":
        spacing, field, what = schedule["min_gap_minutes"], "min_gap_minutes", "min_gap_minutes"
    elif schedule["type"] == "interval":
        spacing, field, what = schedule["every_minutes"], "every_minutes", "every_minutes"
    else:
        return []
    if spacing >= expires:
        return []
    if schedule["type"] == "random" and schedule["per_day"] == 1:
        return []
    effect = (
        "the next prompt is not sent while one is open (overlap: skip_new)"
        if overlap == "skip_new"
        else "an open prompt is closed when the next one is sent (overlap: close_previous)"
    )
    return [
        (
            (*path, field),
            f"prompts may come {spacing} minutes apart ({what}), sooner than they expire "
            f"({expires} minutes): {effect}; set {what} to at least {expires} or shorten "
            "expires_after_minutes",
            True,
        )
    ]
