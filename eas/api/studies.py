"""Studies one is on, their compliance, and export packages."""

from __future__ import annotations

import sqlalchemy as sa
from flask import send_file

from eas.api.auth import current_user, study_for
from eas.api.base import NO_STUDY, api_blueprint, page_of
from eas.api.schemas import (
    ComplianceQuerySchema,
    ComplianceSchema,
    ExportInputSchema,
    StudySchema,
)
from eas.core.clock import now_utc
from eas.export.archive import record_export, zipped_export
from eas.participants.state import state_counts
from eas.responses.compliance import (
    below_threshold,
    compliance_by_participant,
)
from eas.studies.models import Study
from eas.users.models import StudyMembership, StudyRole

blp = api_blueprint("Studies", __name__, "Studies you are on, compliance and exports.")


def _status_counts(study_ids: list[int]) -> dict[int, dict[str, int]]:
    """Participants per state now (a timed pause in force counts as paused), as on the page."""
    return state_counts(study_ids, now_utc())


def _study(study: Study, role: StudyRole, counts: dict[str, int]) -> dict:
    version = study.current_version
    return {
        "slug": study.slug,
        "title": study.title,
        "timezone": study.timezone,
        "created_at": study.created_at,
        "role": role,
        "current_version": version.number if version else None,
        "duration_days": version.definition["study"]["duration_days"] if version else None,
        "participants": counts,
    }


@blp.route("/studies")
@blp.response(200, StudySchema(many=True))
@blp.paginate()
def list_studies(pagination_parameters):
    """Studies you are on"""
    rows = page_of(
        sa.select(Study, StudyMembership.role)
        .join(StudyMembership, StudyMembership.study_id == Study.id)
        .where(StudyMembership.user_id == current_user().id)
        .order_by(Study.slug),
        pagination_parameters,
        scalars=False,
    )
    counts = _status_counts([study.id for study, _ in rows])
    return [_study(study, role, counts[study.id]) for study, role in rows]


@blp.route("/studies/<slug>")
@blp.response(200, StudySchema)
@blp.error(404, NO_STUDY)
def get_study(slug: str):
    """One study"""
    study, role = study_for(slug)
    return _study(study, role, _status_counts([study.id])[study.id])


@blp.route("/studies/<slug>/compliance")
@blp.arguments(ComplianceQuerySchema, location="query")
@blp.response(200, ComplianceSchema(many=True))
@blp.error(404, NO_STUDY)
@blp.paginate()
def compliance(query: dict, slug: str, pagination_parameters):
    """Compliance per participant

    As on the dashboard and in the export: planned prompts due so far and settled (completed,
    or closed unanswered; open, cancelled and future prompts do not count), how many were sent
    and completed, the rate completed / due, and reports started by the participant, apart.
    `below_threshold` flags active and paused participants with at least 3 prompts due whose
    rate is under `threshold`.
    """
    study, _ = study_for(slug)
    now = now_utc()
    everyone = compliance_by_participant(study, now)
    flagged = {row.participant.id for row in below_threshold(everyone, query["threshold"])}
    pagination = pagination_parameters
    pagination.item_count = len(everyone)
    rows = everyone[pagination.first_item : pagination.first_item + pagination.page_size]
    return [
        {
            "participant": row.participant.label,
            "status": row.participant.status,
            "due": row.due,
            "sent": row.sent,
            "completed": row.completed,
            "partial": row.partial,
            "rate": row.rate,
            "reports": row.reports,
            "below_threshold": row.participant.id in flagged,
            "last_completed_at": row.last_completed_at,
        }
        for row in rows
    ]


@blp.route("/studies/<slug>/exports", methods=["POST"])
@blp.arguments(ExportInputSchema, required=False)
@blp.response(
    200,
    {"type": "string", "format": "binary"},
    content_type="application/zip",
    description="The export package (a Frictionless data package), zipped",
)
@blp.error(403, "Viewers cannot export")
@blp.error(404, NO_STUDY)
def export(options: dict, slug: str):
    """Download the export package

    The study as `eas export` writes it, zipped (`<slug>/datapackage.json`, tables, README).
    Coordinators and owners only; recorded in the audit log.
    """
    study, _ = study_for(slug, StudyRole.coordinator)
    now = now_utc()
    archive_file, result = zipped_export(
        study, now, fmt=options["format"], wide=options["wide"], since=options.get("since")
    )
    user = current_user()
    record_export(
        study, result, fmt=options["format"], actor=user.email, user_id=user.id, via="api"
    )
    return send_file(
        archive_file,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{study.slug}-{now:%Y%m%dT%H%MZ}.zip",
    )
