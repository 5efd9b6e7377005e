"""Building blocks of the protocol schemas: names, times, zones, options, strict schemas."""

from __future__ import annotations

import keyword
import re
import zoneinfo
from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from eas.scheduling.daytimes import parse_daytime

ID_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
STUDY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
ITEM_TYPES = ("yes_no", "scale", "slider", "choice", "multi_choice", "number", "text")
SCHEDULE_TYPES = ("fixed", "random", "interval", "once", "event")
CHANNELS = ("sms", "web")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
#: For editors (the JSON Schema): a clock time or an offset from wake or sleep.
DAYTIME_PATTERN = r"^(([01]?\d|2[0-3]):[0-5]\d|(wake|sleep)( ?[+-] ?(\d{1,2}h)?(\d{1,3}m)?)?)$"


@cache
def iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


#: Words an id cannot be: expressions read them as values or operators.
RESERVED_IDS = frozenset({"yes", "no", "true", "false", "none", *keyword.kwlist})


def _not_reserved(value: str) -> None:
    if value in RESERVED_IDS:
        raise ValidationError(f"'{value}' is a reserved word; choose another id")


def identifier(description: str, **kwargs) -> fields.String:
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


class DayTimeField(fields.String):
    """A time of the participant's day: "HH:MM", or an offset from their wake or sleep time
    ("wake+30m", "sleep-1h"); normalised ("09:30", "wake+30m", "sleep-60m")."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("metadata", {}).setdefault("pattern", DAYTIME_PATTERN)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValidationError('must be a time written "HH:MM", in quotes')
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_daytime(text).text()
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


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


#: Shown at the key, as an unknown field is.
UNKNOWN_CHANNEL = f"unknown channel; use {' or '.join(CHANNELS)}"


class ChannelText(fields.Field):
    """Wording for participants, the same on both channels ("Check-in time!") or per channel
    ({sms: "... Text SKIP to skip one.", web: "..."}): a channel left out gets none. Loaded
    as written (text or a mapping); read it with `for_channel`."""

    def __init__(self, *, max_length: int, **kwargs) -> None:
        self.max_length = max_length
        text = {"type": "string", "minLength": 1, "maxLength": max_length}
        kwargs.setdefault("metadata", {}).update(
            oneOf=[
                text,
                {
                    "type": "object",
                    "properties": dict.fromkeys(CHANNELS, text),
                    "minProperties": 1,
                    "additionalProperties": False,
                },
            ]
        )
        super().__init__(**kwargs)

    def _text(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValidationError("must be text")
        if not value.strip():
            raise ValidationError("must not be empty")
        if len(value) > self.max_length:
            raise ValidationError(f"longer than {self.max_length} characters")
        return value

    def _deserialize(self, value: Any, attr, data, **kwargs) -> str | dict[str, str]:
        if isinstance(value, str):
            return self._text(value)
        if not isinstance(value, dict):
            raise ValidationError("must be text, or one text per channel: {sms: ..., web: ...}")
        if not value:
            raise ValidationError("give the text for sms, web or both: {sms: ..., web: ...}")
        errors: dict[Any, list[str]] = {}
        wording: dict[str, str] = {}
        for channel, text in value.items():
            if channel not in CHANNELS:
                errors[channel] = [UNKNOWN_CHANNEL]
                continue
            try:
                wording[channel] = self._text(text)
            except ValidationError as problem:
                errors[channel] = problem.messages
        if errors:
            raise ValidationError(errors)
        return wording


def for_channel(wording: str | dict[str, str] | None, channel: str) -> str | None:
    """What a `ChannelText` says on `channel`: the one text of both channels, the channel's
    own, or None."""
    if isinstance(wording, dict):
        return wording.get(channel)
    return wording or None


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE
