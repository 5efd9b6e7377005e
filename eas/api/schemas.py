"""What the API reads and writes. Times are ISO 8601 in UTC with their offset (`...+00:00`);
local times say so in their name (`due_local`, in the participant's zone, with its offset).
Phone numbers are read when enrolling and never written back."""

from __future__ import annotations

import re
from datetime import UTC

from marshmallow import Schema, ValidationError, fields, post_dump, validate

from eas.core.clock import now_utc
from eas.participants.models import Channel, ParticipantStatus
from eas.participants.state import STATES, participant_state
from eas.protocols.schemas import iana_zones
from eas.responses.compliance import DEFAULT_THRESHOLD
from eas.responses.models import ResponseStatus
from eas.responses.prompt_states import STATES as PROMPT_STATES
from eas.scheduling.models import PromptStatus
from eas.users.models import StudyRole

#: Never in a one-line value (nor in a study or participant name in a URL).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _printable(value: str) -> None:
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError("must not contain control characters (line breaks, tabs...)")


def _no_nul(value: str) -> None:
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")


def _zone(value: str) -> None:
    if value not in iana_zones():
        raise ValidationError(f"'{value}' is not an IANA time zone (e.g. America/Chicago)")


def text(max_length: int, *, required: bool = False, description: str, **kwargs) -> fields.String:
    """A one-line string: no control characters, at most `max_length` characters."""
    return fields.String(
        required=required,
        validate=[validate.Length(max=max_length), _printable],
        metadata={"description": description},
        **kwargs,
    )


