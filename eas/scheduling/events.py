"""Participant-initiated reports: a prompt of their own, started by the protocol's keyword by
SMS or by a button on the participant's web page.

When a report may start (`report_refusal`, pure, so the simulator asks it too):

* the report's day is a study day (1 to `duration_days`; from 1 on until withdrawn), one
  of the schedule's `days` when given, on one of its `weekdays` when given, and at most
  `max_per_day` reports of the schedule count on it;
* with a `window`, the participant's local time is inside it. A window whose end is at or
  before its start crosses midnight and belongs to the day it opens on: at 01:00 on study day 5,
  a 20:00-02:00 window is day 4's, and so are the report's study day, local date, `days`,
  `weekdays` and daily count.

Local times are the participant's own zone's, through `eas.scheduling.localtime` (a window's
bounds are real instants, so a night the clocks change is as long as it really is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from eas.core.db import db
from eas.core.timeofday import parse_hhmm
from eas.participants.models import Channel, Participant
from eas.protocols.fields import WEEKDAYS
from eas.responses.replies import normalise
from eas.scheduling.horizon import last_study_day
from eas.scheduling.localtime import local, local_date_of, window_bounds
from eas.scheduling.models import PlannedPrompt, PromptStatus

CAPPED = "Thanks! You've reached today's limit of {cap} reports."
OUTSIDE_STUDY = "Thanks! Reports can be sent on the days of the study only."
#: Any other refusal: when reports can be sent ("between 20:00 and 02:00", "on study days 1-7
#: and 29-35 only", ...).
NOT_NOW = "Thanks! Reports can be sent {when}."

_DAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
_MIDNIGHT = time(0, 0)


def in_arm(schedule: dict[str, Any], arm: str | None) -> bool:
    """Whether a schedule is a participant's of `arm` (None: a study without arms): one
    without `arms` is every arm's, as the planner has it."""
    return "arms" not in schedule or arm in schedule["arms"]


def event_schedules(definition: dict[str, Any], *, arm: str | None) -> list[dict[str, Any]]:
    """The reports a participant of `arm` may start: their arm's and every arm's."""
    return [
        schedule
        for schedule in definition["schedules"]
        if schedule["type"] == "event" and in_arm(schedule, arm)
    ]


def event_schedule(
    definition: dict[str, Any], body: str, *, arm: str | None
) -> dict[str, Any] | None:
    """The report a text starts for a participant of `arm`: the keyword of another arm's
    report is no keyword for them."""
    word = normalise(body)
    return next(
        (
            schedule
            for schedule in event_schedules(definition, arm=arm)
            if normalise(schedule["keyword"]) == word
        ),
        None,
    )


# When a report may start (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class ReportDay:
    """The day a report counts on: its local date and study day (maybe outside the study)."""

    local_date: date
    study_day: int


def _window(schedule: dict[str, Any]) -> tuple[time, time] | None:
    window = schedule.get("window")
    if window is None:
        return None
    return parse_hhmm(window["start"]), parse_hhmm(window["end"])


def _bounds(schedule: dict[str, Any], day: date, zone_name: str) -> tuple[datetime, datetime]:
    """The UTC instants between which the schedule's reports of `day` may start."""
    window = _window(schedule)
    if window is None:
        return window_bounds(day, _MIDNIGHT, _MIDNIGHT, zone_name)  # the whole local day
    return window_bounds(day, *window, zone_name)


def report_day(
    schedule: dict[str, Any], now: datetime, zone_name: str, start_date: date
) -> ReportDay:
    """The day a report started at `now` counts on: the participant's local date, or, inside
    a window that opened the evening before (across midnight), that evening's date."""
    today = local_date_of(now, zone_name)
    window = _window(schedule)
    if window is not None and window[1] <= window[0]:
        yesterday = today - timedelta(days=1)
        opens, closes = window_bounds(yesterday, *window, zone_name)
        if opens <= now < closes:
            today = yesterday
    return ReportDay(today, (today - start_date).days + 1)


