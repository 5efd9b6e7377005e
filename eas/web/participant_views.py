"""Participants in the browser: the list with compliance, enrolling one by a form or many by
CSV (the CLI's rules: every bad row named, nobody imported unless all are good), one
participant's prompts and texts, and pause, resume, withdraw and time-zone changes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from eas.core.clock import now_utc
from eas.core.db import db
from eas.participants.arms import arms_of
from eas.participants.csv_import import CsvInvalid, RowError
from eas.participants.lifecycle import (
    LifecycleError,
    change_timezone,
    find_participant,
    pause,
    pause_end,
    resume,
    withdraw,
)
from eas.participants.operations import FORM_FIELDS, enrol_one, import_csv_text
from eas.participants.state import participant_state
from eas.protocols.fields import iana_zones
from eas.responses.compliance import compliance_by_participant
from eas.safety.models import AlertStatus
from eas.scheduling.planner import PlanningError
from eas.studies.models import Study
from eas.users.models import StudyRole
from eas.web.auth import MAX_ID, bounded_int, current_user, form_post, login_required, study_for
from eas.web.monitoring import (
    answers_by_prompt,
    participant_prompts,
    sees_answers,
    study_alerts,
    thread,
)

bp = Blueprint("people", __name__)

MAX_CSV_BYTES = 5 * 1024 * 1024


def _list_page(
    study: Study,
    role: StudyRole,
    *,
    form=None,
    field_errors=None,
    csv_errors=None,
    csv_name=None,
    status=200,
):
    now = now_utc()
    rows = compliance_by_participant(study, now)
    definition = study.current_version.definition
    return render_template(
        "participants.html",
        study=study,
        can_act=role.rank >= StudyRole.coordinator.rank,
        rows=rows,
        states={row.participant.id: participant_state(row.participant, now) for row in rows},
        defaults=definition["participant_defaults"],
        arms=arms_of(definition),
        zones=sorted(iana_zones()),
        form=form or {},
        field_errors=field_errors or {},
        csv_errors=csv_errors,
        csv_name=csv_name,
    ), status


@bp.get("/studies/<slug>/participants")
@login_required
def participants(slug: str):
    study, role = study_for(slug)
    return _list_page(study, role)


@bp.post("/studies/<slug>/participants")
@form_post
@login_required
def enrol(slug: str):
    study, role = study_for(slug, StudyRole.coordinator)
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    try:
        result = enrol_one(study, form, actor=current_user().email)
    except CsvInvalid as invalid:
        field_errors: dict[str, list[str]] = {}
        for error in invalid.errors:
            field_errors.setdefault(error.column or "label", []).append(error.message)
        return _list_page(study, role, form=form, field_errors=field_errors, status=422)
    if not result.created:
        flash(f"{form['label']} is already enrolled with these details: nothing changed.")
    else:
        flash(f"{form['label']} enrolled; {result.prompts_planned} prompts planned.")
    for warning in result.warnings:
        flash(f"Warning: {warning.message}")
    return redirect(url_for("people.participant", slug=slug, label=form["label"]), 303)


@bp.post("/studies/<slug>/participants/import")
@form_post
@login_required
def import_csv(slug: str):
    study, role = study_for(slug, StudyRole.coordinator)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors = [RowError(1, None, "choose a CSV file to upload")]
        return _list_page(study, role, csv_errors=errors, csv_name="(no file)", status=422)
    name = upload.filename
    data = upload.read(MAX_CSV_BYTES + 1)
    problem = "the file is larger than 5 MB" if len(data) > MAX_CSV_BYTES else None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        problem = problem or "not UTF-8 text; save the CSV as UTF-8"
    if problem:
        errors = [RowError(1, None, problem)]
        return _list_page(study, role, csv_errors=errors, csv_name=name, status=422)
    try:
        result = import_csv_text(study, text, actor=current_user().email)
    except CsvInvalid as invalid:
        return _list_page(study, role, csv_errors=invalid.errors, csv_name=name, status=422)
    flash(
        f"{name}: enrolled {len(result.created)} participant(s) with {result.prompts_planned} "
        f"prompts planned; {len(result.unchanged)} already enrolled and unchanged."
    )
    for warning in result.warnings:
        flash(f"Warning: {warning.message}")
    return redirect(url_for("people.participants", slug=slug), 303)


def _participant(study: Study, label: str):
    participant = find_participant(study.id, label)
    if participant is None:
        abort(404)
    return participant


@bp.get("/studies/<slug>/participants/<label>")
@login_required
def participant(slug: str, label: str):
    study, role = study_for(slug)
    person = _participant(study, label)
    now = now_utc()
    return render_template(
        "participant.html",
        study=study,
        person=person,
        can_act=role.rank >= StudyRole.coordinator.rank,
        prompts=participant_prompts(person, now),
        answers=answers_by_prompt(person),
        alerts=study_alerts(
            study, AlertStatus.open, participant=person, with_text=sees_answers(role)
        ),
        arms=arms_of(study.current_version.definition),
        thread=thread(person, before=bounded_int(request.args.get("texts_before"), MAX_ID)),
        zones=sorted(iana_zones()),
        state=participant_state(person, now),
        paused=any(p.ends_at is None or p.ends_at > now for p in person.pauses),
        now=now,
    )


@bp.post("/studies/<slug>/participants/<label>/<action>")
@form_post
@login_required
def change(slug: str, label: str, action: str):
    study, _ = study_for(slug, StudyRole.coordinator)
    person = _participant(study, label)
    now, actor = now_utc(), current_user().email
    reason = request.form.get("reason", "").strip()[:200] or None
    try:
        if action == "pause":
            until = pause_end(request.form.get("until", "").strip(), person.timezone)
            result = pause(person, now, until=until, reason=reason, actor=actor)
        elif action == "resume":
            result = resume(person, now, actor=actor)
        elif action == "withdraw":
            if request.form.get("confirm") != "yes":
                raise LifecycleError("tick the box to confirm the withdrawal")
            result = withdraw(person, now, reason=reason, actor=actor)
        elif action == "timezone":
            zone = request.form.get("timezone", "").strip()
            result = change_timezone(person, now, zone=zone, actor=actor)
        else:
            abort(404)
    except (LifecycleError, PlanningError) as exc:
        db.session.rollback()  # the redirect below would otherwise commit a half-made change
        flash(f"Nothing changed: {exc}.")
        return redirect(url_for("people.participant", slug=slug, label=label), 303)
    state = participant_state(person, now)
    changed = f"{result.cancelled} future prompt(s) cancelled, {result.created} planned"
    flash(f"{label}: {state}; {changed}.")
    return redirect(url_for("people.participant", slug=slug, label=label), 303)
