"""A coordinator's preview of a protocol: every prompt for one imagined participant, and the
burden it puts on them (prompts, items, minutes, SMS segments and what they cost)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from eas.delivery.segments import count_segments
from eas.protocols.sms_format import conversation_texts
from eas.scheduling.localtime import local
from eas.scheduling.planner import PlannedSlot, Subject, plan_prompts

#: Twilio's list price for one US SMS segment (2025), in USD; override with --price.
DEFAULT_PRICE_PER_SEGMENT = 0.0083
#: Reading and answering one EMA item takes a few seconds (Williams et al. 2021: ~10 items a
#: prompt in 1-2 minutes).
DEFAULT_SECONDS_PER_ITEM = 8
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


@dataclass(frozen=True)
class Preview:
    rows: list[PreviewRow]
    days: list[DayBurden]
    price_per_segment: float
    #: When the previewed participant's study starts, in words ("tomorrow", "today").
    starts: str = "tomorrow"

    @property
    def total_segments(self) -> int:
        return sum(day.segments for day in self.days)

    def summary(self) -> dict[str, Any]:
        count = len(self.days) or 1
        return {
            "days": len(self.days),
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
    )
    costs = _questionnaire_costs(definition)
    link_segments = count_segments(_WEB_LINK_MESSAGE).segments
    rows = []
    per_day: dict[int, list[PreviewRow]] = defaultdict(list)
    for slot in plan_prompts(definition, subject):
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
    duration = definition["study"]["duration_days"]
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
    return Preview(rows=rows, days=days, price_per_segment=price_per_segment)
