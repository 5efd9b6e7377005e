"""The phone simulator's screen: what each (pseudonymous) participant's phone has received."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template

from eas.core.db import db
from eas.delivery.models import SimulatedMessage
from eas.participants.models import Participant

bp = Blueprint("simulator", __name__)


@bp.get("/simulator")
def phones():
    rows = db.session.execute(
        sa.select(SimulatedMessage, Participant.label, Participant.timezone)
        .join(Participant, Participant.id == SimulatedMessage.participant_id)
        .order_by(SimulatedMessage.received_at.desc(), SimulatedMessage.id.desc())
        .limit(500)
    ).all()
    phones: dict[str, dict] = {}
    for message, label, zone in rows:
        phone = phones.setdefault(label, {"label": label, "timezone": zone, "messages": []})
        phone["messages"].append(message)
    return render_template(
        "simulator.html", phones=sorted(phones.values(), key=lambda p: p["label"])
    )