def _start_field() -> fields.String:
    return fields.String(
        validate=validate.OneOf(["today", "tomorrow"]),
        metadata={
            "description": "Rows without start_date begin today or tomorrow (default: the "
            "protocol's study.start)."
        },
    )


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 time with its offset (UTC if it has none), read as UTC."""

    def __init__(self, **kwargs) -> None:
        super().__init__(format="iso", default_timezone=UTC, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("is out of range") from None


class InputSchema(Schema):
    """Request bodies: unknown fields are an error, never silently ignored."""


# Studies --------------------------------------------------------------------------------------


class StudySchema(Schema):
    slug = fields.String(metadata={"description": "The protocol's study.id: names the study."})
    title = fields.String()
    timezone = fields.String(metadata={"description": "The study's default IANA zone."})
    created_at = fields.DateTime()
    role = fields.Enum(StudyRole, by_value=True, metadata={"description": "Your role in it."})
    current_version = fields.Integer(
        allow_none=True, metadata={"description": "Number of the protocol version in force."}
    )
    duration_days = fields.Raw(
        allow_none=True,
        metadata={"description": 'Study days per participant, or "until_withdrawn".'},
    )
    participants = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "How many participants are in each state now (as a participant's "
            "`state`: a pause in force counts as `paused`)."
        },
    )


class VersionSchema(Schema):
    number = fields.Integer()
    source_name = fields.String(metadata={"description": "Where the text came from."})
    source_hash = fields.String(metadata={"description": "SHA-256 of the protocol text."})
    created_at = fields.DateTime()


class VersionDetailSchema(VersionSchema):
    source_text = fields.String(metadata={"description": "The protocol YAML as published."})
    definition = fields.Dict(metadata={"description": "The protocol as validated, with defaults."})


class PublishSchema(InputSchema):
    protocol = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1_000_000),
        metadata={"description": "The protocol YAML text (see protocols/README.md)."},
    )
    source_name = text(200, load_default="api", description="Where the text came from.")


class PublishedSchema(VersionSchema):
    created = fields.Boolean(
        metadata={"description": "False when the text is the current version's: nothing changed."}
    )
    prompts_planned = fields.Integer()
    prompts_cancelled = fields.Integer()


class ProtocolErrorSchema(Schema):
    line = fields.Integer()
    column = fields.Integer()
    field = fields.String(metadata={"description": "Path of the field, e.g. schedules[0].times"})
    message = fields.String()


# Participants ---------------------------------------------------------------------------------


class PauseSchema(Schema):
    starts_at = fields.DateTime()
    ends_at = fields.DateTime(allow_none=True, metadata={"description": "None: until resumed."})
    reason = fields.String(allow_none=True)


class TimezoneChangeSchema(Schema):
    timezone = fields.String()
    effective_at = fields.DateTime()


class ParticipantSchema(Schema):
    label = fields.String(metadata={"description": "Pseudonymous label (no phone numbers here)."})
    status = fields.Enum(
        ParticipantStatus,
        by_value=True,
        metadata={
            "description": "The stored status. A pause with an end date leaves it `active`: "
            "read `state` for whether the participant is paused now."
        },
    )
    # The state now, as the dashboard and `eas participants list` show it: filled in by
    # `_state_now` from one reading of `participant_state`.
    state = fields.String(
        dump_only=True,
        metadata={
            "enum": list(STATES),
            "description": "The participant's state now: `paused` while a pause is in force "
            "(with or without an end date), `active` again once it has ended or before one "
            "that is planned starts; otherwise `status`.",
        },
    )
    state_text = fields.String(
        dump_only=True,
        metadata={
            "description": "The state as people read it, in the participant's zone: "
            "'active', 'paused until Sat 21 Mar 2026 14:00 EDT', 'paused' (until resumed), "
            "'withdrawn', 'completed', 'opted out'."
        },
    )
    paused_until = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={
            "description": "End of the pause in force (UTC); null when not paused or paused "
            "until resumed."
        },
    )
    paused_until_local = fields.DateTime(
        dump_only=True,
        allow_none=True,
        metadata={"description": "`paused_until` in the participant's zone, with its offset."},
    )
    channel = fields.Enum(Channel, by_value=True)
    timezone = fields.String()
    wake = fields.Time(format="%H:%M", attribute="wake_time")
    sleep = fields.Time(format="%H:%M", attribute="sleep_time")
    weekend_wake = fields.Time(format="%H:%M", attribute="weekend_wake_time", allow_none=True)
    weekend_sleep = fields.Time(format="%H:%M", attribute="weekend_sleep_time", allow_none=True)
    start_date = fields.Date(metadata={"description": "Study day 1, in the participant's zone."})
    enrolled_at = fields.DateTime()
    group = fields.Function(
        lambda p: p.group.label if p.group else None,
        allow_none=True,
        metadata={"type": "string", "description": "Dyad or group sharing random times."},
    )
    arm = fields.String(
        allow_none=True,
        metadata={
            "description": "Between-person arm (one of the protocol's study.arms.names), whose "
            "schedules are theirs; null in a study without arms."
        },
    )
    stratum = fields.String(
        attribute="arm_stratum",
        allow_none=True,
        metadata={
            "description": "The value of the protocol's study.arms.stratify_by column the arm "
            "was balanced within; null when arms are not stratified."
        },
    )

    @post_dump(pass_original=True)
    def _state_now(self, data: dict, participant, **kwargs) -> dict:
        shown = participant_state(participant, now_utc())
        until, local_until = shown.paused_until, shown.paused_until_local
        data["state"] = shown.state
        data["state_text"] = shown.text
        data["paused_until"] = until.isoformat() if until else None
        data["paused_until_local"] = local_until.isoformat() if local_until else None
        return data


class ParticipantDetailSchema(ParticipantSchema):
    pauses = fields.List(fields.Nested(PauseSchema))
    timezone_history = fields.List(
        fields.Nested(TimezoneChangeSchema), attribute="timezone_changes"
    )


class EnrolSchema(InputSchema):
    """One participant, checked by the same rules as a row of `eas participants import`."""

    label = text(64, required=True, description="Pseudonymous label, e.g. P017.")
    phone = text(
        40, required=True, load_only=True, description="Phone number (E.164, or national)."
    )
    timezone = text(64, required=True, description="IANA zone, e.g. America/Chicago.")
    wake = text(5, description="Local HH:MM (default: the protocol's participant_defaults).")
    sleep = text(5, description="Local HH:MM (default: the protocol's participant_defaults).")
    weekend_wake = text(5, description="Saturday/Sunday HH:MM (with weekend_sleep).")
    weekend_sleep = text(5, description="Saturday/Sunday HH:MM (with weekend_wake).")
    start_date = text(10, description="Study day 1, YYYY-MM-DD (default: by study.start).")
    channel = text(3, description="sms or web (default: the protocol's).")
    group = text(64, description="Label of a dyad or group sharing random prompt times.")
    arm = text(
        64,
        description="The participant's arm, where the protocol takes arms from the CSV "
        "(study.arms.assign: csv; required there). An error where eas assigns them "
        "(balanced) or the study has none.",
    )
    stratum = text(
        64,
        description="The participant's value of the protocol's study.arms.stratify_by column "
        "(e.g. their site), which eas balances arms within; required there, an error elsewhere.",
    )
    start = _start_field()


class EnrolmentWarningSchema(Schema):
    """Enrolled all the same: a schedule's own `window` takes the place of the participant's
    wake and sleep, and puts some of their prompts outside their waking hours."""

    participant = fields.String(attribute="label", metadata={"description": "Their label."})
    schedule = fields.String(attribute="warning.schedule_id")
    window = fields.String(
        attribute="warning.window", metadata={"description": "The schedule's window, local."}
    )
    waking_hours = fields.String(
        attribute="warning.waking_hours",
        metadata={"description": "The participant's wake-sleep (and weekend) hours, local."},
    )
    prompts = fields.Integer(
        attribute="warning.prompts",
        metadata={"description": "How many of their planned prompts fall outside them."},
    )
    first_local = fields.String(
        attribute="warning.first_local",
        metadata={"description": "The first of those, in the participant's zone."},
    )
    message = fields.String(metadata={"description": "All of it, in words."})


def _warnings_field() -> fields.List:
    return fields.List(
        fields.Nested(EnrolmentWarningSchema),
        metadata={
            "description": "Prompts that a schedule's window puts outside a participant's "
            "waking hours, per participant (empty: none)."
        },
    )


class EnrolledSchema(Schema):
    participant = fields.Nested(ParticipantDetailSchema)
    created = fields.Boolean(metadata={"description": "False: already enrolled, unchanged."})
    prompts_planned = fields.Integer()
    warnings = _warnings_field()


class ParticipantQuerySchema(InputSchema):
    status = fields.Enum(
        ParticipantStatus,
        by_value=True,
        metadata={
            "description": "Only participants in this state now, as `state` reads it (the "
            "dashboard's rule, `participant_state`): `paused` includes active participants "
            "with a pause in force (one with an end date leaves the stored status `active`); "
            "`active` leaves them out. Not the stored `status`."
        },
    )


class ImportSchema(InputSchema):
    csv = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=5_000_000), _no_nul],
        metadata={"description": "CSV text, as for `eas participants import`."},
    )
    start = _start_field()


class RowErrorSchema(Schema):
    line = fields.Integer()
    column = fields.String(allow_none=True)
    message = fields.String()


class ImportedSchema(Schema):
    created = fields.List(fields.String(), metadata={"description": "Labels enrolled now."})
    unchanged = fields.List(fields.String(), metadata={"description": "Labels enrolled before."})
    prompts_planned = fields.Integer()
    warnings = _warnings_field()


class ChangeSchema(Schema):
    participant = fields.Nested(ParticipantSchema)
    cancelled = fields.Integer(metadata={"description": "Future prompts cancelled."})
    planned = fields.Integer(metadata={"description": "Future prompts planned."})


class PauseInputSchema(InputSchema):
    until = UtcDateTime(
        metadata={"description": "End of the pause (default: until resumed)."},
    )
    reason = text(200, description="Why, for the record.")


class WithdrawSchema(InputSchema):
    reason = text(200, description="Why, for the record.")


class TimezoneInputSchema(InputSchema):
    timezone = fields.String(
        required=True, validate=_zone, metadata={"description": "The new IANA zone."}
    )


# Prompts and compliance -----------------------------------------------------------------------


class PromptQuerySchema(InputSchema):
    date = fields.Date(
        metadata={"description": "Only prompts of this local date (the participant's own)."}
    )
    status = fields.Enum(PromptStatus, by_value=True)


class ResponseSummarySchema(Schema):
    status = fields.Enum(ResponseStatus, by_value=True)
    started_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class PromptSchema(Schema):
    id = fields.Integer()
    participant = fields.String(metadata={"description": "The participant's label."})
    schedule = fields.String()
    questionnaire = fields.String()
    channel = fields.Enum(Channel, by_value=True)
    study_day = fields.Integer()
    local_date = fields.Date()
    due_at = fields.DateTime()
    due_local = fields.DateTime(metadata={"description": "Due time in the participant's zone."})
    timezone = fields.String(metadata={"description": "The participant's zone at the time."})
    expires_at = fields.DateTime()
    status = fields.Enum(
        PromptStatus,
        by_value=True,
        metadata={
            "description": "Its delivery lifecycle (a completed prompt's is `sent`); what "
            "became of it is `state`. The `status` filter selects by this."
        },
    )
    status_reason = fields.String(allow_none=True)
    state = fields.String(
        validate=validate.OneOf(list(PROMPT_STATES)),
        metadata={
            "description": "What became of it, in the words of the pages and the export: "
            + "; ".join(f"{name}: {meaning}" for name, meaning in PROMPT_STATES.items())
        },
    )
    sent_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    delivery_error_code = fields.Integer(allow_none=True)
    reminders_sent = fields.Integer()
    response = fields.Nested(ResponseSummarySchema, allow_none=True)


class ComplianceQuerySchema(InputSchema):
    threshold = fields.Float(
        load_default=DEFAULT_THRESHOLD,
        validate=validate.Range(0, 1),
        metadata={"description": "Rate under which a participant is `below_threshold`."},
    )


class ComplianceSchema(Schema):
    participant = fields.String()
    status = fields.Enum(ParticipantStatus, by_value=True)
    due = fields.Integer(
        metadata={
            "description": "Planned prompts due and settled: completed, or closed unanswered "
            "(open ones and reports do not count; the export's `prompts_sendable`)."
        }
    )
    sent = fields.Integer()
    completed = fields.Integer()
    partial = fields.Integer(metadata={"description": "Started, closed before finished."})
    rate = fields.Float(allow_none=True, metadata={"description": "completed / due."})
    reports = fields.Integer(
        metadata={"description": "Reports the participant started and completed (apart)."}
    )
    below_threshold = fields.Boolean()
    last_completed_at = fields.DateTime(allow_none=True)


class ExportInputSchema(InputSchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "parquet"]))
    wide = fields.Boolean(
        load_default=True, metadata={"description": "Also one wide table per questionnaire."}
    )
    since = UtcDateTime(metadata={"description": "Only prompts due from then on."})
