"""The planner: protocol + participant (+ group) + seed -> every prompt, as pure data.

No database and no wall clock: the same inputs always give the same prompts. The rules:

* Study day N is the calendar date `start_date + N - 1` in the participant's zone.
* Times are local wall-clock times on that date, converted by `eas.scheduling.localtime`
  (a time in the spring-forward gap shifts forward; a repeated time means its first occurrence).
* `random`: the day's available time (waking window, or the schedule's window, minus
  blackouts, measured in real minutes), less the `per_day - 1` minimum gaps, is cut into
  `per_day` equal blocks; one uniform draw per block; the gaps are then put back, so each
  prompt is uniform within its own block and consecutive prompts are at least
  `min_gap_minutes` apart. Protocol validation guarantees `per_day * min_gap_minutes` fits; a
  day where it still cannot (a participant's own window) raises `PlanningError` instead of
  dropping prompts.
* `fixed` and `once` times are explicit: the waking window and blackouts do not move them.
* `interval`: every N minutes from the window's opening, skipping blackouts.
* `days` limits a schedule to study days (bursts); `weekdays` to days of the week;
  `days_per_week` picks that many of each study week's days at random (seeded).
* Groups: members share the draws of `random` schedules and `days_per_week` days. Draws use
  the group's seed, and the available time is the intersection of every member's available
  time on that calendar date (each in their own zone), so partners are prompted at the same
  instants, each inside their own waking day.
* Overlap (study `overlap`): an SMS prompt still open when the next SMS prompt is due closes
  then (`close_previous`, default), or the newer one is not sent (`skip_new`). Web prompts
  have their own links and never overlap.
* Pauses: a prompt due inside a pause is planned as cancelled with reason `paused`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from eas.core.timeofday import parse_hhmm
from eas.scheduling import segments as seg
from eas.scheduling.localtime import local, to_utc, window_bounds
from eas.scheduling.reasons import CancelReason

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PlanningError(ValueError):
    """The inputs cannot be planned as the protocol asks (never a silent drop)."""


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


def random_fits(per_day: int, gap_minutes: int, available_minutes: int) -> bool:
    """Whether `per_day` draws at least `gap_minutes` apart fit: the protocol rule (per_day x gap
    within the window), and at least a minute per block once the gaps are set aside."""
    return (
        per_day * gap_minutes <= available_minutes
        and available_minutes - (per_day - 1) * gap_minutes >= per_day
    )


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from parts (Python's hash() is salted per process)."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _blackout_holes(schedule: dict[str, Any], day: date, zone: str) -> list[seg.Segment]:
    holes = []
    # Windows and blackouts may both cross midnight: one that began the evening before can
    # cover this morning, one that begins tonight can cover the window's end.
    for date_ in (day - timedelta(days=1), day, day + timedelta(days=1)):
        weekday = WEEKDAY_NAMES[date_.weekday()]
        for blackout in schedule.get("blackouts", []):
            if weekday in blackout.get("weekdays", WEEKDAY_NAMES):
                holes.append(
                    window_bounds(
                        date_,
                        parse_hhmm(blackout["start"]),
                        parse_hhmm(blackout["end"]),
                        zone,
                    )
                )
    return holes


def _window_times(schedule: dict[str, Any], subject: Subject, day: date) -> tuple[time, time]:
    if "window" in schedule:
        window = schedule["window"]
        return parse_hhmm(window["start"]), parse_hhmm(window["end"])
    return subject.waking_window(day)


def _window_bounds(schedule: dict[str, Any], subject: Subject, day: date) -> seg.Segment:
    """UTC bounds of the day's window; one that crosses midnight ends no later than the next
    day's window opens (validation refuses such windows; this keeps days apart regardless)."""
    start, end = _window_times(schedule, subject, day)
    opens, closes = window_bounds(day, start, end, subject.timezone)
    if end <= start:
        following = day + timedelta(days=1)
        next_start, _ = _window_times(schedule, subject, following)
        closes = min(closes, to_utc(following, next_start, subject.timezone))
    return opens, closes


def available_segments(schedule: dict[str, Any], subject: Subject, day: date) -> list[seg.Segment]:
    """The subject's time for this schedule on local date `day`, in UTC segments."""
    window = _window_bounds(schedule, subject, day)
    return seg.subtract([window], _blackout_holes(schedule, day, subject.timezone))


def _spans_clock_change(segments: list[seg.Segment], zone_name: str) -> bool:
    start, end = segments[0][0], segments[-1][1]
    return local(start, zone_name).utcoffset() != local(end, zone_name).utcoffset()


