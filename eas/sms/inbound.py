"""Every inbound text, from Twilio's webhook or the phone simulator, goes through `receive`.

Every text is stored, whoever sent it and whatever it says. What it means is worked out in a
savepoint, which stores it with the prompt it answers: if understanding it fails, the savepoint
is rolled back and the text stored on its own, so a failure there never loses it. A webhook
Twilio delivers twice (same MessageSid) is handled once: its second understanding is rolled
back when its MessageSid is found stored, and the first's replies are sent again.

Texts from one number are handled one at a time: the transaction first locks the number's
enrolments (PostgreSQL; SQLite has one writer at a time already). A transaction the database
ends for a deadlock or a serialization conflict is run again as a whole, never degraded to
"stored only".
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from eas.core.crypto import get_cipher
from eas.core.db import begin_write, core_execute, db, is_transient
from eas.delivery.models import Direction, Message, MessageStatus
from eas.participants.lifecycle import opt_in, opt_out
from eas.participants.models import Participant, ParticipantStatus
from eas.safety.operations import Reply, raise_triggered, safety_first
from eas.sms import conversation, texts
from eas.sms.keywords import Command, command_of
from eas.sms.senders import Sender, sender_of

log = logging.getLogger("eas.sms")

#: Webhook fields never kept in the stored payload: the numbers (stored encrypted) and
#: Twilio's guesses at the sender's location.
_PRIVATE_FIELD_PREFIXES = ("From", "To")

# Built once, and Core: every inbound text runs them (a statement costs more to build than to
# run, and an ORM object more to build and flush than its INSERT).
_MESSAGES = Message.__table__
_BY_SID = sa.select(_MESSAGES.c.id).where(_MESSAGES.c.provider_sid == sa.bindparam("sid"))
#: Store a text unless its MessageSid is stored already (a retried webhook: no id returned).
#: In the same statement: no window for a retry arriving meanwhile to be stored twice.
_STORE = {
    name: insert(_MESSAGES)
    .on_conflict_do_nothing(index_elements=[_MESSAGES.c.provider_sid])
    .returning(_MESSAGES.c.id)
    for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}
_INSERT_MANY = _MESSAGES.insert()
#: The number's enrolments, locked before anything is read or written, in id order (two
#: numbers never lock each other's rows). FOR NO KEY UPDATE, not FOR UPDATE: it does not wait
#: for, nor block, the key-share lock every insert referencing a participant takes (a message,
#: a response), so holding it never joins a cycle with the dispatcher or another text.
_LOCK_NUMBER = (
    sa.select(Participant.id)
    .where(Participant.phone_hash == sa.bindparam("phone_hash"))
    .order_by(Participant.id)
    .with_for_update(key_share=True)
)
#: Runs of a transaction the database ended for a deadlock or serialization failure.
_ATTEMPTS = 5


@dataclass
class StoredText:
    """The inbound message: its row's id once stored, and what understanding it adds (the
    prompt it answers, stored with it)."""

    id: int | None
    participant_id: int | None
    phone_encrypted: bytes
    phone_hash: str
    prompt_id: int | None = None


@dataclass
class Inbound:
    #: The stored inbound message's id.
    message_id: int
    #: Texts to send back to the participant, in order.
    replies: list[str] = field(default_factory=list)


def receive(params: Mapping[str, str], now: datetime) -> Inbound:
    """Store and answer one inbound text (Twilio's webhook fields), in the session's
    transaction: if understanding the text fails, it stores the text on its own; if the
    database ends the transaction for a deadlock or a serialization conflict, it runs it
    again, whole. So a caller writes nothing before it: it refuses a session holding unsaved
    objects (what a caller flushed or wrote in Core would be lost)."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("receive begins its transaction: the session holds unsaved changes")
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _receive(params, now, understand=True)
        except sa.exc.DBAPIError as error:
            if not is_transient(error):
                raise
            db.session.rollback()
            begin_write()
            log.warning("inbound text: transaction ran into %s (attempt %s)", error.orig.sqlstate,
                        attempt)  # fmt: skip
            time.sleep(random.uniform(0, 0.02 * attempt))  # apart, not in step again
    # Every run lost: the text is kept, to be read by a person.
    inbound = _receive(params, now, understand=False)
    log.error("inbound message=%s could not be handled; it is stored", inbound.message_id)
    return inbound


class _Duplicate(Exception):
    """The text's MessageSid is stored already: Twilio delivered the webhook again."""


def _receive(params: Mapping[str, str], now: datetime, *, understand: bool) -> Inbound:
    sid = params.get("MessageSid") or params.get("SmsSid")
    sender = params.get("From", "")
    # Kept as sent, except NUL, which PostgreSQL cannot store in text.
    body = params.get("Body", "").replace("\x00", "\ufffd")
    cipher = get_cipher()
    phone_hash = cipher.lookup_hash(sender)
    if understand and db.session.get_bind().dialect.name != "sqlite":
        core_execute(_LOCK_NUMBER, {"phone_hash": phone_hash})
    found = _sender_or_none(phone_hash, now)
    participant = found if isinstance(found, Sender) else None
    message = StoredText(
        id=None,
        participant_id=participant.id if participant else None,
        # The participant's number is encrypted already (the hash says it is this one).
        phone_encrypted=participant.phone_encrypted if participant else cipher.encrypt(sender),
        phone_hash=phone_hash,
    )
    stored = {
        "direction": Direction.inbound,
        "participant_id": message.participant_id,
        "phone_encrypted": message.phone_encrypted,
        "phone_hash": phone_hash,
        "body": cipher.seal(body) if _encrypts_free_text(found) else body,
        "provider_sid": sid,
        "purpose": "inbound",
        "status": MessageStatus.received,
        "provider_payload": {
            key: value
            for key, value in params.items()
            if not key.startswith(_PRIVATE_FIELD_PREFIXES) and key != "Body"
        },
        "created_at": now,
        "updated_at": now,
    }
    if not understand:
        return _stored_alone(stored, sid)
    try:
        with db.session.begin_nested():
            replies = _understand(participant, message, body, params, now)
            # Stored once understood: with the prompt it answers, in one statement.
            message.id = _store({**stored, "prompt_id": message.prompt_id})
            if message.id is None:
                raise _Duplicate
    except _Duplicate:
        return _again(sid)
    except Exception as error:
        if is_transient(error):
            raise  # `receive` runs the whole transaction again
        inbound = _stored_alone(stored, sid)
        log.exception("inbound message=%s could not be handled; it is stored", inbound.message_id)
        return inbound
    if participant is None:
        log.info("inbound message=%s from a number no study knows", message.id)
    if replies:
        core_execute(
            _INSERT_MANY,
            [
                {
                    "direction": Direction.outbound,
                    "participant_id": message.participant_id,
                    "prompt_id": message.prompt_id,
                    "phone_encrypted": message.phone_encrypted,
                    "phone_hash": message.phone_hash,
                    # A question may show an earlier free-text answer (piping): sealed too.
                    "body": cipher.seal(text) if _encrypts_free_text(found) else text,
                    "idempotency_key": f"reply-{message.id}-{number}",
                    "purpose": "reply",
                    "status": MessageStatus.sent,
                    "created_at": now,
                    "updated_at": now,
                }
                for number, text in enumerate(replies, 1)
            ],
        )
    return Inbound(message.id, replies)


def _stored_alone(values: dict, sid: str) -> Inbound:
    """The text stored, and nothing else done (or, if it is stored already, the replies)."""
    message_id = _store(values)
    return Inbound(message_id) if message_id is not None else _again(sid)


def _store(values: dict) -> int | None:
    """Store the text; None if its MessageSid is stored already."""
    return core_execute(_STORE[db.session.get_bind().dialect.name], values).scalar()


def _again(sid: str) -> Inbound:
    """Twilio retried (our first answer was lost): the same replies again, nothing done."""
    first = core_execute(_BY_SID, {"sid": sid}).scalar_one()
    replies = db.session.scalars(
        sa.select(Message.body)
        .where(Message.idempotency_key.like(f"reply-{first}-%"))
        .order_by(Message.id)
    ).all()
    return Inbound(first, replies=list(replies))


class _Unknown:
    """The sender could not be looked up (the lookup failed, not "nobody")."""


_UNKNOWN = _Unknown()


def _sender_or_none(phone_hash: str, now: datetime) -> Sender | _Unknown | None:
    """The sender, looked up before the message is stored (its text may have to be sealed);
    if that fails, the message is still stored rather than lost."""
    try:
        return sender_of(phone_hash, now)
    except Exception as error:
        if is_transient(error):
            raise
        log.exception("cannot tell who sent an inbound text; storing it sealed")
        if isinstance(error, sa.exc.DBAPIError):
            # PostgreSQL has ended the transaction: the text is stored in a new one (its
            # callers wrote nothing before `receive`).
            db.session.rollback()
            begin_write()
        return _UNKNOWN


def _encrypts_free_text(sender: Sender | _Unknown | None) -> bool:
    if sender is None:
        return False  # a number no study knows: nobody's study asks for sealing
    if sender is _UNKNOWN:
        return True  # it may be a participant's, in a study that seals what they write
    return sender.definition["study"]["privacy"]["encrypt_free_text"]


def _understand(
    participant: Sender | None,
    message: StoredText,
    body: str,
    params: Mapping[str, str],
    now: datetime,
) -> list[str]:
    """The texts to send back, in order: a safety reply first, and no thanks after it."""
    replies = safety_first(_replies(participant, message, body, params, now))
    return [reply.text for reply in replies]


def _replies(
    participant: Sender | None,
    message: StoredText,
    body: str,
    params: Mapping[str, str],
    now: datetime,
) -> list[Reply]:
    if participant is None:
        return []
    opted_out = participant.status is ParticipantStatus.opted_out
    command = command_of(body, opted_out=opted_out, opt_out_type=params.get("OptOutType"))
    if command is Command.opt_out:
        # The number is the participant's in every study it is enrolled in, and Twilio blocks
        # it for all of them: they all stop. Twilio confirms the opt-out itself.
        for enrolment in _enrolments(message.phone_hash):
            opt_out(enrolment, now, source="sms STOP")
        return []
    keyword_replies = _keyword_alerts(participant, body, now)
    definition = participant.definition
    if command is Command.opt_in:
        if not opted_out:
            return keyword_replies
        if definition["study"]["sms"].get("resubscribe"):
            for enrolment in _enrolments(message.phone_hash):
                if enrolment.status is ParticipantStatus.opted_out:
                    opt_in(enrolment, now, source="sms START")
            return [*keyword_replies, Reply(texts.OPTED_IN)]
        return [*keyword_replies, Reply(texts.STILL_OPTED_OUT + texts.contact_line(definition))]
    if command is Command.help:  # and, in a check-in, the question it waits for again
        pending = conversation.pending_question(participant, now)
        return [*keyword_replies, Reply(texts.help_text(definition)), *pending]
    if opted_out:
        return []  # they asked to be left alone; the message is kept, nothing is sent
    if participant.status in (ParticipantStatus.withdrawn, ParticipantStatus.completed):
        return [*keyword_replies, Reply(texts.ENDED + texts.contact_line(definition))]
    return [*keyword_replies, *conversation.reply(participant, message, body, now)]


def _enrolments(phone_hash: str) -> list[Participant]:
    return db.session.scalars(
        sa.select(Participant).where(Participant.phone_hash == phone_hash).order_by(Participant.id)
    ).all()


def _keyword_alerts(participant: Sender, body: str, now: datetime) -> list[Reply]:
    """Crisis words in any text, in a check-in or not, from anyone enrolled (opted out too:
    a crisis must reach a human). Returns the protocol's replies to send."""
    current = participant.conversation
    in_check_in = current if current is not None and current.is_open(now) else None
    return raise_triggered(
        participant,
        participant.definition,
        in_check_in.prompt_id if in_check_in else None,
        in_check_in.questionnaire_id if in_check_in else None,
        {},
        {},
        [body],
        channel="sms",
        now=now,
    )
