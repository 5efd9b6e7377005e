"""Schedules: when a questionnaire is sent."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from eas.protocols.fields import (
    CHANNELS,
    SCHEDULE_TYPES,
    WEEKDAYS,
    DayTimeField,
    LocalTime,
    StrictSchema,
    identifier,
)
from eas.scheduling.daytimes import parse_daytime


class ReminderSchema(StrictSchema):
    after_minutes = fields.Integer(required=True, validate=validate.Range(min=1))
    text = fields.String(validate=validate.Length(1, 300))


class WindowSchema(StrictSchema):
    start = DayTimeField(required=True)
    end = DayTimeField(required=True)


class BlockSchema(StrictSchema):
    start = DayTimeField(required=True)
    end = DayTimeField(required=True)
    prompts = fields.Integer(
        load_default=1,
        validate=validate.Range(1, 12),
        metadata={"description": "Prompts drawn in this block (default 1)."},
    )


class BlackoutSchema(StrictSchema):
    start = LocalTime(required=True)
    end = LocalTime(required=True)
    weekdays = fields.List(
        fields.String(validate=validate.OneOf(WEEKDAYS)),
        validate=validate.Length(min=1),
        metadata={"description": "Days of the week it applies to (default: every day)."},
    )


_SCHEDULE_FIELDS_BY_TYPE: dict[str, set[str]] = {
    "fixed": {"times", "days_per_week"},
    "random": {"per_day", "blocks", "min_gap_minutes", "window", "blackouts", "days_per_week"},
    "interval": {"every_minutes", "window", "blackouts", "days_per_week", "max_per_day"},
    "once": {"day", "time"},
    "event": {"keyword", "max_per_day", "window"},
}
_REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "fixed": ("times",),
    "random": (),  # per_day or blocks: see check_type_fields
    "interval": ("every_minutes",),
    "once": ("day", "time"),
    "event": ("keyword",),
}
_TYPED_SCHEDULE_FIELDS = set().union(*_SCHEDULE_FIELDS_BY_TYPE.values())


def _late_reminders(data: dict[str, Any]) -> dict[int, dict[str, list[str]]]:
    """Reminders due when their prompt has already expired, by position.

    Runs even when fields have errors (to report every mistake at once), so `data` holds only
    what passed: an invalid expiry is missing, and a reminder that failed its own checks is
    what is left of it (`{}` for `[5]` or `[{after: 5}]`). Those have their own errors.
    """
    expires = data.get("expires_after_minutes")
    if not isinstance(expires, int):
        return {}
    late: dict[int, dict[str, list[str]]] = {}
    for index, reminder in enumerate(data.get("reminders", [])):
        after = reminder.get("after_minutes") if isinstance(reminder, dict) else None
        if isinstance(after, int) and after >= expires:
            late[index] = {
                "after_minutes": [f"must come before the prompt expires ({expires} minutes)"]
            }
    return late


def _is_clock(text: Any) -> bool:
    return isinstance(text, str) and not parse_daytime(text).relative


def _random_shape(kind: str, original: Any, data: dict[str, Any]) -> dict[str, list[str]]:
    """A random schedule gives per_day (with an optional window) or explicit blocks."""
    if kind != "random":
        return {}
    if "blocks" in original:
        clash = [name for name in ("per_day", "window") if name in original]
        problems = {
            name: ["does not apply with blocks (each block sets its own)"] for name in clash
        }
        problems.update(_block_order_problems(data.get("blocks", [])))
        return problems
    if "per_day" not in original:
        return {"per_day": ["is required for a random schedule (or give blocks)"]}
    return {}


def _block_order_problems(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Blocks in clock times must each open before they close and come in order without
    overlapping; relative ones are checked on the default waking day (crossref)."""
    problems: dict[int, dict[str, list[str]]] = {}
    previous_end: str | None = None
    for index, block in enumerate(blocks):
        start, end = block.get("start"), block.get("end")
        if not (_is_clock(start) and _is_clock(end)):
            previous_end = None
            continue
        if end <= start:
            problems[index] = {"end": [f"must be after the block's start {start}"]}
        elif previous_end is not None and start < previous_end:
            problems[index] = {"start": [f"overlaps the block before (it ends {previous_end})"]}
        previous_end = end
    return {"blocks": problems} if problems else {}


