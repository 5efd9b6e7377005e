"""Protocol versions: read them, and publish a new one (future prompts are re-planned)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_smorest import abort

from eas.api.auth import current_user, study_for
from eas.api.base import NO_STUDY, api_blueprint, field_errors, page_of
from eas.api.schemas import PublishedSchema, PublishSchema, VersionDetailSchema, VersionSchema
from eas.core.db import db
from eas.protocols.validation import ProtocolError, ProtocolInvalid, validate_protocol_text
from eas.protocols.yaml_source import load_yaml
from eas.scheduling.planner import PlanningError
from eas.studies.models import ProtocolVersion
from eas.studies.operations import publish_protocol
from eas.users.models import StudyRole

blp = api_blueprint("Protocol versions", __name__, "A study's protocol versions.")


def _error(error: ProtocolError) -> dict:
    return {
        "line": error.line,
        "column": error.column,
        "field": error.path,
        "message": error.message,
    }


def _invalid(errors: list[dict]) -> None:
    field_errors(
        422,
        f"the protocol has {len(errors)} error(s); nothing was published",
        {"json": {"protocol": errors}},
    )


@blp.route("/studies/<slug>/versions")
@blp.response(200, VersionSchema(many=True))
@blp.error(404, NO_STUDY)
@blp.paginate()
def list_versions(slug: str, pagination_parameters):
    """A study's protocol versions, the first first"""
    study, _ = study_for(slug)
    return page_of(
        sa.select(ProtocolVersion)
        .where(ProtocolVersion.study_id == study.id)
        .order_by(ProtocolVersion.number),
        pagination_parameters,
    )


@blp.route("/studies/<slug>/versions/<int(min=1, max=1000000):number>")
@blp.response(200, VersionDetailSchema)
@blp.error(404, "No such study or version, or you are not on the study")
def get_version(slug: str, number: int):
    """One protocol version, with its text and its validated definition"""
    study, _ = study_for(slug)
    version = db.session.scalar(
        sa.select(ProtocolVersion)
        .where(ProtocolVersion.study_id == study.id, ProtocolVersion.number == number)
        .options(sa.orm.undefer(ProtocolVersion.source_text))
    )
    if version is None:
        abort(404, message=f"study '{slug}' has no protocol version {number}")
    return version


@blp.route("/studies/<slug>/versions", methods=["POST"])
@blp.arguments(PublishSchema)
@blp.response(201, PublishedSchema, description="Published as the study's next version")
@blp.alt_response(200, schema=PublishedSchema, description="The text is the current version's")
@blp.error(403, "Only owners publish")
@blp.error(404, NO_STUDY)
def publish(body: dict, slug: str):
    """Publish a protocol version

    The protocol YAML is validated first: every error is returned with its line, column and
    field, and nothing is published. The protocol must be this study's (`study.id`). Future
    prompts of every participant follow the new version; what was sent stays as it was.
    Owners only, as on the study's protocol page; recorded in the audit log.
    """
    study, _ = study_for(slug, StudyRole.owner)
    try:
        protocol = validate_protocol_text(body["protocol"], body["source_name"])
    except ProtocolInvalid as exc:
        _invalid([_error(error) for error in exc.errors])
    if protocol.study_id != study.slug:
        _, source_map, _ = load_yaml(protocol.source_text)
        where = source_map.locate(("study", "id"))
        _invalid(
            [
                {
                    "line": where.line,
                    "column": where.column,
                    "field": "study.id",
                    "message": f"is '{protocol.study_id}', but this is study '{study.slug}': "
                    "a protocol publishes versions of its own study only",
                }
            ]
        )
    try:
        result = publish_protocol(protocol, actor=current_user().email)
    except PlanningError as exc:
        abort(422, message=f"not published: {exc}")
    version = result.version
    return {
        "number": version.number,
        "source_name": version.source_name,
        "source_hash": version.source_hash,
        "created_at": version.created_at,
        "created": result.created,
        "prompts_planned": result.prompts_planned,
        "prompts_cancelled": result.prompts_cancelled,
    }, (201 if result.created else 200)