def _day_allowed(schedule: dict[str, Any], day: ReportDay) -> bool:
    if "days" in schedule and day.study_day not in schedule["days"]:
        return False
    weekday = WEEKDAYS[day.local_date.weekday()]
    return "weekdays" not in schedule or weekday in schedule["weekdays"]


def report_refusal(
    schedule: dict[str, Any],
    definition: dict[str, Any],
    now: datetime,
    zone_name: str,
    start_date: date,
    *,
    reports_that_day: int = 0,
) -> str | None:
    """None when the participant (in `zone_name`, study day 1 on `start_date`) may start a
    report of `schedule` at `now`, else the text that tells them why not and when they can.
    `reports_that_day`: the schedule's reports already counted on the report's day
    (`report_day`), for `max_per_day`. No database: the caller counts."""
    day = report_day(schedule, now, zone_name, start_date)
    end = last_study_day(definition)  # None: until withdrawn
    if day.study_day < 1 or (end is not None and day.study_day > end):
        return OUTSIDE_STUDY
    if not _day_allowed(schedule, day):
        return NOT_NOW.format(when=when_reports_can_be_sent(schedule))
    opens, closes = _bounds(schedule, day.local_date, zone_name)
    if not opens <= now < closes:
        return NOT_NOW.format(when=_window_text(schedule))
    cap = schedule.get("max_per_day")
    if cap is not None and reports_that_day >= cap:
        return CAPPED.format(cap=cap)
    return None


def next_report_at(
    schedule: dict[str, Any],
    definition: dict[str, Any],
    now: datetime,
    zone_name: str,
    start_date: date,
    *,
    after_day: date | None = None,
) -> datetime | None:
    """The first instant from `now` on at which a report may start, leaving the cap out
    (`now` itself when one may start now); only on report days after `after_day` when given
    (a day whose cap is reached). None when the schedule has no more days."""
    day = max(start_date, report_day(schedule, now, zone_name, start_date).local_date)
    end = last_study_day(definition)
    if end is None:  # until withdrawn: its days, or a week ahead (weekdays and windows repeat)
        end = max(schedule["days"]) if "days" in schedule else (day - start_date).days + 9
    last = start_date + timedelta(days=end - 1)
    if after_day is not None:
        day = max(day, after_day + timedelta(days=1))
    while day <= last:
        if _day_allowed(schedule, ReportDay(day, (day - start_date).days + 1)):
            opens, closes = _bounds(schedule, day, zone_name)
            if now < closes:
                return max(opens, now)
        day += timedelta(days=1)
    return None


# Saying when ---------------------------------------------------------------------------------


def _runs(values: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for value in sorted(set(values)):
        if runs and runs[-1][1] == value - 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def days_text(days: list[int]) -> str:
    """Study days compactly: "study day 4", "study days 1-7 and 29-35", "study days 1, 3 and 5"."""
    runs = _runs(days)
    if len(runs) == 1 and runs[0][0] == runs[0][1]:
        return f"study day {runs[0][0]}"
    return "study days " + _and([str(a) if a == b else f"{a}-{b}" for a, b in runs])


def weekdays_text(weekdays: list[str]) -> str:
    """Days of the week: "Mondays to Fridays", "Saturdays and Sundays"."""
    names = [f"{_DAY_NAMES[WEEKDAYS[i]]}s" for i in range(7)]
    parts: list[str] = []
    for a, b in _runs([WEEKDAYS.index(w) for w in weekdays]):
        if b - a >= 2:
            parts.append(f"{names[a]} to {names[b]}")
        else:
            parts.extend(names[a : b + 1])
    return _and(parts)


def _window_text(schedule: dict[str, Any]) -> str:
    window = schedule["window"]
    return f"between {window['start']} and {window['end']}"


def when_reports_can_be_sent(schedule: dict[str, Any]) -> str:
    """The schedule's rules as a sentence ends: "between 20:00 and 02:00 on study days 1-7
    and 29-35 only" ("" when it has none)."""
    days = []
    if "days" in schedule:
        days.append(days_text(schedule["days"]))
    if "weekdays" in schedule:
        days.append(weekdays_text(schedule["weekdays"]))
    parts = [_window_text(schedule)] if "window" in schedule else []
    if days:
        parts.append(f"on {', '.join(days)} only")
    return " ".join(parts)


def _moment_text(moment: datetime, now: datetime, zone_name: str) -> str:
    """A local instant as a participant reads it: "20:00 today", "tomorrow", "20:00 on Thursday
    16 April" (a day alone when it starts at midnight)."""
    at = local(moment, zone_name)
    today = local_date_of(now, zone_name)
    if at.date() == today:
        day = "today"
    elif at.date() == today + timedelta(days=1):
        day = "tomorrow"
    else:
        day = f"{_DAY_NAMES[WEEKDAYS[at.weekday()]]} {at.day} {at:%B}"
        if at.year != local(now, zone_name).year:
            day += f" {at.year}"
    if at.time() == _MIDNIGHT:
        return day
    return f"{at:%H:%M} {day}" if day in ("today", "tomorrow") else f"{at:%H:%M} on {day}"


# With the database ---------------------------------------------------------------------------


def _reports_on(participant: Participant, schedule: dict[str, Any], day: date) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PlannedPrompt)
        .where(
            PlannedPrompt.participant_id == participant.id,
            PlannedPrompt.schedule_id == schedule["id"],
            PlannedPrompt.local_date == day,
        )
    )


