"""Twilio's status callbacks: idempotent, and never moving a message backwards.

Callbacks arrive out of order and more than once (sent after delivered, a retried POST). Each
status has a rank; only a higher rank changes the message. Delivery outcomes of a prompt's
message are copied to the prompt: when it reached the phone, or the carrier's error code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa

from eas.core.db import core_execute, db
from eas.delivery.models import Direction, Message, MessageStatus
from eas.scheduling.models import PlannedPrompt
from eas.sms.models import ParkedStatusReport

log = logging.getLogger("eas.sms")
#: How long a callback for an unknown sid waits for its message.
_PARKED_FOR = timedelta(days=1)

_RANK = {
    MessageStatus.queued: 0,
    MessageStatus.accepted: 0,
    MessageStatus.scheduled: 0,
    MessageStatus.sending: 1,
    MessageStatus.sent: 2,
    MessageStatus.delivered: 3,
    MessageStatus.undelivered: 3,
    MessageStatus.failed: 3,
}


def apply_status(params: Mapping[str, str], now: datetime) -> bool:
    """Record one callback; False when it changed nothing (stale, repeated, or for a message
    not on record yet: that one is parked until it is)."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status_name = params.get("MessageStatus") or params.get("SmsStatus")
    try:
        status = MessageStatus(status_name)
    except ValueError:
        log.info("status callback with status %r ignored", status_name)
        return False
    if status not in _RANK:
        return False
    message = db.session.scalar(
        sa.select(Message).where(
            Message.provider_sid == sid, Message.direction == Direction.outbound
        )
    )
    if message is None:
        if sid:
            log.info("status callback for a message not on record yet sid=%s: parked", sid)
            kept = {key: params[key] for key in ("MessageStatus", "ErrorCode") if params.get(key)}
            db.session.add(ParkedStatusReport(provider_sid=sid, params=kept, received_at=now))
            db.session.flush()
        return False
    if _RANK[status] <= _RANK.get(message.status, 0):
        return False  # repeated, or older than what is known: never backwards
    message.status = status
    message.updated_at = now
    code = params.get("ErrorCode")
    if code and code.isdigit():
        message.error_code = int(code)
    if message.prompt_id is not None and message.purpose == "prompt":
        prompt = db.session.get(PlannedPrompt, message.prompt_id)
        if status is MessageStatus.delivered:
            prompt.delivered_at = now
        elif status in (MessageStatus.undelivered, MessageStatus.failed):
            prompt.delivery_error_code = message.error_code
    db.session.flush()
    return True


_PARKED_TABLE, _MESSAGES = ParkedStatusReport.__table__, Message.__table__
#: Built once, and Core: every dispatcher tick runs it, and finds nothing almost always.
_PARKED = (
    sa.select(
        _PARKED_TABLE.c.id,
        _PARKED_TABLE.c.provider_sid,
        _PARKED_TABLE.c.params,
        _PARKED_TABLE.c.received_at,
        _MESSAGES.c.id.label("message_id"),
    )
    .select_from(
        _PARKED_TABLE.outerjoin(_MESSAGES, _MESSAGES.c.provider_sid == _PARKED_TABLE.c.provider_sid)
    )
    .order_by(_PARKED_TABLE.c.id)
)
_FORGET = _PARKED_TABLE.delete().where(_PARKED_TABLE.c.id.in_(sa.bindparam("ids", expanding=True)))


def apply_parked(now: datetime) -> int:
    """Apply the parked callbacks whose message is on record now, in the order they came,
    and forget those a day old (another application's). With none parked, one read."""
    parked = core_execute(_PARKED).all()
    applied, done = 0, []
    for report in parked:
        if report.message_id is not None:
            apply_status({"MessageSid": report.provider_sid, **report.params}, report.received_at)
            applied += 1
        elif report.received_at >= now - _PARKED_FOR:
            continue
        done.append(report.id)
    if done:
        core_execute(_FORGET, {"ids": done})
    return applied
