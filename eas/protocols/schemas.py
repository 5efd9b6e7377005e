"""Marshmallow schemas of the protocol file format (documented in protocols/README.md).

These check each value where it stands; checks that need the whole protocol (references between
questionnaires, schedules and items; SMS length; whether a schedule fits the waking day) live in
`eas.protocols.crossref`.
"""

from __future__ import annotations

import keyword
import re
import zoneinfo
from functools import cache
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
STUDY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
ITEM_TYPES = ("yes_no", "scale", "slider", "choice", "multi_choice", "number", "text")
SCHEDULE_TYPES = ("fixed", "random", "interval", "once", "event")
CHANNELS = ("sms", "web")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@cache
def iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


#: Words an id cannot be: expressions read them as values or operators.
RESERVED_IDS = frozenset({"yes", "no", "true", "false", "none", *keyword.kwlist})


def _not_reserved(value: str) -> None:
    if value in RESERVED_IDS:
        raise ValidationError(f"'{value}' is a reserved word; choose another id")


def _identifier(description: str, **kwargs) -> fields.String:
    return fields.String(
        validate=[
            validate.Regexp(
                ID_PATTERN,
                error="must be snake_case: a lower-case letter, then letters, digits or _",
            ),
            _not_reserved,
        ],
        metadata={"description": description},
        **kwargs,
    )


class LocalTime(fields.String):
    """A local wall-clock time "HH:MM", normalised to two-digit hours."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("metadata", {}).setdefault("pattern", _TIME_RE.pattern)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValidationError('must be a time written "HH:MM", in quotes')
        text = super()._deserialize(value, attr, data, **kwargs)
        match = _TIME_RE.match(text.strip())
        if not match:
            raise ValidationError(f'"{text}" is not a time of day; write "HH:MM" (00:00-23:59)')
        return f"{int(match.group(1)):02d}:{match.group(2)}"


class TimeZone(fields.String):
    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        zone = super()._deserialize(value, attr, data, **kwargs)
        if zone not in iana_zones():
            raise ValidationError(
                f'"{zone}" is not an IANA time zone (e.g. "America/New_York", "Europe/Berlin")'
            )
        return zone


class OptionField(fields.Field):
    """A choice option: "Label" (its value is the label) or {value: ..., label: ...}."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault(
            "metadata",
            {
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {
                        "type": "object",
                        "properties": {
                            "value": {"type": ["string", "integer"]},
                            "label": {"type": "string", "minLength": 1},
                        },
                        "required": ["value", "label"],
                        "additionalProperties": False,
                    },
                ]
            },
        )
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr, data, **kwargs) -> dict[str, Any]:
        if isinstance(value, str) and value.strip():
            return {"value": value.strip(), "label": value.strip()}
        if isinstance(value, dict) and set(value) == {"value", "label"}:
            code, label = value["value"], value["label"]
            if isinstance(code, bool) or not isinstance(code, str | int):
                raise ValidationError("value must be a word or a whole number")
            if not isinstance(label, str) or not label.strip():
                raise ValidationError("label must be non-empty text")
            return {"value": code, "label": label.strip()}
        raise ValidationError('must be a label, or {value: ..., label: "..."}')


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class SmsSettingsSchema(StrictSchema):
    max_segments = fields.Integer(
        load_default=2,
        validate=validate.Range(1, 10),
        metadata={"description": "Longest text message an item may need, in SMS segments."},
    )


class StudySchema(StrictSchema):
    id = fields.String(
        required=True,
        validate=validate.Regexp(
            STUDY_ID_PATTERN, error="must be lower-case letters, digits and dashes"
        ),
    )
    title = fields.String(required=True, validate=validate.Length(1, 200))
    description = fields.String()
    timezone = TimeZone(required=True, metadata={"description": "Default IANA zone."})
    duration_days = fields.Integer(required=True, validate=validate.Range(1, 366))
    sms = fields.Nested(SmsSettingsSchema, load_default=lambda: {"max_segments": 2})
    start = fields.String(
        load_default="next_day",
        validate=validate.OneOf(["next_day", "same_day"]),
        metadata={
            "description": "Default first study day of a participant enrolled without one: the "
            "next local day, or the enrolment day itself (only the rest of its window is used)."
        },
    )
    overlap = fields.String(
        load_default="close_previous",
        validate=validate.OneOf(["close_previous", "skip_new"]),
        metadata={
            "description": "An SMS prompt still open when the next SMS prompt is due closes "
            "then (close_previous), or the new one is not sent (skip_new)."
        },
    )


class ParticipantDefaultsSchema(StrictSchema):
    wake = LocalTime(load_default="09:00")
    sleep = LocalTime(load_default="22:00")
    weekend_wake = LocalTime(metadata={"description": "Saturday and Sunday wake time."})
    weekend_sleep = LocalTime(metadata={"description": "Saturday and Sunday sleep time."})
    channel = fields.String(load_default="sms", validate=validate.OneOf(CHANNELS))

    @validates_schema
    def weekend_needs_both(self, data: dict[str, Any], **kwargs) -> None:
        if ("weekend_wake" in data) != ("weekend_sleep" in data):
            missing = "weekend_sleep" if "weekend_wake" in data else "weekend_wake"
            raise ValidationError("give weekend_wake and weekend_sleep together", missing)


