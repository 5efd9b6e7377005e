"""Twilio's webhooks: inbound texts and status callbacks. Both refuse unsigned requests."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from eas.core.clock import now_utc
from eas.core.db import begin_write
from eas.sms.inbound import receive
from eas.sms.signature import is_from_twilio
from eas.sms.status import apply_status

bp = Blueprint("sms", __name__, url_prefix="/sms")
log = logging.getLogger("eas.sms")

#: Twilio's webhooks are a few kilobytes: a 1,600-character text percent-encoded as 4-byte
#: characters is 19 KB, plus Twilio's own fields.
MAX_WEBHOOK_BYTES = 64 * 1024
#: The longest text Twilio delivers (ten segments).
MAX_TEXT_CHARACTERS = 1600
#: Fields every real webhook carries (Body may be empty: a picture with no text).
_REQUIRED = {"inbound": ("MessageSid", "From", "Body"), "status": ("MessageSid", "MessageStatus")}


@bp.before_request
def require_twilio_signature() -> None:
    # Refused before the body is read: the signature check parses the whole form.
    if "X-Twilio-Signature" not in request.headers:
        log.warning("refused %s without a Twilio signature", request.path)
        abort(403)
    request.max_content_length = MAX_WEBHOOK_BYTES
    if not is_from_twilio():
        log.warning("refused %s without a valid Twilio signature", request.path)
        abort(403)
    required = _REQUIRED.get(request.endpoint.rpartition(".")[2], ())
    if missing := [name for name in required if name not in request.form]:
        log.warning("refused %s without %s", request.path, ", ".join(missing))
        raise BadRequest(f"a Twilio webhook carries {', '.join(missing)}")
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
    if len(request.form["Body"]) > MAX_TEXT_CHARACTERS:
        raise RequestEntityTooLarge(f"a text is at most {MAX_TEXT_CHARACTERS} characters")
    # Replies go back in the TwiML answer: Twilio sends them once this request has committed.
    return twiml(receive(request.form, now_utc()).replies)


@bp.post("/status")
def status():
    apply_status(request.form, now_utc(), key=request.args.get("key"))
    return "", 204
