"""Status callbacks: idempotent, never backwards, delivery errors recorded per prompt."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eas.delivery.models import Message, MessageStatus
from eas.sms.models import ParkedStatusReport
from tests.sms.conftest import sign


def _callback(client, sid: str, status: str, **extra) -> int:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, **extra}
    signature = sign("http://localhost/sms/status", params)
    return client.post(
        "/sms/status", data=params, headers={"X-Twilio-Signature": signature}
    ).status_code


def _prompt_message(db, prompt) -> Message:
    return db.session.scalar(
        sa.select(Message).where(Message.prompt_id == prompt.id, Message.purpose == "prompt")
    )


def test_delivered_is_recorded_once_and_never_undone(db, client, twilio_config, send_next):
    prompt = send_next()
    sid = _prompt_message(db, prompt).provider_sid
    assert _callback(client, sid, "delivered") == 204
    assert _callback(client, sid, "sent") == 204  # late, out of order
    assert _callback(client, sid, "delivered") == 204  # repeated
    db.session.expire_all()
    message = _prompt_message(db, prompt)
    assert message.status is MessageStatus.delivered
    assert prompt.delivered_at is not None
    first_delivery = prompt.delivered_at
    db.session.expire_all()
    assert prompt.delivered_at == first_delivery


def test_a_carrier_error_is_recorded_on_the_prompt(db, client, twilio_config, send_next):
    prompt = send_next()
    sid = _prompt_message(db, prompt).provider_sid
    assert _callback(client, sid, "undelivered", ErrorCode="30006") == 204
    db.session.expire_all()
    assert _prompt_message(db, prompt).error_code == 30006
    assert prompt.delivery_error_code == 30006
    assert prompt.delivered_at is None


def test_unknown_messages_and_statuses_are_accepted_and_ignored(db, client, twilio_config):
    assert _callback(client, "SM" + "f" * 32, "delivered") == 204
    assert _callback(client, "SM" + "f" * 32, "read") == 204


def test_a_callback_before_its_sid_is_on_record_is_applied_by_the_next_tick(
    db, client, clock, twilio_config, send_next, dispatcher
):
    prompt = send_next()
    message = _prompt_message(db, prompt)
    sid = message.provider_sid
    # As if Twilio reported before the dispatcher recorded the batch's sids.
    message.provider_sid = None
    db.session.commit()
    assert _callback(client, sid, "undelivered", ErrorCode="30003") == 204
    assert db.session.scalar(sa.select(ParkedStatusReport.provider_sid)) == sid
    message.provider_sid = sid
    db.session.commit()
    assert dispatcher.tick().parked_applied == 1
    db.session.expire_all()
    assert _prompt_message(db, prompt).status is MessageStatus.undelivered
    assert prompt.delivery_error_code == 30003
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ParkedStatusReport)) == 0


def test_a_callback_for_a_sid_never_seen_is_forgotten_after_a_day(
    db, client, clock, twilio_config, dispatcher
):
    assert _callback(client, "SM" + "e" * 32, "delivered") == 204
    dispatcher.tick()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ParkedStatusReport)) == 1
    clock.advance(timedelta(days=1, minutes=1))
    dispatcher.tick()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ParkedStatusReport)) == 0
