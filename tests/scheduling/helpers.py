"""Small protocols and participants for the planner's tests, and readings of its plans."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from eas.protocols.validation import validate_protocol_text
from eas.scheduling.localtime import local
from eas.scheduling.planner import PlannedSlot, Subject

NY = "America/New_York"
QUESTIONNAIRE = {
    "id": "q",
    "items": [{"id": "mood", "type": "scale", "min": 0, "max": 10, "text": "M"}],
}
#: Monday 2 March 2026: a quiet week in New York (its clocks change on 8 March).
MONDAY = date(2026, 3, 2)


def definition(*schedules: dict[str, Any], days: int = 7, defaults=None, **study) -> dict:
    """A validated protocol (defaults filled) with these schedules, ids s0, s1, ..."""
    doc: dict[str, Any] = {
        "study": {"id": "t", "title": "T", "timezone": NY, "duration_days": days, **study},
        "questionnaires": [QUESTIONNAIRE],
        "schedules": [
            {"id": f"s{index}", "questionnaire": "q", **schedule}
            for index, schedule in enumerate(schedules)
        ],
    }
    if defaults:
        doc["participant_defaults"] = defaults
    return validate_protocol_text(json.dumps(doc), "p.yaml").definition


def clock(text: str) -> time:
    return time.fromisoformat(text)


def subject(zone: str = NY, start: date = MONDAY, wake="09:00", sleep="22:00", **more) -> Subject:
    more.setdefault("channel", "sms")
    more.setdefault("seed", 1)
    for name in ("weekend_wake", "weekend_sleep"):
        if isinstance(more.get(name), str):
            more[name] = clock(more[name])
    return Subject(zone, start, clock(wake), clock(sleep), **more)


def wall(slot_or_moment: PlannedSlot | datetime, zone: str = NY) -> datetime:
    """The local wall-clock time, naive, so it compares with datetime(...) literals."""
    moment = slot_or_moment.due_at if isinstance(slot_or_moment, PlannedSlot) else slot_or_moment
    return local(moment, zone).replace(tzinfo=None)


def by_day(slots: list[PlannedSlot]) -> dict[date, list[PlannedSlot]]:
    days: dict[date, list[PlannedSlot]] = {}
    for slot in slots:
        days.setdefault(slot.local_date, []).append(slot)
    return days