_ITEM_FIELDS_BY_TYPE: dict[str, set[str]] = {
    "yes_no": set(),
    "scale": {"min", "max", "anchors"},
    "slider": {"min", "max", "anchors"},
    "choice": {"options"},
    "multi_choice": {"options", "min_choices", "max_choices"},
    "number": {"min", "max", "integer", "unit"},
    "text": {"max_length"},
}
_TYPED_ITEM_FIELDS = set().union(*_ITEM_FIELDS_BY_TYPE.values())


class ItemSchema(StrictSchema):
    id = _identifier("Item id: the column name in exports.", required=True)
    type = fields.String(required=True, validate=validate.OneOf(ITEM_TYPES))
    text = fields.String(required=True, validate=validate.Length(1, 1000))
    sms_text = fields.String(
        validate=validate.Length(1, 600),
        metadata={"description": "Shorter wording for SMS; defaults to text."},
    )
    required = fields.Boolean(load_default=False)
    show_if = fields.String(metadata={"description": "Branching expression over earlier items."})
    construct = fields.String(metadata={"description": "What the item measures, for the codebook."})
    source = fields.String(metadata={"description": "Where the item comes from (citation)."})
    note = fields.String()
    min = fields.Float(allow_nan=False)
    max = fields.Float(allow_nan=False)
    anchors = fields.Dict(keys=fields.Integer(), values=fields.String(validate=validate.Length(1)))
    options = fields.List(OptionField(), validate=validate.Length(min=2, max=20))
    min_choices = fields.Integer(validate=validate.Range(min=0))
    max_choices = fields.Integer(validate=validate.Range(min=1))
    integer = fields.Boolean()
    unit = fields.String()
    max_length = fields.Integer(validate=validate.Range(1, 5000))

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def check_type_fields(self, data: dict[str, Any], original: Any, **kwargs) -> None:
        kind = data.get("type")
        if kind not in _ITEM_FIELDS_BY_TYPE:
            return
        errors: dict[str, list[str]] = {}
        for name in sorted(_TYPED_ITEM_FIELDS - _ITEM_FIELDS_BY_TYPE[kind]):
            if name in original:
                errors[name] = [f"does not apply to a {kind} item"]
        low, high = data.get("min"), data.get("max")
        if kind == "scale":
            for name, value in (("min", low), ("max", high)):
                if name not in original:
                    errors.setdefault(name, []).append("is required for a scale item")
                elif value is not None and value != int(value):
                    errors.setdefault(name, []).append("must be a whole number on a scale")
            if low is not None and high is not None and high - low > 100:
                errors.setdefault("max", []).append("a scale spans at most 100 points")
        if kind == "slider":
            low = 0 if low is None else low
            high = 100 if high is None else high
        if low is not None and high is not None and high <= low:
            errors.setdefault("max", []).append(f"must be greater than min ({low:g})")
        for anchor in data.get("anchors", {}):
            if low is not None and high is not None and not low <= anchor <= high:
                errors.setdefault("anchors", []).append(
                    f"anchor {anchor} is outside the range {low:g}-{high:g}"
                )
        if kind in ("choice", "multi_choice"):
            options = data.get("options")
            if "options" not in original:
                errors.setdefault("options", []).append(f"is required for a {kind} item")
            elif options is not None:
                values = [option["value"] for option in options]
                duplicates = sorted({str(v) for v in values if values.count(v) > 1})
                if duplicates:
                    errors.setdefault("options", []).append(
                        f"option values must differ; repeated: {', '.join(duplicates)}"
                    )
                high_choices = data.get("max_choices", len(options))
                if high_choices > len(options):
                    errors.setdefault("max_choices", []).append(
                        f"there are only {len(options)} options"
                    )
                if data.get("min_choices", 0) > high_choices:
                    errors.setdefault("min_choices", []).append("must not exceed max_choices")
        if errors:
            raise ValidationError(errors)

    @post_load
    def fill_type_defaults(self, data: dict[str, Any], **kwargs) -> dict[str, Any]:
        if data["type"] == "slider":
            data.setdefault("min", 0)
            data.setdefault("max", 100)
        if data["type"] in ("scale", "slider"):
            data["min"], data["max"] = int(data["min"]), int(data["max"])
            data["anchors"] = [
                {"value": value, "label": label}
                for value, label in sorted(data.get("anchors", {}).items())
            ]
        if data["type"] == "multi_choice":
            data.setdefault("min_choices", 0)
            data.setdefault("max_choices", len(data["options"]))
        if data["type"] == "number":
            data.setdefault("integer", False)
        if data["type"] == "text":
            data.setdefault("max_length", 500)
        return data


class QuestionnaireSchema(StrictSchema):
    id = _identifier("Questionnaire id.", required=True)
    title = fields.String(validate=validate.Length(1, 200))
    intro = fields.String(
        validate=validate.Length(1, 600),
        metadata={"description": "Sent before the first item (SMS) or shown above it (web)."},
    )
    thanks = fields.String(validate=validate.Length(1, 600))
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1))