def _days_per_week_problem(data: dict[str, Any]) -> dict[str, list[str]]:
    weekdays, count = data.get("weekdays"), data.get("days_per_week")
    if weekdays is None or count is None or count <= len(set(weekdays)):
        return {}
    return {
        "days_per_week": [
            f"{count} days a week, but weekdays allows only {len(set(weekdays))} "
            f"({', '.join(weekdays)})"
        ]
    }


class ScheduleSchema(StrictSchema):
    id = identifier("Schedule id.", required=True)
    questionnaire = fields.String(required=True)
    type = fields.String(required=True, validate=validate.OneOf(SCHEDULE_TYPES))
    channel = fields.String(
        validate=validate.OneOf(CHANNELS),
        metadata={"description": "Overrides the participant's channel for this schedule."},
    )
    expires_after_minutes = fields.Integer(load_default=60, validate=validate.Range(1, 1440))
    reminders = fields.List(fields.Nested(ReminderSchema), load_default=list)
    days = fields.List(
        fields.Integer(validate=validate.Range(min=1)),
        validate=validate.Length(min=1),
        metadata={"description": "Study days on which the schedule runs (default: all)."},
    )
    weekdays = fields.List(
        fields.String(validate=validate.OneOf(WEEKDAYS)),
        validate=validate.Length(min=1),
        metadata={"description": "Days of the week on which the schedule runs (default: all)."},
    )
    arms = fields.List(
        fields.String(),
        validate=validate.Length(min=1),
        metadata={"description": "The study arms this schedule runs in (default: every arm)."},
    )
    note = fields.String()
    times = fields.List(DayTimeField(), validate=validate.Length(min=1))
    blackouts = fields.List(
        fields.Nested(BlackoutSchema),
        metadata={"description": "Local periods without prompts, e.g. school hours."},
    )
    days_per_week = fields.Integer(
        validate=validate.Range(1, 7),
        metadata={"description": "Run on this many random days of each study week."},
    )
    per_day = fields.Integer(validate=validate.Range(1, 48))
    blocks = fields.List(
        fields.Nested(BlockSchema),
        validate=validate.Length(1, 48),
        metadata={
            "description": "Explicit blocks of the day, each with its own number of random "
            "prompts; one beep sequence across them (instead of per_day and window)."
        },
    )
    min_gap_minutes = fields.Integer(validate=validate.Range(0, 720))
    window = fields.Nested(WindowSchema)
    every_minutes = fields.Integer(validate=validate.Range(15, 1440))
    day = fields.Integer(validate=validate.Range(min=1))
    time = DayTimeField()
    keyword = fields.String(
        validate=validate.Regexp(r"^[A-Za-z][A-Za-z0-9]{0,19}$", error="must be one word")
    )
    max_per_day = fields.Integer(validate=validate.Range(min=1))

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def check_type_fields(self, data: dict[str, Any], original: Any, **kwargs) -> None:
        # `data` holds only the fields that passed their own checks (see _late_reminders).
        kind = data.get("type")
        if kind not in _SCHEDULE_FIELDS_BY_TYPE:
            return
        errors: dict[str, Any] = {}
        for name in sorted(_TYPED_SCHEDULE_FIELDS - _SCHEDULE_FIELDS_BY_TYPE[kind]):
            if name in original:
                errors[name] = [f"does not apply to a {kind} schedule"]
        for name in _REQUIRED_BY_TYPE[kind]:
            if name not in original:
                errors[name] = [f"is required for a {kind} schedule"]
        errors.update(_random_shape(kind, original, data))
        errors.update(_days_per_week_problem(data))
        if kind == "event" and isinstance(data.get("window"), dict):
            for end in ("start", "end"):
                if not _is_clock(data["window"].get(end)):
                    errors.setdefault("window", {})[end] = [
                        'an event window is a clock time "HH:MM" (reports have no waking day)'
                    ]
        times = data.get("times", [])
        repeated = sorted({t for t in times if times.count(t) > 1})
        if repeated:
            errors.setdefault("times", []).append(f"repeated: {', '.join(repeated)}")
        late = _late_reminders(data)
        if late:
            errors["reminders"] = late
        if errors:
            raise ValidationError(errors)

    @post_load
    def fill_type_defaults(self, data: dict[str, Any], **kwargs) -> dict[str, Any]:
        if data["type"] == "random":
            data.setdefault("min_gap_minutes", 0)
            if "blocks" in data:  # one beep sequence across the blocks
                data["per_day"] = sum(block["prompts"] for block in data["blocks"])
        if data["type"] == "fixed":
            data["times"] = sorted(data["times"])
        return data
