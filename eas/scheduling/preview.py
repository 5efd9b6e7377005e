"""A coordinator's preview of a protocol: every prompt for one imagined participant, and the
burden it puts on them (prompts, items, minutes, SMS segments and what they cost); and the
prompts a schedule's own `window` puts outside a participant's waking hours (said in the
preview and at enrolment, since the window silently takes the place of wake and sleep)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from eas.delivery.segments import count_segments
from eas.protocols.sms_format import conversation_texts
from eas.scheduling import segments as seg
from eas.scheduling.horizon import last_study_day
from eas.scheduling.localtime import local, local_date_of
from eas.scheduling.planner import PlannedSlot, Subject, plan_prompts
from eas.scheduling.windows import available_segments

#: Twilio's list price for one US SMS segment (2025), in USD; override with --price.
DEFAULT_PRICE_PER_SEGMENT = 0.0083
#: Reading and answering one EMA item takes a few seconds (Williams et al. 2021: ~10 items a
#: prompt in 1-2 minutes).
DEFAULT_SECONDS_PER_ITEM = 8
#: How much of an open-ended (until withdrawn) study a preview shows.
OPEN_ENDED_PREVIEW_DAYS = 28
_WEB_LINK_MESSAGE = "Your diary is ready: https://eas.example/p/AbCdEfGh1234 (open until 23:59)"


@dataclass(frozen=True)
class PreviewRow:
    slot: PlannedSlot
    local_due: str
    local_expires: str
    utc_due: str
    items: int
    segments: int


@dataclass(frozen=True)
class DayBurden:
    study_day: int
    local_date: date
    prompts: int
    items: int
    minutes: float
    segments: int


#: How a person reads a prompt's local time: "Thu 19 Mar 2026 21:15 EDT".
_LOCAL_FORMAT = "%a %d %b %Y %H:%M %Z"


@dataclass(frozen=True)
class WakingWarning:
    """A schedule whose own `window` puts prompts outside a participant's waking hours: the
    planner draws (`random`) or steps (`interval`) in the window instead of wake to sleep."""

    schedule_id: str
    #: The schedule's window, "21:00-22:00".
    window: str
    #: The participant's waking hours, "07:00-20:00" (and ", weekends 10:00-23:00").
    waking_hours: str
    #: How many of the prompts planned (to be sent) fall outside the waking hours.
    prompts: int
    #: The first of them, in the participant's zone: "Thu 19 Mar 2026 21:15 EDT".
    first_local: str
    first_study_day: int

    @property
    def message(self) -> str:
        plural = "s fall" if self.prompts != 1 else " falls"
        return (
            f"schedule '{self.schedule_id}' prompts in its own window {self.window}, not in "
            f"the waking hours {self.waking_hours}: {self.prompts} prompt{plural} outside "
            f"them, the first on {self.first_local} (study day {self.first_study_day})"
        )


def _hours(start: time, end: time) -> str:
    return f"{start:%H:%M}-{end:%H:%M}"


def waking_hours_text(subject: Subject) -> str:
    text = _hours(subject.wake, subject.sleep)
    if subject.weekend_wake and subject.weekend_sleep:
        text += f", weekends {_hours(subject.weekend_wake, subject.weekend_sleep)}"
    return text


def awake_at(subject: Subject, moment: datetime) -> bool:
    """Whether `moment` is in the subject's waking hours: the waking window of its local date,
    or of the day before when that one crosses midnight, bounded as the planner bounds them
    (weekend hours on Saturday and Sunday; a window's end excluded)."""
    today = local_date_of(moment, subject.timezone)
    return any(
        seg.contains(available_segments({}, subject, day), moment)
        for day in (today - timedelta(days=1), today)
    )


def waking_warnings(
    definition: dict[str, Any],
    subject: Subject,
    prompts: Iterable[tuple[str, int, datetime]],
) -> list[WakingWarning]:
    """For each schedule with a `window`, the prompts of `prompts` (schedule id, study day,
    due time: those that will be sent) that fall outside the subject's waking hours. A window
    inside the waking hours, or whose outside part blackouts cover, warns of nothing: what
    counts is where the planner put the prompts."""
    windows = {
        schedule["id"]: f"{schedule['window']['start']}-{schedule['window']['end']}"
        for schedule in definition["schedules"]
        if "window" in schedule
    }
    outside: dict[str, list[tuple[datetime, int]]] = defaultdict(list)
    for schedule_id, study_day, due_at in prompts:
        if schedule_id in windows and not awake_at(subject, due_at):
            outside[schedule_id].append((due_at, study_day))
    warnings = []
    for schedule_id, found in outside.items():
        first, study_day = min(found)
        warnings.append(
            WakingWarning(
                schedule_id=schedule_id,
                window=windows[schedule_id],
                waking_hours=waking_hours_text(subject),
                prompts=len(found),
                first_local=local(first, subject.timezone).strftime(_LOCAL_FORMAT),
                first_study_day=study_day,
            )
        )
    return sorted(warnings, key=lambda warning: warning.schedule_id)


@dataclass(frozen=True)
class Preview:
    rows: list[PreviewRow]
    days: list[DayBurden]
    price_per_segment: float
    #: When the previewed participant's study starts, in words ("tomorrow", "today").
    starts: str = "tomorrow"
    #: Schedules whose window puts prompts of the preview outside its waking hours.
    warnings: tuple[WakingWarning, ...] = ()

    @property
    def total_segments(self) -> int:
        return sum(day.segments for day in self.days)

    def summary(self) -> dict[str, Any]:
        """Burden per *active* day (a day with prompts): a burst design is not averaged over
        the empty weeks between its bursts."""
        active = sum(1 for day in self.days if day.prompts)
        count = active or 1
        return {
            "days": len(self.days),
            "active_days": active,
            "prompts": len(self.rows),
            "prompts_per_day": round(len(self.rows) / count, 2),
            "items_per_day": round(sum(d.items for d in self.days) / count, 1),
            "minutes_per_day": round(sum(d.minutes for d in self.days) / count, 1),
            "sms_segments_per_day": round(self.total_segments / count, 1),
            "sms_cost_per_day": round(self.total_segments * self.price_per_segment / count, 4),
            "sms_cost_total": round(self.total_segments * self.price_per_segment, 2),
        }


def _questionnaire_costs(definition: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Items and SMS segments (both directions) of answering each questionnaire by SMS."""
    costs = {}
    for questionnaire in definition["questionnaires"]:
        items = questionnaire["items"]
        # What the conversation sends (intro with item 1, one text per item, the thanks),
        # and one reply per item.
        outgoing = conversation_texts(questionnaire)
        segments = sum(count_segments(text).segments for text in outgoing) + len(items)
        costs[questionnaire["id"]] = (len(items), segments)
    return costs


def build_preview(
    definition: dict[str, Any],
    *,
    start: date,
    zone: str,
    wake: time,
    sleep: time,
    weekend_wake: time | None = None,
    weekend_sleep: time | None = None,
    channel: str | None = None,
    seed: int = 1,
    arm: str | None = None,
    price_per_segment: float = DEFAULT_PRICE_PER_SEGMENT,
    seconds_per_item: float = DEFAULT_SECONDS_PER_ITEM,
) -> Preview:
    subject = Subject(
        timezone=zone,
        start_date=start,
        wake=wake,
        sleep=sleep,
        channel=channel or definition["participant_defaults"]["channel"],
        seed=seed,
        weekend_wake=weekend_wake,
        weekend_sleep=weekend_sleep,
        arm=arm,
    )
    costs = _questionnaire_costs(definition)
    link_segments = count_segments(_WEB_LINK_MESSAGE).segments
    rows = []
    per_day: dict[int, list[PreviewRow]] = defaultdict(list)
    duration = last_study_day(definition) or OPEN_ENDED_PREVIEW_DAYS
    for slot in plan_prompts(definition, subject, days=(1, duration)):
        if slot.cancel_reason is not None:
            continue  # planned but never sent (an overlap, a clock change): no burden, no cost
        items, sms_segments = costs[slot.questionnaire_id]
        # Every item answered (the upper bound with branching); reminders as one segment each.
        segments = (sms_segments if slot.channel == "sms" else link_segments) + len(
            slot.reminders_at
        )
        row = PreviewRow(
            slot=slot,
            local_due=local(slot.due_at, zone).strftime("%Y-%m-%d %a %H:%M %Z"),
            local_expires=local(slot.expires_at, zone).strftime("%H:%M"),
            utc_due=slot.due_at.strftime("%Y-%m-%dT%H:%MZ"),
            items=items,
            segments=segments,
        )
        rows.append(row)
        per_day[slot.study_day].append(row)
    duration = last_study_day(definition) or OPEN_ENDED_PREVIEW_DAYS
    days = []
    for study_day in range(1, duration + 1):
        day_rows = per_day.get(study_day, [])
        items = sum(r.items for r in day_rows)
        days.append(
            DayBurden(
                study_day=study_day,
                local_date=subject.start_date.fromordinal(start.toordinal() + study_day - 1),
                prompts=len(day_rows),
                items=items,
                minutes=round(items * seconds_per_item / 60, 1),
                segments=sum(r.segments for r in day_rows),
            )
        )
    sent = ((r.slot.schedule_id, r.slot.study_day, r.slot.due_at) for r in rows)
    warnings = tuple(waking_warnings(definition, subject, sent))
    return Preview(rows=rows, days=days, price_per_segment=price_per_segment, warnings=warnings)
