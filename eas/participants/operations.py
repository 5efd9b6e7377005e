"""Enrolling participants. Operations flush; the caller commits."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from eas.audit.operations import record
from eas.core.clock import now_utc
from eas.core.crypto import get_cipher
from eas.core.db import db
from eas.participants.arms import Assigned, assign_arms, lock_enrolments
from eas.participants.csv_import import (
    CsvInvalid,
    ParsedCsv,
    ParticipantRow,
    RowError,
    parse_participants_csv,
    stratum_column,
)
from eas.participants.models import Participant, ParticipantGroup, TimezoneChange
from eas.scheduling.horizon import last_study_day
from eas.scheduling.localtime import local_date_of
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.operations import replan_participant, subject_for
from eas.scheduling.planner import PlanningError, derive_seed
from eas.scheduling.preview import WakingWarning, waking_warnings
from eas.studies.models import Study

#: Participants per query when reading their prompts (well under SQLite's 32,766 parameters).
_CHUNK = 500


@dataclass(frozen=True)
class EnrolmentWarning:
    """Enrolled, but a schedule's own window puts some of the participant's prompts outside
    their waking hours (the window takes the place of wake and sleep)."""

    label: str
    warning: WakingWarning

    @property
    def message(self) -> str:
        return f"{self.label}: {self.warning.message}"


@dataclass
class ImportResult:
    created: list[Participant] = field(default_factory=list)
    unchanged: list[Participant] = field(default_factory=list)
    prompts_planned: int = 0
    #: Per participant planned now (the new ones, and members of the groups they joined).
    warnings: list[EnrolmentWarning] = field(default_factory=list)


def default_start_date(zone: str, now: datetime, rule: str = "next_day") -> date:
    """Study day 1 when the coordinator gives none: by the protocol's `study.start` rule, the
    participant's next local calendar day, or today (only the rest of today's window is used:
    nothing is planned before enrolment)."""
    today = local_date_of(now, zone)
    return today if rule == "same_day" else today + timedelta(days=1)


def new_schedule_seed(*parts: object) -> int:
    """A fresh seed for a participant's (or group's) random draws. The study simulator sets
    `EAS_SCHEDULE_SEED` so the same simulation seed draws the same times every run."""
    base = current_app.config.get("EAS_SCHEDULE_SEED")
    return derive_seed(base, *parts) if base is not None else secrets.randbits(63)


def _group(study: Study, label: str, now: datetime) -> ParticipantGroup:
    group = db.session.scalar(
        sa.select(ParticipantGroup).where(
            ParticipantGroup.study_id == study.id, ParticipantGroup.label == label
        )
    )
    if group is None:
        group = ParticipantGroup(
            study_id=study.id,
            label=label,
            schedule_seed=new_schedule_seed("group", study.slug, label),
            created_at=now,
        )
        db.session.add(group)
    return group


def enroll(
    study: Study,
    row: ParticipantRow,
    *,
    now: datetime,
    start_rule: str | None = None,
    assigned: Assigned | None = None,
) -> Participant:
    """One participant, as `import_participants` enrols each new row (with the arm
    `assign_arms` gave it)."""
    rule = start_rule or study.current_version.definition["study"].get("start", "next_day")
    participant = Participant(
        study=study,
        label=row.label,
        timezone=row.timezone,
        wake_time=row.wake,
        sleep_time=row.sleep,
        weekend_wake_time=row.weekend_wake,
        weekend_sleep_time=row.weekend_sleep,
        channel=row.channel,
        enrolled_at=now,
        start_date=row.start_date or default_start_date(row.timezone, now, rule),
        schedule_seed=new_schedule_seed("participant", study.slug, row.label),
        group=_group(study, row.group, now) if row.group else None,
        arm=assigned.arm if assigned else None,
        arm_stratum=assigned.stratum if assigned else None,
    )
    participant.phone = row.phone
    participant.timezone_changes.append(
        TimezoneChange(timezone=row.timezone, effective_at=now, recorded_at=now)
    )
    db.session.add(participant)
    return participant


def _differences(
    participant: Participant, row: ParticipantRow, phone_hash: str, stratum: str | None
) -> list[str]:
    """The details (columns) in which an enrolled participant and a row for them differ;
    `stratum`: the study's stratification column, if any."""
    differences = []
    if participant.phone_hash != phone_hash:
        differences.append("phone")
    for name, value in (
        ("timezone", row.timezone),
        ("wake", row.wake),
        ("sleep", row.sleep),
        ("weekend_wake", row.weekend_wake),
        ("weekend_sleep", row.weekend_sleep),
        ("channel", row.channel),
        ("group", row.group),
    ):
        if name == "group":
            current = participant.group.label if participant.group else None
        else:
            current = getattr(
                participant, name if name in ("timezone", "channel") else name + "_time"
            )
        if current != value:
            differences.append(name)
    if row.start_date is not None and participant.start_date != row.start_date:
        differences.append("start_date")
    if row.arm is not None and participant.arm != row.arm:
        differences.append("arm")
    if stratum is not None and participant.arm_stratum != row.stratum:
        differences.append(stratum)
    return differences


