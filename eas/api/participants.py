"""Participants: list, enrol (one, or many from CSV, by the rules of `eas participants import`),
pause, resume, withdraw, move time zone. Phone numbers go in and never come out."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_smorest import abort
from sqlalchemy.orm import selectinload

from eas.api.auth import addressable, current_user, study_for
from eas.api.base import NO_PARTICIPANT, NO_STUDY, api_blueprint, field_errors, page_of
from eas.api.schemas import (
    ChangeSchema,
    EnrolledSchema,
    EnrolSchema,
    ImportedSchema,
    ImportSchema,
    ParticipantDetailSchema,
    ParticipantQuerySchema,
    ParticipantSchema,
    PauseInputSchema,
    TimezoneInputSchema,
    WithdrawSchema,
)
from eas.core.clock import now_utc
from eas.participants.csv_import import CsvInvalid, RowError
from eas.participants.lifecycle import (
    LifecycleError,
    change_timezone,
    find_participant,
    pause,
    resume,
    withdraw,
)
from eas.participants.models import Participant
from eas.participants.operations import enrol_one, import_csv_text
from eas.participants.state import in_state
from eas.scheduling.planner import PlanningError
from eas.studies.models import Study
from eas.users.models import StudyRole

blp = api_blueprint("Participants", __name__, "Enrol participants and change their state.")

#: The number a participant gave, quoted back in the importer's messages: not in API answers.
_QUOTED_NUMBER = re.compile(r"^'.*' is not (a |a valid )phone number")


def _message(error: RowError) -> str:
    if error.column == "phone":
        return _QUOTED_NUMBER.sub(r"this number is not \1phone number", error.message)
    return error.message


def participant_or_404(study: Study, label: str) -> Participant:
    participant = find_participant(study.id, label) if addressable(label) else None
    if participant is None:
        abort(404, message=f"no participant '{label}' in study '{study.slug}'")
    return participant


@blp.route("/studies/<slug>/participants")
@blp.arguments(ParticipantQuerySchema, location="query")
@blp.response(200, ParticipantSchema(many=True))
@blp.error(404, NO_STUDY)
@blp.paginate()
def list_participants(query: dict, slug: str, pagination_parameters):
    """A study's participants, by label

    `status` filters by each participant's state now, as `state` gives it and the dashboard
    shows it (the rule of `participant_state`): `paused` lists those with a pause in force,
    also a pause with an end date (which leaves the stored status `active`); `active` leaves
    them out. `state` says whether each is paused now, with `paused_until`.
    """
    study, _ = study_for(slug)
    select = (
        sa.select(Participant)
        .where(Participant.study_id == study.id)
        .options(selectinload(Participant.pauses))  # for `state`: not a query each
    )
    if "status" in query:
        select = select.where(in_state(query["status"].value, now_utc()))
    return page_of(select.order_by(Participant.label), pagination_parameters)


@blp.route("/studies/<slug>/participants/<label>")
@blp.response(200, ParticipantDetailSchema)
@blp.error(404, NO_PARTICIPANT)
def get_participant(slug: str, label: str):
    """One participant, with their pauses and time zones"""
    study, _ = study_for(slug)
    return participant_or_404(study, label)


@blp.route("/studies/<slug>/participants", methods=["POST"])
@blp.arguments(EnrolSchema)
@blp.response(201, EnrolledSchema, description="Enrolled, and their prompts planned")
@blp.alt_response(200, schema=EnrolledSchema, description="Already enrolled with these details")
@blp.error(403, "Viewers cannot enrol")
@blp.error(404, NO_STUDY)
def enrol(body: dict, slug: str):
    """Enrol one participant

    The same rules as a row of `eas participants import`: defaults from the protocol, every
    problem named by its field, and a label or number already enrolled with other details is
    an error. Enrolling the same details again changes nothing. Coordinators and owners only.
    In a study with arms, `arm` is given where the protocol takes arms from the CSV, and
    `stratum` (the study.arms.stratify_by column's value) where eas balances them within it.
    `warnings` names the schedules whose own window puts prompts outside the participant's
    waking hours (enrolled all the same).
    """
    study, _ = study_for(slug, StudyRole.coordinator)
    start = body.pop("start", None)
    try:
        result = enrol_one(study, body, actor=current_user().email, start=start)
    except CsvInvalid as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            errors.setdefault(error.column or "_schema", []).append(_message(error))
        field_errors(422, "not enrolled", {"json": errors})
    created = bool(result.created)
    participant = (result.created or result.unchanged)[0]
    return {
        "participant": participant,
        "created": created,
        "prompts_planned": result.prompts_planned,
        "warnings": result.warnings,
    }, (201 if created else 200)


@blp.route("/studies/<slug>/participants/import", methods=["POST"])
@blp.arguments(ImportSchema)
@blp.response(200, ImportedSchema)
@blp.error(403, "Viewers cannot enrol")
@blp.error(404, NO_STUDY)
def import_csv(body: dict, slug: str):
    """Enrol participants from CSV text

    Exactly `eas participants import`: columns label, phone, timezone, and optionally wake,
    sleep, weekend_wake, weekend_sleep, start_date, channel, group; `arm` where the protocol
    takes arms from the CSV, its study.arms.stratify_by column where eas balances arms within
    it. Every bad row is named by line and column, and nobody is enrolled unless every row
    is good. `warnings` names, per participant, the schedules whose own window puts prompts
    outside their waking hours (enrolled all the same).
    """
    study, _ = study_for(slug, StudyRole.coordinator)
    try:
        result = import_csv_text(
            study, body["csv"], actor=current_user().email, start=body.get("start")
        )
    except CsvInvalid as exc:
        rows = [
            {"line": error.line, "column": error.column, "message": _message(error)}
            for error in exc.errors
        ]
        field_errors(422, f"{len(rows)} error(s); nobody was enrolled", {"json": {"csv": rows}})
    return {
        "created": [p.label for p in result.created],
        "unchanged": [p.label for p in result.unchanged],
        "prompts_planned": result.prompts_planned,
        "warnings": result.warnings,
    }


def _change(slug: str, label: str, action, **kwargs) -> dict:
    study, _ = study_for(slug, StudyRole.coordinator)
    participant = participant_or_404(study, label)
    try:
        result = action(participant, now_utc(), actor=current_user().email, **kwargs)
    except LifecycleError as exc:
        abort(409, message=str(exc))
    except PlanningError as exc:
        abort(422, message=f"not changed: {exc}")
    return {"participant": participant, "cancelled": result.cancelled, "planned": result.created}


def _lifecycle_responses(func):
    func = blp.response(200, ChangeSchema)(func)
    func = blp.error(403, "Viewers cannot change participants")(func)
    func = blp.error(404, NO_PARTICIPANT)(func)
    return blp.error(409, "Not possible in the participant's state")(func)


@blp.route("/studies/<slug>/participants/<label>/pause", methods=["POST"])
@blp.arguments(PauseInputSchema, required=False)
@_lifecycle_responses
def pause_participant(body: dict, slug: str, label: str):
    """Pause a participant's prompts

    From now until `until`, or until resumed. Only future prompts change.
    """
    until = body.get("until")
    if until is not None and until <= now_utc():
        field_errors(422, "not paused", {"json": {"until": ["must be in the future"]}})
    return _change(slug, label, pause, until=until, reason=body.get("reason"))


@blp.route("/studies/<slug>/participants/<label>/resume", methods=["POST"])
@_lifecycle_responses
def resume_participant(slug: str, label: str):
    """Resume a paused participant: prompts from now on are planned again"""
    return _change(slug, label, resume)


@blp.route("/studies/<slug>/participants/<label>/withdraw", methods=["POST"])
@blp.arguments(WithdrawSchema, required=False)
@_lifecycle_responses
def withdraw_participant(body: dict, slug: str, label: str):
    """Withdraw a participant

    Every future prompt is cancelled at once; collected data is kept or deleted as the
    protocol's `study.consent.on_withdrawal` says.
    """
    return _change(slug, label, withdraw, reason=body.get("reason"))


@blp.route("/studies/<slug>/participants/<label>/timezone", methods=["POST"])
@blp.arguments(TimezoneInputSchema)
@_lifecycle_responses
def set_timezone(body: dict, slug: str, label: str):
    """Move a participant to another time zone (travel, a move): future prompts follow it"""
    return _change(slug, label, change_timezone, zone=body["timezone"])
