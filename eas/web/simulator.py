"""The phone simulator: each (pseudonymous) participant's phone, what it received, and a reply
box. A reply goes through exactly the inbound code a Twilio webhook reaches (`sms.inbound`), and
the texts eas answers with land on the phone as the provider would deliver them."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for

from eas.core.clock import now_utc
from eas.core.db import begin_write, core_execute, db
from eas.delivery.models import Direction, Message, SimulatedMessage
from eas.participants.models import Participant
from eas.sms.inbound import receive

bp = Blueprint("simulator", __name__, url_prefix="/simulator")


@bp.before_request
def writers_take_the_write_lock_first() -> None:
    # Saving reads, then writes: on SQLite the transaction must start as the writer.
    if request.method == "POST":
        begin_write()


_THREAD_LENGTH = 60


@bp.get("/")
def phones():
    latest = (
        sa.select(
            SimulatedMessage.participant_id,
            sa.func.max(SimulatedMessage.received_at).label("last_at"),
            sa.func.count().label("received"),
        )
        .group_by(SimulatedMessage.participant_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Participant, latest.c.last_at, latest.c.received)
        .outerjoin(latest, latest.c.participant_id == Participant.id)
        .order_by(latest.c.last_at.desc().nulls_last(), Participant.label)
    ).all()
    return render_template("simulator.html", phones=rows)


def _thread(participant: Participant) -> list[dict]:
    received = db.session.scalars(
        sa.select(SimulatedMessage)
        .where(SimulatedMessage.participant_id == participant.id)
        .order_by(SimulatedMessage.received_at.desc(), SimulatedMessage.id.desc())
        .limit(_THREAD_LENGTH)
    ).all()
    sent = db.session.scalars(
        sa.select(Message)
        .where(Message.participant_id == participant.id, Message.direction == Direction.inbound)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(_THREAD_LENGTH)
    ).all()
    thread = [
        {"at": m.received_at, "order": (m.received_at, 1, m.id), "body": m.body, "mine": False}
        for m in received
    ] + [
        {"at": m.created_at, "order": (m.created_at, 0, m.id), "body": m.body, "mine": True}
        for m in sent
    ]
    return sorted(thread, key=lambda entry: entry["order"])[-_THREAD_LENGTH:]


@bp.get("/<int:participant_id>")
def phone(participant_id: int):
    participant = db.session.get(Participant, participant_id) or abort(404)
    return render_template(
        "simulator_phone.html", participant=participant, thread=_thread(participant)
    )


@bp.post("/<int:participant_id>")
def send(participant_id: int):
    participant = db.session.get(Participant, participant_id) or abort(404)
    body = request.form.get("body", "")
    if body.strip():
        text_from_phone(participant.id, participant.phone, body, now_utc())
    return redirect(url_for("simulator.phone", participant_id=participant.id, _anchor="reply"))


class Landed(NamedTuple):
    """A text that landed on a simulated phone."""

    id: int
    participant_id: int
    body: str


_LAND = SimulatedMessage.__table__.insert().returning(
    SimulatedMessage.__table__.c.id, sort_by_parameter_order=True
)


def text_from_phone(participant_id: int, phone: str, body: str, now: datetime) -> list[Landed]:
    """A text sent from a participant's simulated phone (their number, `phone`), handed to
    `receive` as Twilio's webhook hands one over; the texts eas answers with land on the
    phone. Written with the caller's commit, in a transaction `receive` begins (the caller has
    only read in it); returns what landed (the study simulator reads it at once)."""
    inbound = receive(
        {
            "MessageSid": f"SMsim{secrets.token_hex(16)}",
            "From": phone,
            "To": "eas-simulator",
            "Body": body,
            "NumMedia": "0",
        },
        now,
    )
    if not inbound.replies:
        return []
    rows = [
        {
            "idempotency_key": f"reply-{inbound.message_id}-{number}",
            "provider_sid": f"SM{secrets.token_hex(16)}",
            "participant_id": participant_id,
            "body": text,
            "received_at": now,
        }
        for number, text in enumerate(inbound.replies, 1)
    ]
    ids = core_execute(_LAND, rows).scalars().all()
    return [Landed(id, participant_id, row["body"]) for id, row in zip(ids, rows, strict=True)]
