"""The phone simulator: each (pseudonymous) participant's phone, what it received, and a reply
box. A reply goes through exactly the inbound code a Twilio webhook reaches (`sms.inbound`), and
the texts eas answers with land on the phone as the provider would deliver them.

Phones are the study team's, as the dashboard's pages are: a signed-in user sees those of the
studies they are on (any other is not found), and texts as a participant only with a role that
may change the study, through a form carrying the session's token."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for

from eas.core.clock import now_utc
from eas.core.db import core_execute, db
from eas.delivery.models import Direction, Message, SimulatedMessage
from eas.participants.models import Participant
from eas.sms.inbound import receive
from eas.users.models import StudyMembership, StudyRole
from eas.users.operations import role_in
from eas.web.auth import MAX_ID, current_user, form_post, login_required

bp = Blueprint("simulator", __name__, url_prefix="/simulator")

_THREAD_LENGTH = 60
#: Texting as a participant changes their study (answers, opt-outs): not for viewers.
_MAY_TEXT = StudyRole.coordinator


def _phone_of(participant_id: int, at_least: StudyRole) -> tuple[Participant, StudyRole]:
    """The participant if the signed-in user is on their study with at least that role; 404
    otherwise, so that the phones of other studies do not leak their existence."""
    participant = db.session.get(Participant, participant_id)
    user = current_user()
    role = None
    if participant is not None and user is not None:
        role = role_in(user, participant.study_id)
    if participant is None or role is None or role.rank < at_least.rank:
        abort(404)
    return participant, role


@bp.get("/")
@login_required
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
        .join(StudyMembership, StudyMembership.study_id == Participant.study_id)
        .where(StudyMembership.user_id == current_user().id)
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


@bp.get(f"/<int(max={MAX_ID}):participant_id>")
@login_required
def phone(participant_id: int):
    participant, role = _phone_of(participant_id, StudyRole.viewer)
    return render_template(
        "simulator_phone.html",
        participant=participant,
        thread=_thread(participant),
        may_text=role.rank >= _MAY_TEXT.rank,
    )


@bp.post(f"/<int(max={MAX_ID}):participant_id>")
@form_post  # saving reads, then writes: on SQLite the transaction starts as the writer
@login_required
def send(participant_id: int):
    participant, _ = _phone_of(participant_id, _MAY_TEXT)
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
