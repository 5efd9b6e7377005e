"""What the planner is given (a participant, a group) and what it gives back (slots), as
plain data: no database, no wall clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time


@dataclass(frozen=True)
class Subject:
    """What the planner needs to know about one participant."""

    timezone: str
    start_date: date
    wake: time
    sleep: time
    channel: str
    seed: int
    weekend_wake: time | None = None
    weekend_sleep: time | None = None
    #: Nothing is planned before this instant (enrolment time, or "now" when re-planning).
    not_before: datetime | None = None
    #: (start, end) UTC; an open-ended pause has end None.
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()
    #: The participant's study arm: schedules naming other arms are not theirs.
    arm: str | None = None

    def waking_window(self, day: date) -> tuple[time, time]:
        if day.weekday() >= 5 and self.weekend_wake and self.weekend_sleep:
            return self.weekend_wake, self.weekend_sleep
        return self.wake, self.sleep


@dataclass(frozen=True)
class Group:
    """Members planned together: shared random draws under the group's seed."""

    seed: int
    members: tuple[Subject, ...]


@dataclass(slots=True)
class PlannedSlot:
    schedule_id: str
    questionnaire_id: str
    #: Stable key of the slot within the schedule ("2026-03-08#2", "2026-03-08@21:30", "once").
    occurrence: str
    channel: str
    study_day: int
    local_date: date
    due_at: datetime
    window_start_at: datetime
    window_end_at: datetime
    expires_at: datetime
    reminders_at: tuple[datetime, ...] = field(default=())
    #: Set when the slot is planned but must not be sent ("paused", "overlap").
    cancel_reason: str | None = None
