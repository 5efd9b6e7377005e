"""The planner: protocol + participant (+ group) + seed -> every prompt, as pure data.

No database and no wall clock: the same inputs always give the same prompts. The rules:

* Study day N is the calendar date `start_date + N - 1` in the participant's zone.
* Times are local wall-clock times on that date, converted by `eas.scheduling.localtime`
  (a time in the spring-forward gap shifts forward; a repeated time means its first occurrence).
* Times, windows and blocks are clock times or offsets from the participant's own wake and
  sleep (`eas.scheduling.daytimes`), resolved on each day's waking window.
* `random`: stratified draws (`eas.scheduling.draws`) in the day's available time (waking
  window, or the schedule's window, minus blackouts), or in each explicit block in turn, with
  one beep sequence across the blocks. Draws come after every other schedule and keep clear
  of the day's other SMS prompts: by the minimum gap from fixed and once times, by a minute
  from the rest, so no prompt is lost to a coincidence of times. Protocol validation checks
  the fit on the default waking day; a day where it still cannot fit (a participant's own
  hours) raises `PlanningError` instead of dropping prompts.
* `fixed` and `once` times are explicit: the waking window and blackouts do not move them.
* `interval`: every N minutes from the window's opening, skipping blackouts, at most
  `max_per_day`.
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
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from eas.scheduling import segments as seg
from eas.scheduling.adjustments import add_reminders, apply_overlap, apply_pauses
from eas.scheduling.daytimes import parse_daytime
from eas.scheduling.draws import stratified_draws
from eas.scheduling.horizon import last_study_day
from eas.scheduling.localtime import local, to_utc
from eas.scheduling.reasons import CancelReason
from eas.scheduling.subjects import Group, PlannedSlot, Subject
from eas.scheduling.windows import (
    WEEKDAY_NAMES,
    available_segments,
    block_segments,
    window_bounds_of,
)

_DAY = timedelta(days=1)


class PlanningError(ValueError):
    """The inputs cannot be planned as the protocol asks (never a silent drop)."""


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from parts (Python's hash() is salted per process)."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _without(segments: list[seg.Segment], holes: list[seg.Segment]) -> list[seg.Segment]:
    return seg.subtract(segments, holes) if holes else segments


def _spans_clock_change(segments: list[seg.Segment], zone_name: str) -> bool:
    start, end = segments[0][0], segments[-1][1]
    return local(start, zone_name).utcoffset() != local(end, zone_name).utcoffset()


class _Planner:
    def __init__(
        self,
        definition: dict[str, Any],
        subject: Subject,
        group: Group | None,
        days: tuple[int, int] | None = None,
    ) -> None:
        self.definition = definition
        self.study = definition["study"]
        self.end = last_study_day(definition)
        if days is None and self.end is None:
            raise PlanningError("an open-ended study is planned up to a horizon: give days")
        self.first_day, self.last_day = days or (1, self.end)
        self.subject = subject
        self.group = group
        self.draw_seed = group.seed if group else subject.seed
        #: This subject's schedules: those of every arm, and of their own.
        self.schedules = [
            schedule
            for schedule in definition["schedules"]
            if "arms" not in schedule or subject.arm in schedule["arms"]
        ]
        #: Per schedule: its channel for this subject and its expiry delay.
        self.constants = {
            schedule["id"]: (
                schedule.get("channel") or subject.channel,
                timedelta(minutes=schedule["expires_after_minutes"]),
            )
            for schedule in definition["schedules"]
        }

    def member_days(self, member: Subject) -> tuple[int, int]:
        """This plan's days as another group member's study days (their start may differ)."""
        shift = (self.subject.start_date - member.start_date).days
        return max(1, self.first_day + shift), max(1, self.last_day + shift)

    def study_date(self, study_day: int) -> date:
        return self.subject.start_date + timedelta(days=study_day - 1)

    def active_days(self, schedule: dict[str, Any], margin: int = 0) -> list[int]:
        """The study days the schedule runs on within the days planned now (and `margin` days
        either side). Days of the week are drawn (`days_per_week`) from the whole week, as a
        complete plan would, so a plan that stops at a horizon and is extended later draws the
        same days."""
        first, last = self.first_day - margin, self.last_day + margin
        # Whole weeks past the horizon, but never past the study's end.
        end = (last + 6) // 7 * 7 if self.end is None else min(self.end, (last + 6) // 7 * 7)
        days = [d for d in schedule.get("days", range(1, end + 1)) if d <= end]
        if "weekdays" in schedule:
            days = [
                d
                for d in days
                if WEEKDAY_NAMES[self.study_date(d).weekday()] in schedule["weekdays"]
            ]
        if "days_per_week" in schedule:
            days = self.week_days(schedule, days, end)
        return [d for d in days if first <= d <= last]

    def week_days(self, schedule: dict[str, Any], days: list[int], end: int) -> list[int]:
        if self.group is not None:
            return self.group_days(schedule, days)
        chosen = []
        for week in range((end + 6) // 7):
            candidates = [d for d in days if week * 7 < d <= week * 7 + 7]
            rng = random.Random(derive_seed(self.draw_seed, schedule["id"], "week", week))
            count = min(schedule["days_per_week"], len(candidates))
            chosen.extend(sorted(rng.sample(candidates, count)))
        return chosen

    def group_days(self, schedule: dict[str, Any], days: list[int]) -> list[int]:
        """Members share calendar dates: weeks count from the earliest member's start date and
        each week's dates are drawn from its seven (those of the schedule's `weekdays`),
        whoever has a study day on them."""
        if not days:
            return []
        anchor = min(member.start_date for member in self.group.members)
        chosen: set[date] = set()
        first, last = self.study_date(days[0]), self.study_date(days[-1])
        for week in range((first - anchor).days // 7, (last - anchor).days // 7 + 1):
            rng = random.Random(derive_seed(self.draw_seed, schedule["id"], "week", week))
            week_dates = [
                moment
                for offset in range(7)
                for moment in [anchor + timedelta(days=week * 7 + offset)]
                if WEEKDAY_NAMES[moment.weekday()] in schedule.get("weekdays", WEEKDAY_NAMES)
            ]
            chosen.update(rng.sample(week_dates, min(schedule["days_per_week"], len(week_dates))))
        return [d for d in days if self.study_date(d) in chosen]

    def plan(self, with_reminders: bool) -> list[PlannedSlot]:
        # Random draws come last and keep clear of the SMS prompts already planned that day (a
        # fixed diary, an earlier random schedule's draws): no prompt is lost to a coincidence.
        # A window across midnight meets the next day's prompts: those of the days either side
        # count too, also at the ends of a plan made in pieces (`horizon`).
        around = self.explicit_slots(margin=1)
        slots = [s for s in around if self.first_day <= s.study_day <= self.last_day]
        taken = self.taken_times(around)
        if self.group is not None:
            for member in self.group.members:
                if member is not self.subject:
                    taken_by_member = self.taken_times(
                        _Planner(
                            self.definition, member, None, self.member_days(member)
                        ).explicit_slots(margin=1)
                    )
                    for day, moments in taken_by_member.items():
                        taken[day].extend(moments)
        for schedule in self.schedules:
            if schedule["type"] != "random":
                continue
            drawn = []
            for study_day in self.active_days(schedule):
                drawn += self.random_slots(schedule, study_day, self.study_date(study_day), taken)
            slots.extend(drawn)
            # Later random schedules keep clear of these draws (a schedule's own are apart).
            if self.draws_by_sms(schedule):
                for slot in drawn:
                    taken[slot.local_date].append((slot.due_at, False))
        slots.sort(key=lambda s: (s.due_at, s.schedule_id))
        # The slots are this planner's own objects until returned, so they are adjusted in place.
        if self.subject.pauses:
            for slot in slots:
                apply_pauses(slot, self.subject.pauses)
        apply_overlap(slots, skip_new=self.study.get("overlap") == "skip_new")
        # Overlaps are decided on the whole plan, so where planning starts changes nothing.
        if self.subject.not_before is not None:
            slots = [s for s in slots if s.due_at >= self.subject.not_before]
        if with_reminders:
            add_reminders(slots, self.definition["schedules"])
        return slots

    def explicit_slots(self, margin: int = 0) -> list[PlannedSlot]:
        """The prompts of fixed, once and interval schedules (no draws) of the days planned,
        and `margin` days either side."""
        slots: list[PlannedSlot] = []
        for schedule in self.schedules:
            if schedule["type"] in ("event", "random"):
                continue
            for study_day in self.active_days(schedule, margin):
                slots.extend(self.slots_for_day(schedule, study_day))
        return slots

    def draws_by_sms(self, schedule: dict[str, Any]) -> bool:
        """Whether a random schedule's draws go out by SMS (for a group: to any member)."""
        if schedule.get("channel"):
            return schedule["channel"] == "sms"
        members = self.group.members if self.group else (self.subject,)
        return any(member.channel == "sms" for member in members)

    def taken_times(self, slots: list[PlannedSlot]) -> dict[date, list[tuple[datetime, bool]]]:
        """SMS prompts by local date, each with whether random draws keep their whole minimum
        gap from it (fixed and once times) or only avoid its instant (interval steps, other
        draws: keeping a gap from those could leave no time at all)."""
        kinds = {schedule["id"]: schedule["type"] for schedule in self.definition["schedules"]}
        taken: dict[date, list[tuple[datetime, bool]]] = defaultdict(list)
        for slot in slots:
            if slot.channel == "sms" and slot.cancel_reason is None:
                keeps_gap = kinds[slot.schedule_id] in ("fixed", "once")
                taken[slot.local_date].append((slot.due_at, keeps_gap))
        return taken

    def slots_for_day(self, schedule: dict[str, Any], study_day: int) -> list[PlannedSlot]:
        day = self.study_date(study_day)
        kind = schedule["type"]
        if kind == "fixed":
            slots, seen = [], set()
            wake, sleep = self.subject.waking_window(day)
            for text in schedule["times"]:
                daytime = parse_daytime(text)
                moment = daytime.on(day, wake, sleep)
                due = to_utc(moment.date(), moment.time(), self.subject.timezone)
                slot = self.slot(schedule, study_day, day, f"{day.isoformat()}@{text}", due)
                if due in seen:
                    # 02:30 shifted onto 03:30 on the spring-forward day, or a time relative
                    # to waking that this participant's hours put on a clock time's instant.
                    slot.cancel_reason = (
                        CancelReason.overlap.value
                        if daytime.relative
                        else CancelReason.clock_change.value
                    )
                seen.add(due)
                slots.append(slot)
            return slots
        if kind == "once":
            if study_day != schedule["day"]:
                return []
            moment = parse_daytime(schedule["time"]).on(day, *self.subject.waking_window(day))
            due = to_utc(moment.date(), moment.time(), self.subject.timezone)
            return [self.slot(schedule, study_day, day, "once", due)]
        if kind == "interval":
            return self.interval_slots(schedule, study_day, day)
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
        cap = schedule.get("max_per_day")
        # The grid starts at the window's opening, even when a blackout covers it.
        opening = window_bounds_of(schedule, self.subject, day)[0]
        moment, end, number, slots = opening, segments[-1][1], 0, []
        while moment < end and (cap is None or number < cap):
            if seg.contains(segments, moment):
                number += 1
                slots.append(
                    self.slot(schedule, study_day, day, f"{day.isoformat()}#{number}", moment)
                )
            moment += step
        return slots

    def random_segments(self, schedule, day, member_segments) -> list[seg.Segment]:
        if self.group is None:
            return member_segments(self.subject)
        shared = member_segments(self.group.members[0])
        for member in self.group.members[1:]:
            shared = seg.intersect(shared, member_segments(member))
        return shared

    def random_slots(self, schedule, study_day, day, taken) -> list[PlannedSlot]:
        """Draws of a random schedule: one stratified sequence over its window, or over each
        explicit block in turn; the beeps are numbered across the blocks."""
        holes = []
        near = [found for date_ in (day - _DAY, day, day + _DAY) for found in taken.get(date_, ())]
        if near and self.draws_by_sms(schedule):
            # Clear of fixed SMS prompts by the gap, of others by a minute (never one instant).
            gap = max(timedelta(minutes=schedule["min_gap_minutes"]), seg.MINUTE)
            for moment, keeps_gap in near:
                width = gap if keeps_gap else seg.MINUTE
                holes.append((moment - width + seg.MINUTE, moment + width))
        prefix = day.isoformat()
        rng = random.Random(derive_seed(self.draw_seed, schedule["id"], prefix))
        if "blocks" not in schedule:
            segments = self.random_segments(
                schedule, day, lambda who: available_segments(schedule, who, day)
            )
            parts = [(schedule["per_day"], _without(segments, holes), "", segments)]
        else:
            by_member = {}
            for who in self.group.members if self.group else (self.subject,):
                by_member[id(who)] = block_segments(schedule, who, day)
            parts = []
            for index, block in enumerate(schedule["blocks"]):
                segments = self.random_segments(
                    schedule, day, lambda who, index=index: by_member[id(who)][index][1]
                )
                where = f" block {index + 1} ({block['start']}-{block['end']})"
                parts.append((block["prompts"], _without(segments, holes), where, segments))
        slots: list[PlannedSlot] = []
        for count, segments, where, unholed in parts:
            if segments != unholed:
                where += " (kept clear of the day's other SMS prompts)"
            for due, block in self.draw(schedule, day, count, segments, where, rng):
                number = len(slots) + 1
                slots.append(self.slot(schedule, study_day, day, f"{prefix}#{number}", due, block))
        return slots

    def draw(self, schedule, day, count, segments, where, rng):
        drawn = stratified_draws(rng, segments, count, schedule["min_gap_minutes"])
        if drawn is None:
            whose = "the group's shared waking time" if self.group else "the waking window"
            clock_change = ""
            if segments and _spans_clock_change(segments, self.subject.timezone):
                clock_change = "; the clocks change during it"
            raise PlanningError(
                f"schedule '{schedule['id']}'{where} on {day.isoformat()}: {count} prompts "
                f"{schedule['min_gap_minutes']} minutes apart do not fit {whose} "
                f"({seg.available_minutes(segments)} minutes available{clock_change})"
            )
        return drawn


def plan_prompts(
    definition: dict[str, Any],
    subject: Subject,
    group: Group | None = None,
    *,
    with_reminders: bool = True,
    days: tuple[int, int] | None = None,
) -> list[PlannedSlot]:
    """Every prompt of the study for `subject` (or of study days `days`, first and last, as
    `eas.scheduling.horizon` plans long studies), sorted by due time.

    Reminder times follow from each prompt and its schedule; callers that store prompts (the
    dispatcher derives reminders itself) skip computing them.
    """
    return _Planner(definition, subject, group, days).plan(with_reminders)
