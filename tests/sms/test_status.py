"""Status callbacks: idempotent, never backwards, delivery errors recorded per prompt."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from eas.delivery.models import Message, MessageStatus
from eas.scheduling.models import PlannedPrompt, PromptStatus
from tests.sms.helpers import sign


def _callback(client, sid: str, status: str, key: str | None = None, **extra) -> int:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "0" * 32, **extra}
    path = f"/sms/status?key={key}" if key else "/sms/status"
    signature = sign(f"http://localhost{path}", params)
    return client.post(path, data=params, headers={"X-Twilio-Signature": signature}).status_code


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


def test_a_callback_before_the_sends_answer_finds_its_message_by_key(
    db, client, clock, twilio_config, participant, dispatcher
):
    """Twilio may report on a message before the send's answer reaches the dispatcher: the
    callback's URL names the message by our key, so it is applied at once, with the sid, and
    the send's answer arriving afterwards moves nothing backwards."""
    reported = {}

    def report_first(message):  # Twilio's callback, before its answer to the send
        key = message.idempotency_key
        params = {"MessageSid": "SM" + "c" * 32, "MessageStatus": "delivered"}
        reported[key] = _callback(client, params["MessageSid"], "delivered", key=key)

    dispatcher.transport.fail = report_first
    first = db.session.scalar(
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.participant_id == participant.id)
        .order_by(PlannedPrompt.due_at)
        .limit(1)
    )
    clock.set(first.due_at + timedelta(seconds=1))
    dispatcher.tick()
    key = f"prompt-{first.id}-attempt-1"
    assert reported[key] == 204
    db.session.expire_all()
    message = db.session.scalar(sa.select(Message).where(Message.idempotency_key == key))
    assert message.status is MessageStatus.delivered  # not moved back to `sent`
    assert message.provider_sid == "SM" + "c" * 32  # the callback's: Twilio has it
    prompt = db.session.get(PlannedPrompt, message.prompt_id)
    assert prompt.status is PromptStatus.sent and prompt.delivered_at is not None


def test_a_callback_for_no_message_of_ours_is_ignored_and_kept_nowhere(
    db, client, twilio_config, participant
):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Message))
    assert _callback(client, "SM" + "e" * 32, "delivered") == 204
    assert _callback(client, "SM" + "e" * 32, "delivered", key="prompt-999-attempt-1") == 204
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == before
