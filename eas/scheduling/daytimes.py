"""Times of a participant's day: a clock time "HH:MM", or an offset from their own wake or
sleep time ("wake+30m", "sleep-1h", "wake").

A relative time follows each participant's waking hours (weekend hours on Saturday and
Sunday), so "30 minutes after waking" is 07:30 for one participant and 10:30 for another.
The sleep time of a waking day that crosses midnight is on the next calendar date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from eas.core.timeofday import parse_hhmm

ANCHORS = ("wake", "sleep")
#: Offsets beyond half a day would put "after waking" before it.
MAX_OFFSET_MINUTES = 12 * 60
_RELATIVE = re.compile(r"^(wake|sleep)(?:([+-])(?:(\d{1,2})h)?(?:(\d{1,3})m)?)?$")


@dataclass(frozen=True)
class DayTime:
    #: None for a clock time; "wake" or "sleep" for a relative one.
    anchor: str | None
    #: Minutes after midnight (clock time) or the signed offset from the anchor.
    minutes: int

    @property
    def relative(self) -> bool:
        return self.anchor is not None

    def text(self) -> str:
        """The normalised spelling: "09:30", "wake+30m", "sleep-90m", "wake"."""
        if self.anchor is None:
            return f"{self.minutes // 60:02d}:{self.minutes % 60:02d}"
        if self.minutes == 0:
            return self.anchor
        sign = "+" if self.minutes > 0 else "-"
        return f"{self.anchor}{sign}{abs(self.minutes)}m"

    def on(self, day: date, wake: time, sleep: time) -> datetime:
        """The naive local date and time on the waking day that opens on `day`."""
        if self.anchor is None:
            return datetime.combine(day, time(self.minutes // 60, self.minutes % 60))
        if self.anchor == "wake":
            base = datetime.combine(day, wake)
        else:
            base = datetime.combine(day if sleep > wake else day + timedelta(days=1), sleep)
        return base + timedelta(minutes=self.minutes)


def parse_daytime(text: str) -> DayTime:
    """ "21:30", "wake+30m", "sleep-1h30m", "wake" -> DayTime; anything else raises ValueError
    with a sentence saying what is accepted."""
    compact = text.replace(" ", "").lower()
    match = _RELATIVE.match(compact)
    if match is None:
        try:
            clock = parse_hhmm(text)
        except ValueError:
            raise ValueError(
                f'"{text}" is not a time of day; write "HH:MM" (00:00-23:59) or an offset from '
                'the waking day such as "wake+30m", "sleep-1h" or "wake+1h30m"'
            ) from None
        return DayTime(None, clock.hour * 60 + clock.minute)
    anchor, sign, hours, minutes = match.groups()
    if sign and hours is None and minutes is None:
        raise ValueError(f'"{text}" has no offset after {sign}; write e.g. "{anchor}{sign}30m"')
    offset = int(hours or 0) * 60 + int(minutes or 0)
    if offset > MAX_OFFSET_MINUTES:
        raise ValueError(f'"{text}" is more than 12 hours from {anchor}')
    return DayTime(anchor, -offset if sign == "-" else offset)
