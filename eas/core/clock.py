"""The one clock every part of eas reads the time from.

Production uses the system clock; tests and the study simulator install a `VirtualClock` on the
app so a whole study can run in virtual time. Nothing else calls `datetime.now()`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from flask import current_app

_EXTENSION_KEY = "eas.clock"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a virtual clock needs an aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("a virtual clock needs aware times")
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now


def install_clock(app, clock: Clock) -> None:
    app.extensions[_EXTENSION_KEY] = clock


def get_clock() -> Clock:
    return current_app.extensions[_EXTENSION_KEY]


def now_utc() -> datetime:
    """The current time from the app's clock."""
    return get_clock().now()
