"""Marshmallow schemas of the protocol file format (documented in protocols/README.md).

These check each value where it stands; checks that need the whole protocol (references between
questionnaires, schedules and items; SMS length; whether a schedule fits the waking day) live in
`eas.protocols.crossref`. Items and schedules have modules of their own.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from eas.protocols.fields import (
    CHANNELS,
    ID_PATTERN,
    RESERVED_IDS,
    STUDY_ID_PATTERN,
    LocalTime,
    StrictSchema,
    TimeZone,
    iana_zones,
    identifier,
)
from eas.protocols.item_schemas import ItemSchema, QuestionnaireSchema
from eas.protocols.schedule_schemas import ScheduleSchema
from eas.scheduling.horizon import MAX_STUDY_DAYS, UNTIL_WITHDRAWN

__all__ = [
    "ID_PATTERN",
    "RESERVED_IDS",
    "AlertSchema",
    "ItemSchema",
    "ParticipantDefaultsSchema",
    "ProtocolSchema",
    "QuestionnaireSchema",
    "ScheduleSchema",
    "StudySchema",
    "iana_zones",
]


class SmsSettingsSchema(StrictSchema):
    max_segments = fields.Integer(
        load_default=2,
        validate=validate.Range(1, 10),
        metadata={"description": "Longest text message an item may need, in SMS segments."},
    )
    resubscribe = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Whether START (or UNSTOP, or YES after STOP) brings a participant "
            "who opted out back into the study. Default: no; they stay opted out."
        },
    )


class ConsentSchema(StrictSchema):
    on_withdrawal = fields.String(
        load_default="keep",
        validate=validate.OneOf(["keep", "delete"]),
        metadata={
            "description": "What withdrawing does to a participant's data: keep it for "
            "analysis, or delete their answers and messages (an audit record remains)."
        },
    )


class PrivacySchema(StrictSchema):
    encrypt_free_text = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Store what participants write (SMS texts, free-text answers) "
            "encrypted at rest; exports decrypt it."
        },
    )


class StudyLength(fields.Field):
    """A number of study days, or "until_withdrawn" for an open-ended study."""

    def _deserialize(self, value: Any, attr, data, **kwargs) -> int | str:
        if value == UNTIL_WITHDRAWN:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f'must be a whole number of days or "{UNTIL_WITHDRAWN}"')
        if not 1 <= value <= MAX_STUDY_DAYS:
            raise ValidationError(f"must be between 1 and {MAX_STUDY_DAYS} (10 years)")
        return value


class ArmsSchema(StrictSchema):
    names = fields.List(
        identifier("Arm id."),
        required=True,
        validate=validate.Length(2, 20),
        metadata={"description": "The study's between-person arms (conditions)."},
    )
    assign = fields.String(
        load_default="balanced",
        validate=validate.OneOf(["balanced", "csv"]),
        metadata={
            "description": "balanced: eas assigns each new participant (or group) by seeded "
            "permuted blocks, so arms stay balanced; csv: the participants CSV's `arm` column "
            "gives each one's arm."
        },
    )
    seed = fields.Integer(
        load_default=1,
        validate=validate.Range(0, 2**31 - 1),
        metadata={"description": "Seed of the balanced assignment (reproducible)."},
    )
    stratify_by = fields.String(
        validate=validate.Regexp(
            r"^[a-z][a-z0-9_]{0,62}$", error="must be a CSV column name in snake_case"
        ),
        metadata={
            "description": "A participants CSV column to balance within (e.g. site, gender)."
        },
    )

    @validates_schema
    def names_unique(self, data: dict[str, Any], **kwargs) -> None:
        names = data.get("names", [])
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValidationError(f"repeated: {', '.join(repeated)}", "names")
        if data.get("assign") == "csv" and "stratify_by" in data:
            raise ValidationError("applies to the balanced assignment only", "stratify_by")
        if data.get("stratify_by") in ("arm", "label", "phone", "group"):
            raise ValidationError(
                f"'{data['stratify_by']}' cannot be balanced within: name a column such as "
                "site or gender",
                "stratify_by",
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
    consent = fields.Nested(ConsentSchema, load_default=lambda: {"on_withdrawal": "keep"})
    privacy = fields.Nested(PrivacySchema, load_default=lambda: {"encrypt_free_text": False})
    contact = fields.String(
        validate=validate.Length(1, 300),
        metadata={"description": "How participants reach the team; the answer to HELP."},
    )
    timezone = TimeZone(required=True, metadata={"description": "Default IANA zone."})
    duration_days = StudyLength(
        required=True,
        metadata={
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_STUDY_DAYS},
                {"const": UNTIL_WITHDRAWN},
            ],
            "description": "Study days per participant (1-3660), or until_withdrawn: prompts "
            "continue until the participant withdraws or opts out. Long studies are planned "
            "8 weeks ahead and extended as they go.",
        },
    )
    sms = fields.Nested(
        SmsSettingsSchema, load_default=lambda: {"max_segments": 2, "resubscribe": False}
    )
    start = fields.String(
        load_default="next_day",
        validate=validate.OneOf(["next_day", "same_day"]),
        metadata={
            "description": "Default first study day of a participant enrolled without one: the "
            "next local day, or the enrolment day itself (only the rest of its window is used)."
        },
    )
    arms = fields.Nested(
        ArmsSchema,
        metadata={"description": "Between-person arms; schedules name the arms they run in."},
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


class AlertSchema(StrictSchema):
    id = identifier("Alert id.", required=True)
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
