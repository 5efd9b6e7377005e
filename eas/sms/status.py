"""Twilio's status callbacks: idempotent, and never moving a message backwards.

Callbacks arrive out of order and more than once (sent after delivered, a retried POST). Each
status has a rank; only a higher rank changes the message. Delivery outcomes of a prompt's
message are copied to the prompt: when it reached the phone, or the carrier's error code.

A callback names its message by our idempotency key (`/sms/status?key=...`, in the URL the
dispatcher gave Twilio), so it finds the message even before the send's answer put the sid on
record, and then records the sid itself: the send went out. Without a key (messages sent
before keys were given), by the sid.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from eas.core.db import db
from eas.delivery.models import Direction, Message, MessageStatus
from eas.scheduling.models import PlannedPrompt

log = logging.getLogger("eas.sms")

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


def apply_status(params: Mapping[str, str], now: datetime, key: str | None = None) -> bool:
    """Record one callback for the message with idempotency key `key` (or, without one, with
    its sid); False when it changed nothing (stale, repeated, or another application's)."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status_name = params.get("MessageStatus") or params.get("SmsStatus")
    try:
        status = MessageStatus(status_name)
    except ValueError:
        log.info("status callback with status %r ignored", status_name)
        return False
    if status not in _RANK:
        return False
    found = Message.idempotency_key == key if key else Message.provider_sid == sid
    message = db.session.scalar(
        sa.select(Message).where(found, Message.direction == Direction.outbound)
    )
    if message is None:
        log.info("status callback for no message of ours (key=%s sid=%s) ignored", key, sid)
        return False
    if message.provider_sid is None and sid:
        # Before the send's answer: Twilio has it, whatever the dispatcher hears.
        message.provider_sid = sid
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
