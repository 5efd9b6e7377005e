"""Sets of UTC time segments: a waking window minus blackouts, intersected across a group.

Random prompts are drawn in *available time*: the segments laid end to end. Drawing in real
UTC time means no draw can land in a spring-forward gap and a repeated autumn hour counts once
per real hour, never twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

Segment = tuple[datetime, datetime]
MINUTE = timedelta(minutes=1)


def normalise(segments: Iterable[Segment]) -> list[Segment]:
    """Sorted, merged, non-empty segments."""
    merged: list[Segment] = []
    for start, end in sorted(s for s in segments if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def subtract(segments: list[Segment], holes: Iterable[Segment]) -> list[Segment]:
    result = normalise(segments)
    for hole_start, hole_end in normalise(holes):
        pieces: list[Segment] = []
        for start, end in result:
            if hole_end <= start or hole_start >= end:
                pieces.append((start, end))
                continue
            if start < hole_start:
                pieces.append((start, hole_start))
            if hole_end < end:
                pieces.append((hole_end, end))
        result = pieces
    return result


def intersect(first: list[Segment], second: list[Segment]) -> list[Segment]:
    result = []
    for a_start, a_end in first:
        for b_start, b_end in second:
            start, end = max(a_start, b_start), min(a_end, b_end)
            if end > start:
                result.append((start, end))
    return normalise(result)


def available_minutes(segments: list[Segment]) -> int:
    return sum(int((end - start) / MINUTE) for start, end in segments)


def contains(segments: list[Segment], moment: datetime) -> bool:
    return any(start <= moment < end for start, end in segments)


class Timeline:
    """Segments laid end to end, to find the instant at a minute offset of available time."""

    __slots__ = ("_ends", "_starts", "total")

    def __init__(self, segments: list[Segment]) -> None:
        self._starts = [start for start, _ in segments]
        ends, total = [], 0
        for start, end in segments:
            total += int((end - start) / MINUTE)
            ends.append(total)
        self._ends = ends  # cumulative minutes at the end of each segment
        self.total = total

    def at(self, offset_minutes: int) -> datetime:
        if len(self._starts) == 1 and offset_minutes < self.total:  # the usual waking day
            return self._starts[0] + offset_minutes * MINUTE
        before = 0
        for start, end in zip(self._starts, self._ends, strict=True):
            if offset_minutes < end:
                return start + (offset_minutes - before) * MINUTE
            before = end
        raise ValueError(f"offset {offset_minutes} is beyond the available time")
