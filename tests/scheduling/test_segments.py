"""UTC segment sets (eas/scheduling/segments.py): the available time random draws use.

Drawing in available time laid end to end is what keeps draws out of blackouts and out of the
spring-forward gap (failure 3), and what makes group intersections exact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eas.scheduling import segments as seg

T = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T + timedelta(minutes=minutes)


def span(start: int, end: int) -> seg.Segment:
    return at(start), at(end)


def minutes_of(segments: list[seg.Segment]) -> set[int]:
    """The set of whole minutes covered, to compare with set arithmetic."""
    covered: set[int] = set()
    for start, end in segments:
        covered |= set(range((start - T) // seg.MINUTE, (end - T) // seg.MINUTE))
    return covered


def test_normalise_sorts_merges_and_drops_empty():
    """Overlapping or touching pieces merge; empty and reversed ones vanish (a window whose end
    falls before its start, e.g. wake in the spring-forward gap, has no time at all)."""
    got = seg.normalise([span(50, 60), span(0, 10), span(10, 20), span(15, 18), span(30, 30)])
    assert got == [span(0, 20), span(50, 60)]
    assert seg.normalise([span(40, 30)]) == []


def test_subtract_blackouts():
    """Blackouts cut holes: inside, at either edge, covering everything, or missing."""
    window = [span(0, 100)]
    assert seg.subtract(window, [span(20, 30), span(90, 120)]) == [span(0, 20), span(30, 90)]
    assert seg.subtract(window, [span(-10, 0), span(100, 110)]) == window
    assert seg.subtract(window, [span(-10, 200)]) == []
    assert seg.subtract(window, [span(25, 35), span(30, 40)]) == [span(0, 25), span(40, 100)]


def test_intersect_for_groups():
    """A group's shared time: the overlap of every member's segments, or nothing."""
    first = [span(0, 60), span(100, 200)]
    second = [span(30, 130), span(150, 160)]
    assert seg.intersect(first, second) == [span(30, 60), span(100, 130), span(150, 160)]
    assert seg.intersect(first, [span(60, 100)]) == []


def test_timeline_walks_over_holes():
    """Offset k of available time skips the holes: no draw can land in a blackout or a gap."""
    segments = [span(0, 10), span(20, 25)]
    timeline = seg.Timeline(segments)
    assert seg.available_minutes(segments) == timeline.total == 15
    assert [timeline.at(k) for k in (0, 9, 10, 14)] == [at(0), at(9), at(20), at(24)]
    assert seg.Timeline([span(0, 10)]).at(9) == at(9)
    for beyond, offset in ((timeline, 15), (seg.Timeline([span(0, 10)]), 10)):
        with pytest.raises(ValueError, match="beyond"):
            beyond.at(offset)


def test_contains_is_half_open():
    """Failure 4 (prompts at both ends): a window or blackout [start, end) excludes its end."""
    segments = [span(0, 10)]
    assert seg.contains(segments, at(0))
    assert not seg.contains(segments, at(10))
    assert not seg.contains([], at(0))


intervals = st.lists(st.tuples(st.integers(0, 300), st.integers(0, 60)), max_size=6).map(
    lambda pairs: [span(start, start + length) for start, length in pairs]
)


@settings(max_examples=150, deadline=None)
@given(intervals, intervals)
def test_set_arithmetic_matches_minute_sets(first, second):
    """subtract and intersect are exact set operations on whole minutes, and their results are
    normalised (sorted, disjoint, non-empty)."""
    for result, expected in (
        (seg.subtract(first, second), minutes_of(first) - minutes_of(second)),
        (seg.intersect(first, second), minutes_of(first) & minutes_of(second)),
        (seg.normalise(first), minutes_of(first)),
    ):
        assert minutes_of(result) == expected
        assert seg.normalise(result) == result
        assert seg.available_minutes(result) == len(expected)
        timeline = seg.Timeline(result)
        assert timeline.total == len(expected)
        assert [timeline.at(k) for k in range(len(expected))] == [at(m) for m in sorted(expected)]
