"""Every inbound text, from Twilio's webhook or the phone simulator, goes through `receive`.

The raw message is stored first, whoever sent it and whatever it says; what it means is worked
out afterwards inside a savepoint, so a failure there never loses the message. A webhook Twilio
delivers twice (same MessageSid) is handled once.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eas.core.crypto import get_cipher
from eas.core.db import db
from eas.delivery.models import Direction, Message, MessageStatus
from eas.participants.lifecycle import opt_in, opt_out
from eas.participants.models import Participant, ParticipantStatus
from eas.safety.operations import raise_triggered
from eas.sms import conversation, texts
from eas.sms.keywords import Command, command_of
from eas.studies.models import Study

log = logging.getLogger("eas.sms")

#: Webhook fields never kept in the stored payload: the numbers (stored encrypted) and
#: Twilio's guesses at the sender's location.
_PRIVATE_FIELD_PREFIXES = ("From", "To")

# Built once: every inbound text runs them (a statement costs more to build than to run).
_BY_SID = sa.select(Message).where(Message.provider_sid == sa.bindparam("sid"))


@functools.cache
def _senders() -> sa.Select:
    # With their study and its versions: every text needs the current protocol. (Built on
    # first use: loader options need every model mapped.)
    return (
        sa.select(Participant)
        .where(Participant.phone_hash == sa.bindparam("phone_hash"))
        .order_by(Participant.enrolled_at.desc(), Participant.id.desc())
        .options(joinedload(Participant.study).joinedload(Study.versions))
    )


_LOCK_PARTICIPANT = (
    sa.select(Participant.id)
    .where(Participant.id == sa.bindparam("participant_id"))
    .with_for_update()
)


@dataclass
class Inbound:
    message: Message
    #: Texts to send back to the participant, in order.
    replies: list[str] = field(default_factory=list)


def receive(params: Mapping[str, str], now: datetime) -> Inbound:
    sid = params.get("MessageSid") or params.get("SmsSid")
    existing = db.session.scalar(_BY_SID, {"sid": sid}) if sid else None
    if existing is not None:
        # Twilio retried (our first answer was lost): send the same replies again, do nothing.
        replies = db.session.scalars(
            sa.select(Message.body)
            .where(Message.idempotency_key.like(f"reply-{existing.id}-%"))
            .order_by(Message.id)
        ).all()
        return Inbound(existing, replies=list(replies))
    sender = params.get("From", "")
    # Kept as sent, except NUL, which PostgreSQL cannot store in text.
    body = params.get("Body", "").replace("\x00", "\ufffd")
    cipher = get_cipher()
    phone_hash = cipher.lookup_hash(sender)
    found = _sender_or_none(phone_hash, now)
    participant = found if isinstance(found, Participant) else None
    message = Message(
        direction=Direction.inbound,
        phone_encrypted=cipher.encrypt(sender),
        phone_hash=phone_hash,
        body=cipher.seal(body) if _encrypts_free_text(found) else body,
        provider_sid=sid,
        purpose="inbound",
        status=MessageStatus.received,
        provider_payload={
            key: value
            for key, value in params.items()
            if not key.startswith(_PRIVATE_FIELD_PREFIXES) and key != "Body"
        },
        created_at=now,
        updated_at=now,
    )
    db.session.add(message)
    db.session.flush()
    inbound = Inbound(message)
    try:
        with db.session.begin_nested():
            inbound.replies = _understand(participant, message, body, params, now)
    except Exception:
        log.exception("inbound message=%s could not be handled; it is stored", message.id)
        inbound.replies = []
    for number, text in enumerate(inbound.replies, 1):
        db.session.add(
            Message(
                direction=Direction.outbound,
                participant_id=message.participant_id,
                prompt_id=message.prompt_id,
                phone_encrypted=message.phone_encrypted,
                phone_hash=message.phone_hash,
                body=text,
                idempotency_key=f"reply-{message.id}-{number}",
                purpose="reply",
                status=MessageStatus.sent,
                created_at=now,
                updated_at=now,
            )
        )
    # Written with the caller's commit (or its next query): one flush fewer per text.
    return inbound


def sender_of(phone_hash: str, now: datetime) -> Participant | None:
    """The participant a number belongs to. A number enrolled in several studies goes to the
    one with a conversation open, else the one active, else the latest enrolment."""
    candidates = db.session.scalars(_senders(), {"phone_hash": phone_hash}).unique().all()
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    for participant in candidates:
        if conversation.open_conversation(participant.id, now)[2]:
            return participant
    active = [p for p in candidates if p.status is ParticipantStatus.active]
    return (active or candidates)[0]


class _Unknown:
    """The sender could not be looked up (the lookup failed, not "nobody")."""


_UNKNOWN = _Unknown()


def _sender_or_none(phone_hash: str, now: datetime) -> Participant | _Unknown | None:
    """The sender, looked up before the message is stored (its text may have to be sealed);
    if that fails, the message is still stored rather than lost."""
    try:
        return sender_of(phone_hash, now)
    except Exception:
        log.exception("cannot tell who sent an inbound text; storing it sealed")
        return _UNKNOWN


def _encrypts_free_text(sender: Participant | _Unknown | None) -> bool:
    if sender is None:
        return False  # a number no study knows: nobody's study asks for sealing
    if sender is _UNKNOWN:
        return True  # it may be a participant's, in a study that seals what they write
    return sender.study.current_version.definition["study"]["privacy"]["encrypt_free_text"]


def _understand(
    participant: Participant | None,
    message: Message,
    body: str,
    params: Mapping[str, str],
    now: datetime,
) -> list[str]:
    if participant is None:
        log.info("inbound message=%s from a number no study knows", message.id)
        return []
    # One text at a time per participant: two replies arriving together must not both answer
    # the same item. (SQLite has one writer at a time already, and no row locks to take.)
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(_LOCK_PARTICIPANT, {"participant_id": participant.id})
    message.participant_id = participant.id
    opted_out = participant.status is ParticipantStatus.opted_out
    command = command_of(body, opted_out=opted_out, opt_out_type=params.get("OptOutType"))
    if command is Command.opt_out:
        # The number is the participant's in every study it is enrolled in, and Twilio blocks
        # it for all of them: they all stop. Twilio confirms the opt-out itself.
        for enrolment in _enrolments(message.phone_hash):
            opt_out(enrolment, now, source="sms STOP")
        return []
    # The conversation as it stands before this text: for the alerts and the reply alike.
    # (Its queries do not read the message: its new participant is written with the reply.)
    with db.session.no_autoflush:
        current = conversation.open_conversation(participant.id, now)
    keyword_replies = _keyword_alerts(participant, current, body, now)
    definition = participant.study.current_version.definition
    if command is Command.opt_in:
        if not opted_out:
            return []
        if definition["study"]["sms"].get("resubscribe"):
            for enrolment in _enrolments(message.phone_hash):
                if enrolment.status is ParticipantStatus.opted_out:
                    opt_in(enrolment, now, source="sms START")
            return [texts.OPTED_IN]
        return [texts.STILL_OPTED_OUT + texts.contact_line(definition)]
    if command is Command.help:
        return [texts.help_text(definition), *keyword_replies]
    if opted_out:
        return []  # they asked to be left alone; the message is kept, nothing is sent
    if participant.status in (ParticipantStatus.withdrawn, ParticipantStatus.completed):
        return [texts.ENDED + texts.contact_line(definition), *keyword_replies]
    return [*conversation.reply(participant, message, body, now, current), *keyword_replies]


def _enrolments(phone_hash: str) -> list[Participant]:
    return db.session.scalars(
        sa.select(Participant).where(Participant.phone_hash == phone_hash).order_by(Participant.id)
    ).all()


def _keyword_alerts(participant: Participant, current, body: str, now: datetime) -> list[str]:
    """Crisis words in any text, in a check-in or not, from anyone enrolled (opted out too:
    a crisis must reach a human). Returns the protocol's replies to send."""
    prompt, _, is_open = current
    in_check_in = prompt if prompt is not None and is_open else None
    return raise_triggered(
        participant,
        participant.study.current_version.definition,
        in_check_in.id if in_check_in else None,
        in_check_in.questionnaire_id if in_check_in else None,
        {},
        {},
        [body],
        channel="sms",
        now=now,
    )