def import_participants(
    study: Study, parsed: ParsedCsv, *, actor: str, start_rule: str | None = None
) -> ImportResult:
    """Enroll every new row if every row is good; rows already enrolled identically change nothing.

    A row whose label or phone is enrolled with other details is an error, not an update:
    re-importing a file must never silently move someone's time zone or number. Raises
    `CsvInvalid` with the file's problems and these together, and then enrolls nobody.
    `start_rule` ("same_day" or "next_day") overrides the protocol's `study.start` for rows
    without a start date. In a study with arms, each new participant gets theirs here, the one
    place every enrolment (CLI, page, API, simulator) passes: from the CSV, or balanced
    (`eas.participants.arms`), a group's members sharing one; their prompts follow it.
    """
    lock_enrolments(study)  # before reading who is enrolled: arms are counted from it
    cipher = get_cipher()
    stratum = stratum_column(study.current_version.definition)
    existing = {
        p.label: p
        for p in db.session.scalars(sa.select(Participant).where(Participant.study_id == study.id))
    }
    label_by_phone = {p.phone_hash: p.label for p in existing.values()}
    errors: list[RowError] = list(parsed.errors)
    result = ImportResult()
    new_rows = []
    for row in parsed.rows:
        phone_hash = cipher.lookup_hash(row.phone)
        participant = existing.get(row.label)
        if participant is not None:
            differences = _differences(participant, row, phone_hash, stratum)
            if differences:
                errors.append(
                    RowError(
                        row.line,
                        differences[0],
                        f"{row.label} is already enrolled with a different "
                        f"{', '.join(differences)}; change enrolled participants one by one",
                    )
                )
            else:
                result.unchanged.append(participant)
        elif phone_hash in label_by_phone:
            errors.append(
                RowError(
                    row.line,
                    "phone",
                    f"this number is already enrolled as {label_by_phone[phone_hash]}",
                )
            )
        else:
            new_rows.append(row)
    now = now_utc()
    duration = last_study_day(study.current_version.definition)
    for row in new_rows:
        if row.start_date is None or duration is None:  # None: until withdrawn
            continue
        last_day = row.start_date + timedelta(days=duration - 1)
        if last_day < local_date_of(now, row.timezone):
            errors.append(
                RowError(
                    row.line,
                    "start_date",
                    f"{row.start_date}: the {duration}-day study would have ended on {last_day}",
                )
            )
    assigned, group_errors = assign_arms(study, new_rows)
    errors += group_errors
    if errors:
        raise CsvInvalid(sorted(errors, key=lambda error: error.line))

    result.created = [
        enroll(study, row, now=now, start_rule=start_rule, assigned=arm)
        for row, arm in zip(new_rows, assigned, strict=True)
    ]
    db.session.flush()
    result.prompts_planned = _plan_new_participants(result.created, new_rows, now)
    result.warnings = _waking_warnings(study, result.created)
    if result.created:
        record(
            "participants.imported",
            actor=actor,
            study_id=study.id,
            labels=[p.label for p in result.created],
            unchanged=len(result.unchanged),
        )
    return result


#: The columns a single enrolment (a form, an API call) may give, as in the CSV.
ENROL_FIELDS = (
    "label",
    "phone",
    "timezone",
    "wake",
    "sleep",
    "weekend_wake",
    "weekend_sleep",
    "channel",
    "start_date",
    "group",
    "arm",
)
REQUIRED_FIELDS = ("label", "phone", "timezone")
#: A single enrolment's value of the protocol's `study.arms.stratify_by` column, whatever the
#: column is called (a form or an API body has fields of its own).
STRATUM_FIELD = "stratum"
#: What a single enrolment (the form, the API) may give.
FORM_FIELDS = (*ENROL_FIELDS, STRATUM_FIELD)


#: `--start` / `start` in the CLI and the API: the first study day of rows without one.
START_RULES = {"today": "same_day", "tomorrow": "next_day"}


