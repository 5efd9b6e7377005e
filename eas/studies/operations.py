"""Creating studies and publishing protocol versions. Operations flush; callers commit."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from eas.audit.operations import record
from eas.core.clock import now_utc
from eas.core.db import core_execute, db
from eas.protocols.validation import LoadedProtocol
from eas.scheduling.operations import replan_participants
from eas.studies.models import ProtocolVersion, Study


@dataclass(frozen=True)
class PublishResult:
    study: Study
    version: ProtocolVersion
    #: False when the text was identical to the current version (nothing was written).
    created: bool
    study_created: bool
    prompts_planned: int = 0
    prompts_cancelled: int = 0


_VERSIONS = ProtocolVersion.__table__


#: Whether the study's current protocol seals what participants write; read in SQL (JSON path)
#: instead of loading and decoding every version: every web answer asks.
def seals_free_text_column(study_id: sa.ColumnElement) -> sa.ScalarSelect:
    """Whether the current protocol of study `study_id` (a column, to read it with a study's
    other rows, or a parameter) seals what participants write."""
    return (
        sa.select(_VERSIONS.c.definition[("study", "privacy", "encrypt_free_text")].as_boolean())
        .where(_VERSIONS.c.study_id == study_id)
        .order_by(_VERSIONS.c.number.desc())
        .limit(1)
        .scalar_subquery()
    )


_SEALS_FREE_TEXT = sa.select(seals_free_text_column(sa.bindparam("study_id")))


def seals_free_text(study_id: int) -> bool:
    """Whether the study's current protocol asks for free text to be stored encrypted."""
    return bool(core_execute(_SEALS_FREE_TEXT, {"study_id": study_id}).scalar())


def get_study(slug: str) -> Study | None:
    return db.session.scalar(sa.select(Study).where(Study.slug == slug))


def publish_protocol(protocol: LoadedProtocol, *, actor: str = "cli") -> PublishResult:
    """Create the study of `protocol`, or add a version to it if its text changed."""
    now = now_utc()
    settings = protocol.definition["study"]
    study = get_study(protocol.study_id)
    study_created = study is None
    if study is None:
        study = Study(
            slug=protocol.study_id,
            title=settings["title"],
            timezone=settings["timezone"],
            created_at=now,
        )
        db.session.add(study)
        db.session.flush()
    current = study.current_version
    if current is not None and current.source_hash == protocol.source_hash:
        return PublishResult(study, current, created=False, study_created=False)

    version = ProtocolVersion(
        study=study,
        number=(current.number + 1) if current else 1,
        source_name=protocol.source_name,
        source_text=protocol.source_text,
        source_hash=protocol.source_hash,
        definition=protocol.definition,
        created_at=now,
    )
    study.title = settings["title"]
    study.timezone = settings["timezone"]
    db.session.add(version)
    db.session.flush()
    # Future prompts follow the new version; what was sent or missed stays as it was.
    replanned = replan_participants(study.participants, now)
    planned, cancelled = replanned.created, replanned.cancelled
    record(
        "study.created" if study_created else "study.version_published",
        actor=actor,
        study_id=study.id,
        version=version.number,
        source=protocol.source_name,
        source_hash=protocol.source_hash,
        prompts_planned=planned,
        prompts_cancelled=cancelled,
    )
    return PublishResult(study, version, True, study_created, planned, cancelled)
