from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for

from eas.core.clock import now_utc
from eas.core.db import db
from eas.export.archive import record_export, zipped_export
from eas.participants.state import state_counts
from eas.protocols.sms_format import answer_hint
from eas.safety.models import AlertStatus
from eas.safety.operations import (
    MAX_NOTE,
    AlertError,
    AlreadyAcknowledged,
    NoSuchAlert,
    acknowledge,
)
from eas.studies.models import Study
from eas.users.models import StudyMembership, StudyRole
from eas.users.operations import may_create_studies
from eas.web.auth import MAX_ID, current_user, form_post, login_required, study_for
from eas.web.heatmap import compliance_heatmap
from eas.web.monitoring import open_alert_counts, sees_answers, study_alerts
from eas.web.protocol_pages import PASTED

bp = Blueprint("web", __name__)


@bp.app_template_global()
def signed_in_user():
    """Who the page header says is signed in (None on the sign-in page)."""
    return current_user()


@bp.app_template_filter("source")
def source_phrase(name: str, *, sentence_start: bool = False) -> str:
    """Where a protocol came from, as a sentence names it: a file by its name ("3 problems in
    x.yaml", "from x.yaml"); pasted text as the text pasted in the browser, never as the bare
    "pasted in the browser" it is stored as."""
    if name != PASTED:
        return name
    return "The text pasted in the browser" if sentence_start else "the text pasted in the browser"


@bp.get("/")
@login_required
def index():
    studies = db.session.scalars(
        sa.select(Study)
        .join(StudyMembership, StudyMembership.study_id == Study.id)
        .where(StudyMembership.user_id == current_user().id)
        .order_by(Study.title)
    ).all()
    return render_template(
        "index.html",
        studies=studies,
        open_alerts=open_alert_counts([study.id for study in studies]),
        may_create=may_create_studies(current_user()),
    )


@bp.get("/studies/<slug>")
@login_required
def study(slug: str):
    study, role = study_for(slug)
    if study.current_version is None:
        abort(404)
    counts = state_counts([study.id], now_utc())[study.id]
    with_text = sees_answers(role)
    return render_template(
        "study.html",
        study=study,
        role=role,
        can_act=role.rank >= StudyRole.coordinator.rank,
        version=study.current_version,
        definition=study.current_version.definition,
        status_counts=list(counts.items()),
        alerts=study_alerts(study, AlertStatus.open, with_text=with_text),
        history=study_alerts(study, AlertStatus.acknowledged, with_text=with_text),
        max_note=MAX_NOTE,
        heatmap=compliance_heatmap(study, now_utc()),
        answer_hint=answer_hint,
    )


@bp.post(f"/studies/<slug>/alerts/<int(max={MAX_ID}):number>/ack")
@form_post
@login_required
def acknowledge_alert(slug: str, number: int):
    """Acknowledge the study's alert `number`, saying what was done (the form's note)."""
    study, _ = study_for(slug, StudyRole.coordinator)
    note = request.form.get("note", "")
    try:
        acknowledge(study.id, number, by=current_user(), note=note, now=now_utc())
    except AlreadyAcknowledged as problem:
        flash(f"Already done: {problem}.")  # a colleague was quicker
    except NoSuchAlert:
        abort(404)
    except AlertError as problem:
        db.session.rollback()
        flash(f"Alert {number} is still open: {problem}.")
    return redirect(url_for("web.study", slug=slug, _anchor="open-alerts"), 303)


@bp.post("/studies/<slug>/export")
@form_post
@login_required
def download_export(slug: str):
    study, _ = study_for(slug, StudyRole.coordinator)
    now = now_utc()
    archive_file, result = zipped_export(study, now, wide=True)
    user = current_user()
    record_export(study, result, fmt="csv", actor=user.email, user_id=user.id, via="dashboard")
    name = f"{study.slug}-{now:%Y%m%dT%H%MZ}.zip"
    return send_file(
        archive_file, mimetype="application/zip", as_attachment=True, download_name=name
    )