def import_csv_text(
    study: Study, text: str, *, actor: str, start: str | None = None
) -> ImportResult:
    """Parse a participants CSV by the study's protocol and enrol it (`import_participants`);
    `start` is "today" or "tomorrow" (START_RULES), or None for the protocol's rule."""
    parsed = parse_participants_csv(
        text, study.current_version.definition, current_app.config["EAS_DEFAULT_PHONE_REGION"]
    )
    return import_participants(study, parsed, actor=actor, start_rule=START_RULES.get(start))


def enrol_one(
    study: Study, fields: dict[str, str], *, actor: str, start: str | None = None
) -> ImportResult:
    """Enrol one participant by the rules of a CSV row (the same checks and defaults); raises
    `CsvInvalid` with an error per field (line 2: the row after the header). `fields` are
    FORM_FIELDS: the CSV's columns, and `stratum` for the stratification column's value."""
    definition = study.current_version.definition
    column = stratum_column(definition)
    own_column = column is not None and column not in ENROL_FIELDS
    values = {name: (fields.get(name) or "").strip() for name in ENROL_FIELDS}
    stratum = (fields.get(STRATUM_FIELD) or "").strip()
    if own_column:
        values[column] = stratum
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(values))
    writer.writeheader()
    writer.writerow(values)

    def as_fields(errors: list[RowError]) -> list[RowError]:
        """The stratification column's errors under the field that gave it."""
        return [
            RowError(e.line, STRATUM_FIELD, e.message) if own_column and e.column == column else e
            for e in errors
        ]

    problems = [RowError(2, name, "is required") for name in REQUIRED_FIELDS if not values[name]]
    if stratum and not own_column:
        problems.append(
            RowError(
                2,
                STRATUM_FIELD,
                f"give {column} itself: this study balances arms within it"
                if column
                else "this study does not balance arms within strata (its protocol has no "
                "study.arms.stratify_by)",
            )
        )
    if problems:
        # Every problem at once: these, and what the other fields have wrong.
        region = current_app.config["EAS_DEFAULT_PHONE_REGION"]
        try:
            others = parse_participants_csv(buffer.getvalue(), definition, region).errors
        except CsvInvalid:  # nothing at all given: the blank fields say it
            others = []
        named = {error.column for error in problems}
        raise CsvInvalid(problems + [e for e in as_fields(others) if e.column not in named])
    try:
        return import_csv_text(study, buffer.getvalue(), actor=actor, start=start)
    except CsvInvalid as invalid:
        raise CsvInvalid(as_fields(invalid.errors)) from None


def _waking_warnings(study: Study, created: list[Participant]) -> list[EnrolmentWarning]:
    """The prompts just planned (still to be sent) that a schedule's window puts outside the
    participant's waking hours, for the newcomers and the members of groups they joined
    (members share random times: their prompts were planned again)."""
    definition = study.current_version.definition
    windowed = [s["id"] for s in definition["schedules"] if "window" in s]
    if not windowed or not created:
        return []
    people = list(
        dict.fromkeys(
            member
            for person in created
            for member in (person.group.members if person.group else [person])
        )
    )
    prompts: dict[int, list[tuple[str, int, datetime]]] = {person.id: [] for person in people}
    ids = list(prompts)
    for start in range(0, len(ids), _CHUNK):
        rows = db.session.execute(
            sa.select(
                PlannedPrompt.participant_id,
                PlannedPrompt.schedule_id,
                PlannedPrompt.study_day,
                PlannedPrompt.due_at,
            ).where(
                PlannedPrompt.participant_id.in_(ids[start : start + _CHUNK]),
                PlannedPrompt.schedule_id.in_(windowed),
                PlannedPrompt.status == PromptStatus.scheduled,
            )
        )
        for participant_id, schedule_id, study_day, due_at in rows:
            prompts[participant_id].append((schedule_id, study_day, due_at))
    return [
        EnrolmentWarning(person.label, warning)
        for person in people
        for warning in waking_warnings(definition, subject_for(person), prompts[person.id])
    ]


def _plan_new_participants(
    participants: list[Participant], rows: list[ParticipantRow], now: datetime
) -> int:
    """Plan the newcomers and re-plan the groups they joined (members share random times)."""
    planned = 0
    replanned_groups: set[int] = set()
    errors = []
    for participant, row in zip(participants, rows, strict=True):
        people = [participant]
        if participant.group is not None and participant.group_id not in replanned_groups:
            replanned_groups.add(participant.group_id)
            people = list(participant.group.members)
        elif participant.group is not None:
            continue  # the whole group was planned with an earlier member
        try:
            planned += sum(replan_participant(person, now).created for person in people)
        except PlanningError as exc:
            column = "group" if participant.group else "sleep"
            errors.append(RowError(row.line, column, str(exc)))
    if errors:
        raise CsvInvalid(errors)
    return planned
