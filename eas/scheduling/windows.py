"""A schedule's time on one day of one participant, in UTC segments: its window (or their
waking day), its explicit blocks, minus its blackouts.

Windows and blocks may be written in clock times or relative to the participant's own wake and
sleep times (`eas.scheduling.daytimes`); either way they are resolved on the local date the
waking day opens on, then converted to UTC, so the segments are real time.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from eas.core.timeofday import parse_hhmm
from eas.scheduling import segments as seg
from eas.scheduling.daytimes import parse_daytime
from eas.scheduling.localtime import to_utc, window_bounds

if TYPE_CHECKING:
    from eas.scheduling.subjects import Subject

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _utc(moment: datetime, zone: str) -> datetime:
    return to_utc(moment.date(), moment.time(), zone)


def local_span(start: str, end: str, subject: Subject, day: date) -> tuple[datetime, datetime]:
    """Naive local bounds of a span written in day times, on the waking day opening on `day`.
    Clock times whose end is at or before the start cross midnight; a relative span that ends
    before it starts (a short waking day) is empty."""
    wake, sleep = subject.waking_window(day)
    opens = parse_daytime(start).on(day, wake, sleep)
    closes_at = parse_daytime(end)
    closes = closes_at.on(day, wake, sleep)
    if closes <= opens:
        relative = parse_daytime(start).relative or closes_at.relative
        closes = opens if relative else closes + timedelta(days=1)
    return opens, closes


def _window_local(schedule: dict[str, Any], subject: Subject, day: date):
    if "window" in schedule:
        return local_span(schedule["window"]["start"], schedule["window"]["end"], subject, day)
    wake, sleep = subject.waking_window(day)
    opens = datetime.combine(day, wake)
    closes = datetime.combine(day if sleep > wake else day + timedelta(days=1), sleep)
    return opens, closes


def window_bounds_of(schedule: dict[str, Any], subject: Subject, day: date) -> seg.Segment:
    """UTC bounds of the day's window; one that crosses midnight ends no later than the next
    day's window opens (validation refuses such windows; this keeps days apart regardless)."""
    opens, closes = _window_local(schedule, subject, day)
    zone = subject.timezone
    opens_at, closes_at = _utc(opens, zone), _utc(closes, zone)
    if closes.date() > day:
        next_opens, _ = _window_local(schedule, subject, day + timedelta(days=1))
        closes_at = min(closes_at, _utc(next_opens, zone))
    return opens_at, closes_at


def blackout_holes(schedule: dict[str, Any], day: date, zone: str) -> list[seg.Segment]:
    holes = []
    # Windows and blackouts may both cross midnight: one that began the evening before can
    # cover this morning, one that begins tonight can cover the window's end.
    for date_ in (day - timedelta(days=1), day, day + timedelta(days=1)):
        weekday = WEEKDAY_NAMES[date_.weekday()]
        for blackout in schedule.get("blackouts", []):
            if weekday in blackout.get("weekdays", WEEKDAY_NAMES):
                holes.append(
                    window_bounds(
                        date_, parse_hhmm(blackout["start"]), parse_hhmm(blackout["end"]), zone
                    )
                )
    return holes


def available_segments(schedule: dict[str, Any], subject: Subject, day: date) -> list[seg.Segment]:
    """The subject's time for this schedule on local date `day`, in UTC segments."""
    window = window_bounds_of(schedule, subject, day)
    return seg.subtract([window], blackout_holes(schedule, day, subject.timezone))


def block_segments(
    schedule: dict[str, Any], subject: Subject, day: date
) -> list[tuple[int, list[seg.Segment]]]:
    """Each explicit block's prompt count and its UTC segments, minus blackouts. Where two
    blocks are closer than the minimum gap, each gives up half of the difference at their
    shared edge, so prompts drawn in neighbouring blocks keep the gap."""
    zone = subject.timezone
    gap = timedelta(minutes=schedule.get("min_gap_minutes", 0))
    spans = []
    for block in schedule["blocks"]:
        opens, closes = local_span(block["start"], block["end"], subject, day)
        spans.append([_utc(opens, zone), _utc(closes, zone)])
    for before, after in itertools.pairwise(spans):
        space = after[0] - before[1]
        if space < gap:
            need = gap - space
            half = timedelta(minutes=need // seg.MINUTE // 2)
            before[1] -= half
            after[0] += need - half
    holes = blackout_holes(schedule, day, zone)
    return [
        (block["prompts"], seg.subtract([(opens, closes)], holes))
        for block, (opens, closes) in zip(schedule["blocks"], spans, strict=True)
    ]