class ReminderSchema(StrictSchema):
    after_minutes = fields.Integer(required=True, validate=validate.Range(min=1))
    text = fields.String(validate=validate.Length(1, 300))


class WindowSchema(StrictSchema):
    start = LocalTime(required=True)
    end = LocalTime(required=True)


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
    "random": {"per_day", "min_gap_minutes", "window", "blackouts", "days_per_week"},
    "interval": {"every_minutes", "window", "blackouts", "days_per_week"},
    "once": {"day", "time"},
    "event": {"keyword", "max_per_day"},
}
_REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "fixed": ("times",),
    "random": ("per_day",),
    "interval": ("every_minutes",),
    "once": ("day", "time"),
    "event": ("keyword",),
}
_TYPED_SCHEDULE_FIELDS = set().union(*_SCHEDULE_FIELDS_BY_TYPE.values())


class ScheduleSchema(StrictSchema):
    id = _identifier("Schedule id.", required=True)
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
    note = fields.String()
    times = fields.List(LocalTime(), validate=validate.Length(min=1))
    blackouts = fields.List(
        fields.Nested(BlackoutSchema),
        metadata={"description": "Local periods without prompts, e.g. school hours."},
    )
    days_per_week = fields.Integer(
        validate=validate.Range(1, 7),
        metadata={"description": "Run on this many random days of each study week."},
    )
    per_day = fields.Integer(validate=validate.Range(1, 48))
    min_gap_minutes = fields.Integer(validate=validate.Range(0, 720))
    window = fields.Nested(WindowSchema)
    every_minutes = fields.Integer(validate=validate.Range(15, 1440))
    day = fields.Integer(validate=validate.Range(min=1))
    time = LocalTime()
    keyword = fields.String(
        validate=validate.Regexp(r"^[A-Za-z][A-Za-z0-9]{0,19}$", error="must be one word")
    )
    max_per_day = fields.Integer(validate=validate.Range(min=1))

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def check_type_fields(self, data: dict[str, Any], original: Any, **kwargs) -> None:
        kind = data.get("type")
        if kind not in _SCHEDULE_FIELDS_BY_TYPE:
            return
        errors: dict[str, list[str]] = {}
        for name in sorted(_TYPED_SCHEDULE_FIELDS - _SCHEDULE_FIELDS_BY_TYPE[kind]):
            if name in original:
                errors[name] = [f"does not apply to a {kind} schedule"]
        for name in _REQUIRED_BY_TYPE[kind]:
            if name not in original:
                errors[name] = [f"is required for a {kind} schedule"]
        times = data.get("times", [])
        repeated = sorted({t for t in times if times.count(t) > 1})
        if repeated:
            errors.setdefault("times", []).append(f"repeated: {', '.join(repeated)}")
        expires = data.get("expires_after_minutes", 60)
        for index, reminder in enumerate(data.get("reminders", [])):
            if reminder["after_minutes"] >= expires:
                errors.setdefault("reminders", {}).setdefault(index, {})["after_minutes"] = [
                    f"must come before the prompt expires ({expires} minutes)"
                ]
        if errors:
            raise ValidationError(errors)

    @post_load
    def fill_type_defaults(self, data: dict[str, Any], **kwargs) -> dict[str, Any]:
        if data["type"] == "random":
            data.setdefault("min_gap_minutes", 0)
        if data["type"] == "fixed":
            data["times"] = sorted(data["times"])
        return data


class AlertSchema(StrictSchema):
    id = _identifier("Alert id.", required=True)
    when = fields.String(metadata={"description": "Expression over answers, e.g. distress >= 8."})
    keywords = fields.List(
        fields.String(validate=validate.Length(2, 60)),
        validate=validate.Length(min=1),
        metadata={"description": "Words or phrases that raise the alert in free text or SMS."},
    )
    questionnaire = fields.String(
        metadata={"description": "Only answers to this questionnaire (default: any)."}
    )
    notify = fields.List(
        fields.String(validate=validate.OneOf(["coordinators"])), load_default=["coordinators"]
    )
    reply = fields.String(
        validate=validate.Length(1, 600),
        metadata={"description": "Sent to the participant at once, e.g. a crisis line."},
    )

    @validates_schema
    def needs_a_rule(self, data: dict[str, Any], **kwargs) -> None:
        if "when" not in data and "keywords" not in data:
            raise ValidationError("give `when`, `keywords` or both", field_name="when")


class ProtocolSchema(StrictSchema):
    study = fields.Nested(StudySchema, required=True)
    participant_defaults = fields.Nested(
        ParticipantDefaultsSchema,
        load_default=lambda: {"wake": "09:00", "sleep": "22:00", "channel": "sms"},
    )
    questionnaires = fields.List(
        fields.Nested(QuestionnaireSchema), required=True, validate=validate.Length(min=1)
    )
    schedules = fields.List(
        fields.Nested(ScheduleSchema), required=True, validate=validate.Length(min=1)
    )
    alerts = fields.List(fields.Nested(AlertSchema), load_default=list)
