from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template

from eas.core.db import db
from eas.participants.models import Participant, ParticipantStatus
from eas.protocols.sms_format import answer_hint
from eas.studies.models import Study

bp = Blueprint("web", __name__)


@bp.get("/")
def index():
    studies = db.session.scalars(sa.select(Study).order_by(Study.title)).all()
    return render_template("index.html", studies=studies)


@bp.get("/studies/<slug>")
def study(slug: str):
    study = db.session.scalar(sa.select(Study).where(Study.slug == slug))
    if study is None or study.current_version is None:
        abort(404)
    counts = dict(
        db.session.execute(
            sa.select(Participant.status, sa.func.count())
            .where(Participant.study_id == study.id)
            .group_by(Participant.status)
        ).all()
    )
    return render_template(
        "study.html",
        study=study,
        version=study.current_version,
        definition=study.current_version.definition,
        status_counts=[(status.value, counts.get(status, 0)) for status in ParticipantStatus],
        answer_hint=answer_hint,
    )
