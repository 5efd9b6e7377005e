"""Local wall-clock time to UTC, with the rules for the days the clocks change.

Prompts are planned as a local date plus a local time of day, then converted. Two rules make the
conversion total and predictable:

* A local time that does not exist (it falls in the spring-forward gap) is shifted forward by
  the length of the gap: 02:30 on a night the clocks jump from 02:00 to 03:00 becomes 03:30.
* A local time that happens twice (the autumn fall-back hour) means its first occurrence.

Both are what `zoneinfo` gives for `fold=0`; this module states them so the planner does not
depend on it silently, and tests pin them for many zones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def to_utc(local_date: date, local_time: time, zone_name: str) -> datetime:
    """The UTC instant of a local wall-clock time (gap: shifted forward; repeat: first)."""
    naive = datetime.combine(local_date, local_time)
    return naive.replace(tzinfo=zone(zone_name), fold=0).astimezone(UTC)


def local(moment: datetime, zone_name: str) -> datetime:
    return moment.astimezone(zone(zone_name))


def local_date_of(moment: datetime, zone_name: str) -> date:
    return moment.astimezone(zone(zone_name)).date()


def window_bounds(
    local_date: date, start: time, end: time, zone_name: str
) -> tuple[datetime, datetime]:
    """UTC bounds of a local window that opens on `local_date`; an end at or before the start
    is on the next day (a window across midnight). Its real length may differ from the clock
    difference on a transition day: that is the time that actually passes."""
    opens = to_utc(local_date, start, zone_name)
    closes_on = local_date + timedelta(days=1) if end <= start else local_date
    return opens, to_utc(closes_on, end, zone_name)


def zone_at(history: list[tuple[datetime, str]], moment: datetime, current: str) -> str:
    """The zone a participant was in at `moment`, from their zone changes [(effective_at,
    zone)] in order; before the first one, that one; with none, `current`."""
    found = history[0][1] if history else current
    for effective_at, zone_name in history:
        if effective_at <= moment:
            found = zone_name
    return found
