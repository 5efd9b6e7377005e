"""Setting a study up in the browser: paste or upload a protocol, see its errors beside their
lines, compare it with the current version, preview the schedule, publish."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from eas.core.clock import now_utc
from eas.core.db import db
from eas.protocols.validation import ProtocolError
from eas.studies.models import ProtocolVersion, Study
from eas.studies.operations import get_study, publish_protocol
from eas.users.models import StudyRole
from eas.users.operations import grant, may_create_studies
from eas.web.auth import MAX_ID, bounded_int, current_user, form_post, login_required, study_for
from eas.web.protocol_pages import Checked, check, compare, schedule_preview
from eas.web.views import source_phrase

bp = Blueprint("setup", __name__)


def _version(study: Study, number: int) -> ProtocolVersion:
    version = db.session.scalar(
        sa.select(ProtocolVersion).where(
            ProtocolVersion.study_id == study.id, ProtocolVersion.number == number
        )
    )
    if version is None:
        abort(404)
    return version


def _refuse(checked: Checked, message: str) -> Checked:
    error = ProtocolError(1, 1, "study.id", message, checked.source_name)
    return Checked(checked.text, checked.source_name, None, [error])


def _may_create() -> None:
    if not may_create_studies(current_user()):
        abort(404)


@bp.get("/studies/new")
@login_required
def new_study():
    _may_create()
    return render_template("protocol_new.html", checked=None, preview=None)


@bp.post("/studies/new")
@form_post
@login_required
def create_study():
    """Administrators and owners of a study may start one; they become its owner."""
    _may_create()
    checked = check(request.form, request.files)
    if checked.protocol is not None and get_study(checked.protocol.study_id) is not None:
        # Saying the id is taken is unavoidable; nothing else about that study is shown.
        checked = _refuse(
            checked,
            f"a study with the id '{checked.protocol.study_id}' exists already; choose another "
            "id, or publish a new version from that study's protocol page",
        )
    if checked.protocol is None or request.form.get("action") != "publish":
        protocol = checked.protocol
        preview = schedule_preview(protocol.definition, now_utc()) if protocol else None
        return render_template("protocol_new.html", checked=checked, preview=preview)
    user = current_user()
    result = publish_protocol(checked.protocol, actor=user.email)
    grant(user, result.study.id, StudyRole.owner, now_utc(), actor=user.email)
    source = source_phrase(checked.source_name)
    flash(f"Study {result.study.slug} created from {source} (version 1).")
    return redirect(url_for("web.study", slug=result.study.slug), 303)


@bp.get("/studies/<slug>/protocol")
@login_required
def protocol(slug: str):
    study, role = study_for(slug)
    return _protocol_page(study, role, checked=None)


def _protocol_page(study: Study, role: StudyRole, checked: Checked | None, status: int = 200):
    current = study.current_version
    preview = diff = None
    if checked is not None and checked.protocol is not None:
        preview = schedule_preview(checked.protocol.definition, now_utc())
        diff = compare(current.source_text, checked.text)
    versions = db.session.scalars(
        sa.select(ProtocolVersion)
        .where(ProtocolVersion.study_id == study.id)
        .order_by(ProtocolVersion.number.desc())
    ).all()
    page = render_template(
        "protocol.html",
        study=study,
        versions=versions,
        current=current,
        can_publish=role is StudyRole.owner,
        can_check=role.rank >= StudyRole.coordinator.rank,
        checked=checked,
        preview=preview,
        diff=diff,
    )
    return page, status


@bp.post("/studies/<slug>/protocol")
@form_post
@login_required
def publish_version(slug: str):
    study, role = study_for(slug, StudyRole.coordinator)
    publishing = request.form.get("action") == "publish"
    if publishing and role is not StudyRole.owner:
        abort(404)  # as for any action one's role does not allow
    checked = check(request.form, request.files)
    if checked.protocol is not None and checked.protocol.study_id != study.slug:
        checked = _refuse(
            checked,
            f"this protocol is for the study '{checked.protocol.study_id}', not '{study.slug}'",
        )
    unchanged = study.current_version.source_hash
    if checked.protocol is not None and checked.protocol.source_hash == unchanged:
        flash("This text is the current version: nothing to publish.")
        return redirect(url_for("setup.protocol", slug=slug), 303)
    if checked.protocol is None or not publishing:
        # Errors are an answer, not a failure: 200, but nothing is stored.
        return _protocol_page(study, role, checked)
    result = publish_protocol(checked.protocol, actor=current_user().email)
    flash(
        f"Version {result.version.number} published: {result.prompts_planned} future prompt(s) "
        f"planned and {result.prompts_cancelled} cancelled to follow it."
    )
    return redirect(url_for("setup.protocol", slug=slug), 303)


@bp.get(f"/studies/<slug>/protocol/versions/<int(max={MAX_ID}):number>")
@login_required
def version(slug: str, number: int):
    study, _ = study_for(slug)
    shown = _version(study, number)
    checked = Checked(shown.source_text, shown.source_name, None, [])
    return render_template("protocol_version.html", study=study, version=shown, checked=checked)


@bp.get(f"/studies/<slug>/protocol/versions/<int(max={MAX_ID}):number>.yaml")
@login_required
def version_yaml(slug: str, number: int):
    """A version's text as it was published, to edit and check again."""
    study, _ = study_for(slug)
    shown = _version(study, number)
    name = f"{study.slug}-v{shown.number}.yaml"
    return Response(
        shown.source_text,
        mimetype="application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/studies/<slug>/protocol/compare")
@login_required
def compare_versions(slug: str):
    study, _ = study_for(slug)
    newest = study.current_version.number
    new_number = bounded_int(request.args.get("to"), newest)
    old_number = bounded_int(request.args.get("from"), new_number - 1)
    old, new = _version(study, old_number), _version(study, new_number)
    return render_template(
        "protocol_compare.html",
        study=study,
        old=old,
        new=new,
        diff=compare(old.source_text, new.source_text),
        numbers=range(newest, 0, -1),
    )
