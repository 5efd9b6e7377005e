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
    duration_days = fields.Integer(required=True, validate=validate.Range(1, 366))
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