class _Planner:
    def __init__(self, definition: dict[str, Any], subject: Subject, group: Group | None) -> None:
        self.definition = definition
        self.study = definition["study"]
        self.subject = subject
        self.group = group
        self.draw_seed = group.seed if group else subject.seed
        #: Per schedule: its channel for this subject and its expiry delay.
        self.constants = {
            schedule["id"]: (
                schedule.get("channel") or subject.channel,
                timedelta(minutes=schedule["expires_after_minutes"]),
            )
            for schedule in definition["schedules"]
        }

    def study_date(self, study_day: int) -> date:
        return self.subject.start_date + timedelta(days=study_day - 1)

    def active_days(self, schedule: dict[str, Any]) -> list[int]:
        duration = self.study["duration_days"]
        days = [d for d in schedule.get("days", range(1, duration + 1)) if d <= duration]
        if "weekdays" in schedule:
            days = [
                d
                for d in days
                if WEEKDAY_NAMES[self.study_date(d).weekday()] in schedule["weekdays"]
            ]
        if "days_per_week" not in schedule:
            return days
        if self.group is not None:
            return self.group_days(schedule, days)
        chosen = []
        for week in range((duration + 6) // 7):
            candidates = [d for d in days if week * 7 < d <= week * 7 + 7]
            rng = random.Random(derive_seed(self.draw_seed, schedule["id"], "week", week))
            count = min(schedule["days_per_week"], len(candidates))
            chosen.extend(sorted(rng.sample(candidates, count)))
        return chosen

    def group_days(self, schedule: dict[str, Any], days: list[int]) -> list[int]:
        """Members share calendar dates: weeks count from the earliest member's start date and
        each week's dates are drawn from all seven, whoever has a study day on them."""
        if not days:
            return []
        anchor = min(member.start_date for member in self.group.members)
        chosen: set[date] = set()
        first, last = self.study_date(days[0]), self.study_date(days[-1])
        for week in range((first - anchor).days // 7, (last - anchor).days // 7 + 1):
            rng = random.Random(derive_seed(self.draw_seed, schedule["id"], "week", week))
            week_dates = [anchor + timedelta(days=week * 7 + offset) for offset in range(7)]
            chosen.update(rng.sample(week_dates, schedule["days_per_week"]))
        return [d for d in days if self.study_date(d) in chosen]

    def plan(self, with_reminders: bool) -> list[PlannedSlot]:
        slots: list[PlannedSlot] = []
        for schedule in self.definition["schedules"]:
            if schedule["type"] == "event":
                continue
            for study_day in self.active_days(schedule):
                slots.extend(self.slots_for_day(schedule, study_day))
        slots.sort(key=lambda s: (s.due_at, s.schedule_id))
        # The slots are this planner's own objects until returned, so they are adjusted in place.
        if self.subject.pauses:
            for slot in slots:
                self.apply_pauses(slot)
        self.apply_overlap(slots)
        # Overlaps are decided on the whole plan, so where planning starts changes nothing.
        if self.subject.not_before is not None:
            slots = [s for s in slots if s.due_at >= self.subject.not_before]
        if with_reminders:
            self.add_reminders(slots)
        return slots

    def slots_for_day(self, schedule: dict[str, Any], study_day: int) -> list[PlannedSlot]:
        day = self.study_date(study_day)
        kind = schedule["type"]
        if kind == "fixed":
            slots, seen = [], set()
            for text in schedule["times"]:
                due = to_utc(day, parse_hhmm(text), self.subject.timezone)
                slot = self.slot(schedule, study_day, day, f"{day.isoformat()}@{text}", due)
                if due in seen:  # 02:30 shifted onto 03:30 on the spring-forward day
                    slot.cancel_reason = CancelReason.clock_change.value
                seen.add(due)
                slots.append(slot)
            return slots
        if kind == "once":
            if study_day != schedule["day"]:
                return []
            due = to_utc(day, parse_hhmm(schedule["time"]), self.subject.timezone)
            return [self.slot(schedule, study_day, day, "once", due)]
        if kind == "interval":
            return self.interval_slots(schedule, study_day, day)
        if kind == "random":
            return self.random_slots(schedule, study_day, day)
        raise PlanningError(f"unknown schedule type {kind!r}")

    def slot(
        self,
        schedule: dict[str, Any],
        study_day: int,
        day: date,
        occurrence: str,
        due: datetime,
        window: seg.Segment | None = None,
    ) -> PlannedSlot:
        channel, expires_after = self.constants[schedule["id"]]
        return PlannedSlot(
            schedule["id"],
            schedule["questionnaire"],
            occurrence,
            channel,
            study_day,
            day,
            due,
            window[0] if window else due,
            window[1] if window else due,
            due + expires_after,
        )

    def interval_slots(self, schedule, study_day, day) -> list[PlannedSlot]:
        segments = available_segments(schedule, self.subject, day)
        if not segments:
            return []
        step = timedelta(minutes=schedule["every_minutes"])
        # The grid starts at the window's opening, even when a blackout covers it.
        opening = _window_bounds(schedule, self.subject, day)[0]
        moment, end, number, slots = opening, segments[-1][1], 0, []
        while moment < end:
            if seg.contains(segments, moment):
                number += 1
                slots.append(
                    self.slot(schedule, study_day, day, f"{day.isoformat()}#{number}", moment)
                )
            moment += step
        return slots

    def random_segments(self, schedule, day) -> list[seg.Segment]:
        if self.group is None:
            return available_segments(schedule, self.subject, day)
        shared = available_segments(schedule, self.group.members[0], day)
        for member in self.group.members[1:]:
            shared = seg.intersect(shared, available_segments(schedule, member, day))
        return shared

    def random_slots(self, schedule, study_day, day) -> list[PlannedSlot]:
        segments = self.random_segments(schedule, day)
        timeline = seg.Timeline(segments)
        total = timeline.total
        count, gap = schedule["per_day"], schedule["min_gap_minutes"]
        if not random_fits(count, gap, total):
            whose = "the group's shared waking time" if self.group else "the waking window"
            clock_change = ""
            if segments and _spans_clock_change(segments, self.subject.timezone):
                clock_change = "; the clocks change during it"
            raise PlanningError(
                f"schedule '{schedule['id']}' on {day.isoformat()}: {count} prompts "
                f"{gap} minutes apart do not fit {whose} ({total} minutes available"
                f"{clock_change})"
            )
        prefix = day.isoformat()
        rng = random.Random(derive_seed(self.draw_seed, schedule["id"], prefix))
        # The gaps are set aside, the rest is cut into equal blocks with one uniform draw each,
        # and the gaps are put back: every draw is uniform within its own block, and
        # consecutive draws are at least `gap` apart.
        free = total - (count - 1) * gap
        bounds = [index * free // count for index in range(count + 1)]
        slots = []
        for index in range(count):
            low, high = bounds[index] + index * gap, bounds[index + 1] - 1 + index * gap
            offset = rng.randint(low, high)
            block = (timeline.at(low), timeline.at(high) + seg.MINUTE)
            slots.append(
                self.slot(
                    schedule, study_day, day, f"{prefix}#{index + 1}", timeline.at(offset), block
                )
            )
        return slots

    def apply_pauses(self, slot: PlannedSlot) -> None:
        for start, end in self.subject.pauses:
            if start <= slot.due_at and (end is None or slot.due_at < end):
                slot.cancel_reason = CancelReason.paused.value
                return

    def apply_overlap(self, slots: list[PlannedSlot]) -> None:
        skip_new = self.study.get("overlap", "close_previous") == "skip_new"
        open_slot: PlannedSlot | None = None
        for slot in slots:
            if slot.channel != "sms" or slot.cancel_reason:
                continue
            if open_slot is not None and open_slot.expires_at > slot.due_at:
                if skip_new or open_slot.due_at == slot.due_at:
                    slot.cancel_reason = CancelReason.overlap.value
                    continue
                open_slot.expires_at = slot.due_at
            open_slot = slot

    def add_reminders(self, slots: list[PlannedSlot]) -> None:
        delays = {
            schedule["id"]: [
                timedelta(minutes=reminder["after_minutes"])
                for reminder in schedule.get("reminders", [])
            ]
            for schedule in self.definition["schedules"]
        }
        for slot in slots:
            if delays[slot.schedule_id]:
                slot.reminders_at = tuple(
                    moment
                    for delay in delays[slot.schedule_id]
                    for moment in [slot.due_at + delay]
                    if moment < slot.expires_at
                )


def plan_prompts(
    definition: dict[str, Any],
    subject: Subject,
    group: Group | None = None,
    *,
    with_reminders: bool = True,
) -> list[PlannedSlot]:
    """Every prompt of the study for `subject`, sorted by due time.

    Reminder times follow from each prompt and its schedule; callers that store prompts (the
    dispatcher derives reminders itself) skip computing them.
    """
    return _Planner(definition, subject, group).plan(with_reminders)
