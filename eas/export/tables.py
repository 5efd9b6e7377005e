"""Every exported table's columns, in one place: the CSV header, the Parquet schema and the
`datapackage.json` Table Schema all come from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eas.responses.prompt_states import STATES

PROMPT_STATUSES = STATES
MISSING_CODES = {
    "skipped": "the participant skipped the item (SKIP, or left it empty on the web)",
    "not_presented": "branching did not show the item",
    "invalid": "the reply could not be read as an answer, twice (the text is in value_raw)",
    "timeout": "the prompt closed while the item was awaiting a reply",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Frictionless: string, integer, number, boolean, date, datetime
    description: str
    categories: dict[str, str] | None = None
    required: bool = False


@dataclass
class Table:
    name: str
    title: str
    description: str
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[dict[str, Any]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]


def _c(name: str, kind: str, description: str, **kwargs) -> Column:
    return Column(name, kind, description, **kwargs)


def _times(stem: str, what: str) -> list[Column]:
    return [
        _c(f"{stem}_utc", "datetime", f"{what}, UTC"),
        _c(f"{stem}_local", "datetime", f"{what}, the participant's local wall-clock time"),
    ]


#: The `arm` column's description, wherever it is.
ARM = (
    "Between-person arm (one of the protocol's study.arms.names) whose schedules the "
    "participant had; empty in a study without arms"
)

PARTICIPANT_FK = {
    "fields": ["participant"],
    "reference": {"resource": "participants", "fields": ["participant"]},
}
PROMPT_FK = {"fields": ["prompt_id"], "reference": {"resource": "prompts", "fields": ["prompt_id"]}}

PROMPTS = Table(
    "prompts",
    "Prompts",
    "One row for every planned prompt, sent or not (CREMAS: planned vs received, and why).",
    [
        _c("prompt_id", "integer", "Prompt id", required=True),
        _c("participant", "string", "Pseudonymous participant id", required=True),
        _c("group", "string", "Dyad or group the participant belongs to"),
        _c("arm", "string", ARM),
        _c("schedule", "string", "Id of the protocol schedule that planned the prompt"),
        _c("questionnaire", "string", "Questionnaire id in the protocol"),
        _c("protocol_version", "integer", "Protocol version the prompt was planned with"),
        _c(
            "channel",
            "string",
            "How it was sent",
            categories={"sms": "text message", "web": "link to a web page"},
        ),
        _c("study_day", "integer", "Calendar day of the study in the participant's zone, from 1"),
        _c(
            "beep",
            "integer",
            "Beep within the day of that questionnaire, across its schedules: the prompt's "
            "position among the participant's prompts of the questionnaire that study day, in "
            "due order, from 1, missed and cancelled ones counted (empty for prompts replaced "
            "by a re-plan). Reports the participant started are numbered apart, from 1",
        ),
        _c("prompt_index", "integer", "Running index of the participant's prompts, from 1"),
        _c("timezone", "string", "The participant's IANA zone at the scheduled time"),
        _c("utc_offset", "string", "UTC offset at the scheduled time, e.g. -04:00"),
        *_times("scheduled", "Due time"),
        *_times("window_start", "Start of the window the time was drawn from"),
        *_times("window_end", "End of that window"),
        *_times("expires", "After this the prompt could not be sent or answered"),
        *_times("sent", "When the provider accepted it"),
        *_times("delivered", "When the provider reported delivery to the phone"),
        *_times("started", "First answer"),
        *_times("completed", "Last answer"),
        _c("local_hour", "integer", "Hour of the scheduled local time (0-23)"),
        _c(
            "weekday",
            "string",
            "Weekday of the scheduled local date",
            categories={d: d for d in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")},
        ),
        _c("reminders", "integer", "Reminders sent"),
        _c("delivery_status", "string", "Last status the provider reported for the prompt's text"),
        _c("delivery_error_code", "integer", "Carrier error (Twilio 30003-30008)"),
        _c("status", "string", "Outcome", categories=PROMPT_STATUSES, required=True),
        _c("status_reason", "string", "Why it was cancelled, failed or expired"),
        _c("latency_seconds", "number", "Seconds from sent to the first answer"),
        _c("duration_seconds", "number", "Seconds from the first to the last answer"),
        _c("items_presented", "integer", "Items shown (or awaiting a reply)"),
        _c("items_answered", "integer", "Items with a value"),
        _c(
            "minutes_since_previous",
            "number",
            "Minutes since the participant's previous prompt was scheduled",
        ),
    ],
    primary_key=["prompt_id"],
    foreign_keys=[PARTICIPANT_FK],
)

RESPONSES = Table(
    "responses",
    "Responses (long)",
    "One row per prompt and item presented (or coded missing), in the order presented.",
    [
        _c("prompt_id", "integer", "Prompt id", required=True),
        _c("participant", "string", "Pseudonymous participant id", required=True),
        _c("questionnaire", "string", "Questionnaire id"),
        _c("study_day", "integer", "Study day (as in prompts)"),
        _c("beep", "integer", "Beep within the day of the questionnaire (as in prompts)"),
        _c("scheduled_local", "datetime", "Scheduled local time of the prompt"),
        _c("item", "string", "Item id (see the codebook)", required=True),
        _c("position", "integer", "Order in which the item was presented, from 1"),
        _c("value_raw", "string", "Exactly what the participant sent (SMS text, form value)"),
        _c(
            "value_numeric",
            "number",
            "Numeric value (scales, numbers; yes=1/no=0; numeric option values)",
        ),
        _c("value", "string", "Chosen option value(s), ';'-separated, or free text"),
        _c("value_label", "string", "Label of the chosen option(s) or scale anchor"),
        _c("missing", "string", "Why there is no value", categories=MISSING_CODES),
        *_times("answered", "When the answer was given"),
        _c(
            "person_mean",
            "number",
            "Numeric items: the participant's mean of this item in this questionnaire, planned "
            "prompts of all its schedules together (reports the participant started apart)",
        ),
        _c("person_centred", "number", "Numeric items: value_numeric minus person_mean"),
        _c(
            "lag1",
            "number",
            "Numeric items: the value at the previous beep of the same questionnaire and day, "
            "whichever schedule planned it (reports: the previous report); empty across days "
            "and after a missed beep",
        ),
        _c("lag1_gap_minutes", "number", "Minutes between that previous beep and this one"),
    ],
    primary_key=["prompt_id", "item"],
    foreign_keys=[PROMPT_FK, PARTICIPANT_FK],
)

#: The dashboard's rule (`eas.responses.compliance`), in a column's words.
_COUNTED = (
    "Planned prompts due and settled: completed, or closed unanswered (open, future and "
    "cancelled prompts, and reports the participant started, do not count)"
)

PARTICIPANTS = Table(
    "participants",
    "Participants",
    "One row per participant: pseudonymous id only, never a phone number.",
    [
        _c("participant", "string", "Pseudonymous participant id", required=True),
        _c("group", "string", "Dyad or group"),
        _c(
            "status",
            "string",
            "Status at export",
            categories={
                "active": "taking part",
                "paused": "paused until resumed",
                "withdrawn": "withdrawn",
                "completed": "completed the study",
                "opted_out": "texted STOP",
            },
        ),
        _c("arm", "string", ARM),
        _c(
            "arm_stratum",
            "string",
            "The value of the protocol's study.arms.stratify_by column the arm was balanced "
            "within (empty: arms not stratified, or given in the participants CSV)",
        ),
        _c("channel", "string", "Default channel"),
        _c("timezone", "string", "Current IANA zone"),
        _c("timezone_history", "string", "Zones in force, 'zone since UTC time' separated by ';'"),
        _c("enrolled_utc", "datetime", "Enrolment time, UTC"),
        _c("start_date", "date", "Study day 1 (local date)"),
        _c("wake", "string", "Waking window start (local HH:MM)"),
        _c("sleep", "string", "Waking window end (local HH:MM)"),
        _c("prompts_planned", "integer", "Prompts planned (replaced ones not counted)"),
        _c("prompts_sendable", "integer", _COUNTED),
        _c("prompts_sent", "integer", "Planned prompts sent"),
        _c("prompts_completed", "integer", "Planned prompts completed"),
        _c("reports_completed", "integer", "Reports the participant started and completed"),
        _c("compliance", "number", "Completed / sendable prompts (as on the dashboard)"),
        _c(
            "compliance_planned",
            "number",
            "Completed / planned prompts (cancelled and future count as not completed)",
        ),
    ],
    primary_key=["participant"],
)

COMPLIANCE_DAYS = Table(
    "compliance_days",
    "Compliance per participant and study day",
    "Counts and rates per participant and study day.",
    [
        _c("participant", "string", "Pseudonymous participant id", required=True),
        _c("study_day", "integer", "Study day", required=True),
        _c("planned", "integer", "Prompts planned"),
        _c("sendable", "integer", _COUNTED),
        _c("completed", "integer", "Prompts completed"),
        _c("compliance", "number", "completed / sendable"),
        _c("compliance_planned", "number", "completed / planned"),
    ],
    primary_key=["participant", "study_day"],
    foreign_keys=[PARTICIPANT_FK],
)

COMPLIANCE_BEEPS = Table(
    "compliance_beeps",
    "Compliance per questionnaire and beep",
    "Across participants: how often each beep of each questionnaire was completed (planned "
    "prompts of all its schedules; reports the participant started are not compliance).",
    [
        _c("questionnaire", "string", "Questionnaire id", required=True),
        _c(
            "beep",
            "integer",
            "Beep within the day of that questionnaire, across its schedules",
            required=True,
        ),
        _c("planned", "integer", "Prompts planned"),
        _c("sendable", "integer", _COUNTED),
        _c("completed", "integer", "Prompts completed"),
        _c("compliance", "number", "completed / sendable"),
        _c("compliance_planned", "number", "completed / planned"),
    ],
    primary_key=["questionnaire", "beep"],
)

PAUSES = Table(
    "pauses",
    "Pauses",
    "Periods without prompts.",
    [
        _c("participant", "string", "Pseudonymous participant id", required=True),
        _c("starts_utc", "datetime", "Start, UTC"),
        _c("ends_utc", "datetime", "End, UTC (empty: until resumed)"),
        _c("reason", "string", "Reason given"),
    ],
    foreign_keys=[PARTICIPANT_FK],
)

EVENTS = Table(
    "events",
    "Events",
    "Every text in and out (without its content), delivery report and participant change.",
    [
        _c("event_id", "string", "Event id", required=True),
        _c("participant", "string", "Pseudonymous participant id"),
        _c("prompt_id", "integer", "Prompt the event belongs to"),
        _c("at_utc", "datetime", "When, UTC"),
        _c(
            "kind",
            "string",
            "What happened",
            categories={
                "sent_prompt": "a prompt's text was sent",
                "sent_reminder": "a reminder was sent",
                "sent_reply": "a reply in an SMS conversation was sent",
                "received": "a text from the participant arrived",
                "participant_change": "the participant's state changed (see detail)",
            },
        ),
        _c("status", "string", "Message status, as last reported"),
        _c("error_code", "integer", "Provider or carrier error code"),
        _c(
            "detail",
            "string",
            "For participant changes: the action (paused, withdrawn, opted_out, ...)",
        ),
    ],
    primary_key=["event_id"],
)

CODEBOOK = Table(
    "codebook",
    "Codebook",
    "Every item of every questionnaire, as the protocol defines it.",
    [
        _c("questionnaire", "string", "Questionnaire id", required=True),
        _c("item", "string", "Item id (a column of the wide tables)", required=True),
        _c("position", "integer", "Position in the questionnaire, from 1"),
        _c(
            "type",
            "string",
            "Item type",
            categories={
                t: t
                for t in ("yes_no", "scale", "slider", "choice", "multi_choice", "number", "text")
            },
        ),
        _c(
            "variable_type",
            "string",
            "openESM variable type",
            categories={
                t: t for t in ("binary", "rating_scale", "categorical", "numeric", "open-text")
            },
        ),
        _c("text", "string", "Exact wording"),
        _c("sms_text", "string", "Wording by SMS, when shorter"),
        _c("minimum", "number", "Lowest value"),
        _c("maximum", "number", "Highest value"),
        _c("labels", "string", "Value labels, 'value=label' separated by '; '"),
        _c("show_if", "string", "Branching condition"),
        _c("required", "boolean", "Required on the web"),
        _c("construct", "string", "What the item measures"),
        _c("source", "string", "Where the item comes from"),
        _c("sms_reply_format", "string", "The answer format as the SMS states it"),
    ],
    primary_key=["questionnaire", "item"],
)

FIXED_TABLES = [
    PROMPTS,
    RESPONSES,
    PARTICIPANTS,
    COMPLIANCE_DAYS,
    COMPLIANCE_BEEPS,
    PAUSES,
    EVENTS,
    CODEBOOK,
]