def availability(
    participant: Participant, schedule: dict[str, Any], now: datetime, definition: dict[str, Any]
) -> str | None:
    """None when the participant may start a report of `schedule` now; else one line for
    their page saying when they can."""
    zone_name = participant.timezone
    day = report_day(schedule, now, zone_name, participant.start_date)
    count = _reports_on(participant, schedule, day.local_date)
    start = participant.start_date
    open_now = report_refusal(schedule, definition, now, zone_name, start) is None
    cap = schedule.get("max_per_day")
    capped = open_now and cap is not None and count >= cap
    if open_now and not capped:
        return None
    following = next_report_at(
        schedule,
        definition,
        now,
        zone_name,
        participant.start_date,
        after_day=day.local_date if capped else None,
    )
    if following is None:
        return "The days for this report are over."
    when = _moment_text(following, now, zone_name)
    if capped:
        return f"Thank you for today's {cap} reports! You can send more from {when}."
    return f"You can send this report from {when}."


def start_report(
    participant: Participant,
    schedule: dict[str, Any],
    now: datetime,
    channel: Channel,
    *,
    version_id: int,
    definition: dict[str, Any],
) -> tuple[PlannedPrompt | None, str | None]:
    """A prompt row of its own (sent now, open for the schedule's expiry), so a report is
    exported like any other prompt; refused as `report_refusal` says (outside the study, its
    days, weekdays or window, or past the daily cap), with the text that says why.
    `version_id` and `definition`: the study's current protocol version, as the caller has it
    (loading the study's versions here would decode every one of them)."""
    day = report_day(schedule, now, participant.timezone, participant.start_date)
    count = _reports_on(participant, schedule, day.local_date)
    refusal = report_refusal(
        schedule,
        definition,
        now,
        participant.timezone,
        participant.start_date,
        reports_that_day=count,
    )
    if refusal is not None:
        return None, refusal
    expires_at = now + timedelta(minutes=schedule["expires_after_minutes"])
    prompt = PlannedPrompt(
        participant_id=participant.id,
        protocol_version_id=version_id,
        schedule_id=schedule["id"],
        questionnaire_id=schedule["questionnaire"],
        occurrence=f"{day.local_date.isoformat()}#{count + 1}",
        revision=0,
        channel=channel,
        study_day=day.study_day,
        local_date=day.local_date,
        due_at=now,
        window_start_at=now,
        window_end_at=expires_at,
        expires_at=expires_at,
        status=PromptStatus.sent,
        status_reason="participant-initiated",
        attempts=1,
        sent_at=now,
        created_at=now,
    )
    db.session.add(prompt)
    db.session.flush()
    return prompt, None
