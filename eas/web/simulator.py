"""The phone simulator: each (pseudonymous) participant's phone, what it received, and a reply
box. A reply goes through exactly the inbound code a Twilio webhook reaches (`sms.inbound`, by
way of `sms.phone`), and the texts eas answers with land on the phone as the provider would
deliver them.

Phones are the study team's, as the dashboard's pages are: a signed-in user sees those of the
studies they are on (any other is not found), and texts as a participant only with a role that
may change the study, through a form carrying the session's token."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from eas.core.clock import now_utc
from eas.core.db import db
from eas.delivery.models import Direction, Message, SimulatedMessage
from eas.participants.models import Participant
from eas.sms.phone import text_from_phone
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


def _thread(participant: Participant) -> tuple[list[dict], bool]:
    """The phone's latest texts, both ways, oldest first; and whether older ones are left out
    (one more of each way is read to know)."""
    received = db.session.scalars(
        sa.select(SimulatedMessage)
        .where(SimulatedMessage.participant_id == participant.id)
        .order_by(SimulatedMessage.received_at.desc(), SimulatedMessage.id.desc())
        .limit(_THREAD_LENGTH + 1)
    ).all()
    sent = db.session.scalars(
        sa.select(Message)
        .where(Message.participant_id == participant.id, Message.direction == Direction.inbound)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(_THREAD_LENGTH + 1)
    ).all()
    thread = [
        {"at": m.received_at, "order": (m.received_at, 1, m.id), "body": m.body, "mine": False}
        for m in received
    ] + [
        {"at": m.created_at, "order": (m.created_at, 0, m.id), "body": m.body, "mine": True}
        for m in sent
    ]
    return sorted(thread, key=lambda entry: entry["order"])[-_THREAD_LENGTH:], (
        len(thread) > _THREAD_LENGTH
    )


@bp.get(f"/<int(max={MAX_ID}):participant_id>")
@login_required
def phone(participant_id: int):
    participant, role = _phone_of(participant_id, StudyRole.viewer)
    thread, older = _thread(participant)
    return render_template(
        "simulator_phone.html",
        participant=participant,
        thread=thread,
        older=older,
        shown=_THREAD_LENGTH,
        resubscribe=participant.study.current_version.definition["study"]["sms"].get(
            "resubscribe", False
        ),
        may_text=role.rank >= _MAY_TEXT.rank,
    )


_LINK = re.compile(r"https?://[^\s<>\"']+")
#: Punctuation that ends a sentence rather than the link before it ("... at https://x.org.").
_TRAILING = ".,;:!?)]}"


@bp.app_template_filter("linked")
def linked(text: str) -> Markup:
    """A text, escaped, with its http(s) links clickable (as a phone shows them)."""
    parts, at = [], 0
    for match in _LINK.finditer(text):
        url = match.group().rstrip(_TRAILING)
        parts.append(escape(text[at : match.start()]))
        parts.append(
            Markup('<a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a>').format(url)
        )
        at = match.start() + len(url)
    parts.append(escape(text[at:]))
    return Markup("").join(parts)


@bp.post(f"/<int(max={MAX_ID}):participant_id>")
@form_post  # saving reads, then writes: on SQLite the transaction starts as the writer
@login_required
def send(participant_id: int):
    participant, _ = _phone_of(participant_id, _MAY_TEXT)
    body = request.form.get("body", "")
    if body.strip():
        text_from_phone(participant.id, participant.phone, body, now_utc())
    return redirect(url_for("simulator.phone", participant_id=participant.id, _anchor="reply"))
