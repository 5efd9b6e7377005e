"""Questionnaires and their items."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from eas.protocols.expressions import CONTEXT_NAMES
from eas.protocols.fields import ITEM_TYPES, ChannelText, OptionField, StrictSchema, identifier

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
#: Columns wide export tables have before the items' own (`arm` in studies with arms).
_EXPORT_COLUMNS = frozenset({"id", "arm", "day", "beep", "prompt_id", "scheduled_local", "status"})


class ItemSchema(StrictSchema):
    id = identifier("Item id: the column name in exports.", required=True)
    type = fields.String(required=True, validate=validate.OneOf(ITEM_TYPES))
    text = fields.String(
        required=True,
        validate=validate.Length(1, 1000),
        metadata={
            "description": "The question. {item_id} shows an earlier answer ({item_id|fallback}"
            " when there is none); {{ and }} are literal braces."
        },
    )
    sms_text = fields.String(
        validate=validate.Length(1, 600),
        metadata={"description": "Shorter wording for SMS; defaults to text. Pipes like text."},
    )
    required = fields.Boolean(load_default=False)
    show_if = fields.String(
        metadata={
            "description": "Branching expression over earlier items and the prompt's place in "
            "the day: beep, first_beep, last_beep, study_day, local_time ('HH:MM'), weekday."
        }
    )
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
        if data.get("id") in CONTEXT_NAMES:
            reserved = ", ".join(CONTEXT_NAMES)
            raise ValidationError(
                {
                    "id": [
                        f"'{data['id']}' is reserved: show_if uses it for the prompt's place in "
                        f"the day (reserved: {reserved}); choose another id"
                    ]
                }
            )
        if data.get("id") in _EXPORT_COLUMNS:
            raise ValidationError(
                {"id": [f"'{data['id']}' names a column of every export table; choose another id"]}
            )
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
                joined = list(
                    dict.fromkeys(
                        str(text)
                        for option in options
                        for text in (option["value"], option["label"])
                        if ";" in str(text)
                    )
                )
                if kind == "multi_choice" and joined:
                    # The export joins the chosen values (and labels) with ";".
                    errors.setdefault("options", []).append(
                        f"a multi_choice option cannot contain ';': {', '.join(joined)}"
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
    id = identifier("Questionnaire id.", required=True)
    title = fields.String(validate=validate.Length(1, 200))
    intro = ChannelText(
        max_length=600,
        metadata={
            "description": "Sent before the first item (SMS) or shown above it (web): one "
            "text for both, or {sms: ..., web: ...} (a channel left out gets no intro)."
        },
    )
    thanks = fields.String(validate=validate.Length(1, 600))
    compact_replies = fields.Boolean(
        load_default=False,
        metadata={
            "description": "By SMS, accept one reply answering several items in a row "
            '("7 2 5"): yes/no, scale, slider, choice and number items.'
        },
    )
    shuffle = fields.List(
        fields.List(
            fields.String(),
            validate=validate.Length(min=2, error="a shuffled list needs 2 or more items"),
            error_messages={
                "invalid": "must be a list of item ids, such as [happy, sad] (shuffle is a list "
                "of such lists)"
            },
        ),
        metadata={
            "description": "Lists of item ids, each 2 or more items that follow each other, an "
            "item in one list at most: each prompt shows each list's items in an order drawn "
            "for it (the same every time it is shown). No item of a list may depend on another "
            "item of it (show_if, piping)."
        },
    )
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1))
