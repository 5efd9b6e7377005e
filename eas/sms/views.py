"""Twilio's webhooks: inbound texts and status callbacks. Both refuse unsigned requests."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request
from twilio.twiml.messaging_response import MessagingResponse

from eas.core.clock import now_utc
from eas.core.db import begin_write
from eas.sms.inbound import receive
from eas.sms.signature import is_from_twilio
from eas.sms.status import apply_status

bp = Blueprint("sms", __name__, url_prefix="/sms")
log = logging.getLogger("eas.sms")


@bp.before_request
def require_twilio_signature() -> None:
    if not is_from_twilio():
        log.warning("refused %s without a valid Twilio signature", request.path)
        abort(403)
    # Each webhook reads, then writes: on SQLite it must hold the write lock from the start, or
    # a text arriving while another worker commits fails ("database is locked") and is lost.
    begin_write()


def twiml(replies: list[str]) -> Response:
    document = MessagingResponse()
    for text in replies:
        document.message(text)
    return Response(str(document), mimetype="application/xml")


@bp.post("/inbound")
def inbound():
    # Replies go back in the TwiML answer: Twilio sends them once this request has committed.
    return twiml(receive(request.form, now_utc()).replies)


@bp.post("/status")
def status():
    apply_status(request.form, now_utc())
    return "", 204
