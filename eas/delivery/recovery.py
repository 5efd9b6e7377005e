"""What to do when it is not known whether a message went out: after a dispatcher crashed with
prompts in `sending`, and after a send that timed out. A message a status callback already
named (its sid is on record) went out; otherwise the transport is asked (Twilio: its list of
messages to that number). Nothing is re-sent unless it provably did not go out."""

from __future__ import annotations

import functools
import logging
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa

from eas.core.crypto import get_cipher
from eas.core.db import core_execute, db
from eas.delivery import metrics
from eas.delivery.channels import (
    Attempt,
    Lookup,
    OutboundMessage,
    SealedNumber,
    SendReceipt,
    Transport,
)
from eas.delivery.claims import ClaimedPrompt, load_claimed
from eas.delivery.guard import ClaimGuard
from eas.delivery.models import Message, MessageStatus
from eas.delivery.report import TickReport
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.queries import claim_statement, now_parameter

log = logging.getLogger("eas.delivery")
UNCONFIRMED = "unconfirmed after a dispatcher crash; not re-sent"


#: How far back other messages to a number are read: further than any attempt's window.
_KNOWN_FOR = timedelta(days=1)


def _known_sids(message: Message) -> frozenset[str]:
    """The provider ids of the participant's other messages on record around this one: a
    message the provider has with the same text may be one of those."""
    return frozenset(
        db.session.scalars(
            sa.select(Message.provider_sid).where(
                Message.participant_id == message.participant_id,
                Message.provider_sid.is_not(None),
                Message.created_at >= message.created_at - _KNOWN_FOR,
            )
        )
    )


def _last_prompt_message(prompt_id: int) -> Message | None:
    return db.session.scalar(
        sa.select(Message)
        .where(Message.prompt_id == prompt_id, Message.purpose == "prompt")
        .order_by(Message.id.desc())
        .limit(1)
    )


@functools.lru_cache(maxsize=8)
def _take_over(batch: int) -> sa.Update:
    """Prompts whose claim lapsed, taken over: at most a batch, locked in id order and skipping
    those another dispatcher is taking (two taking the same rows in different orders
    deadlocked on PostgreSQL). Built once per batch size: it runs every tick."""
    now = now_parameter()
    lapsed = (
        sa.select(PlannedPrompt.id)
        .where(PlannedPrompt.status == PromptStatus.sending, PlannedPrompt.claim_expires_at < now)
        .order_by(PlannedPrompt.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return claim_statement(
        lapsed,
        claimed_by=sa.bindparam("dispatcher"),
        claim_expires_at=sa.bindparam("lease_until", type_=PlannedPrompt.due_at.type),
    )


class Recovery:
    """Settles the prompts of dispatcher `guard.name` whose last attempt's outcome is not known
    (its writes go through `guard`); what it finds sent is counted in the tick's report."""

    def __init__(
        self,
        transport: Transport,
        guard: ClaimGuard,
        *,
        batch: int,
        lease: timedelta,
        call_bound: timedelta,
        stopping: threading.Event,
    ) -> None:
        self.transport = transport
        self.guard = guard
        self.batch = batch
        self.lease = lease
        self.call_bound = call_bound
        #: The dispatcher's: once set, no more lookups (the rest lapse again).
        self.stopping = stopping

    def reconcile(self, now: datetime, report: TickReport) -> None:
        """Take over prompts whose claim lapsed, and settle each with the transport."""
        stale = (
            core_execute(
                _take_over(self.batch),
                {"now": now, "dispatcher": self.guard.name, "lease_until": now + self.lease},
            )
            .scalars()
            .all()
        )
        if not stale:
            return  # nothing taken over: a later step of the tick commits this transaction
        findings = [(prompt, _last_prompt_message(prompt.id)) for prompt in load_claimed(stale)]
        db.session.commit()  # the take-over; the lookups happen outside any write transaction
        answers = []
        for prompt, message in findings:
            if self.stopping.is_set():
                break  # the rest lapse again, for a dispatcher that goes on
            if message is None:
                answers.append((prompt, None, None, None))
                continue
            # Its call started within a lease of the message being written, and lasted no
            # longer than a call can (a batch slower than its lease renews it: rare, and then
            # later).
            ended = message.created_at + self.lease + self.call_bound
            state, receipt = self._ask(message, ended)
            if state is Lookup.sent:
                message.provider_sid = receipt.provider_sid
                db.session.flush()  # known to the next lookups of this number
            answers.append((prompt, message, state, receipt))
        for prompt, message, state, receipt in answers:
            state = state or Lookup.not_sent  # no message on record: nothing could have left
            if state is Lookup.sent:
                message.status, message.provider_sid = MessageStatus.sent, receipt.provider_sid
                self.guard.mark_sent(prompt, receipt, report)
            elif state is Lookup.not_sent:
                if message is not None:
                    message.status = MessageStatus.failed
                if prompt.expires_at > now:  # provably never sent: it may go now
                    self.guard.update(prompt.id, status=PromptStatus.scheduled)
                elif self.guard.update(
                    prompt.id,
                    status=PromptStatus.expired,
                    status_reason="not sent before it expired",
                ):
                    report.expired += 1
            elif self.guard.update(
                prompt.id, status=PromptStatus.failed, status_reason=UNCONFIRMED
            ):
                report.failed += 1
            metrics.RECONCILED.labels(state.value).inc()
        db.session.commit()
        report.reconciled += len(answers)

    def settle_previous_attempt(self, prompt: ClaimedPrompt, report: TickReport) -> bool:
        """Before another attempt: did an earlier one that timed out go out after all?
        Returns True when the prompt turned out to be sent (or cannot be known): no new send."""
        if prompt.attempts <= 1:
            return False
        message = _last_prompt_message(prompt.id)
        # Still `queued`: its send timed out. A sid on record: a status callback named it since.
        if message is None or (
            message.status is not MessageStatus.queued and not message.provider_sid
        ):
            return False
        state, receipt = self._ask(message, ended=message.updated_at)  # the timeout
        if state is Lookup.sent:
            message.status, message.provider_sid = MessageStatus.sent, receipt.provider_sid
            self.guard.mark_sent(prompt, receipt, report)
            return True
        if state is Lookup.not_sent:
            message.status = MessageStatus.failed
            return False
        self.guard.update(
            prompt.id,
            status=PromptStatus.failed,
            status_reason="unconfirmed after a timeout; not re-sent",
        )
        report.failed += 1
        return True

    def _ask(self, message: Message, ended: datetime) -> tuple[Lookup, SendReceipt | None]:
        """Did `message` go out? Its call, if made, ended by `ended`."""
        if message.provider_sid:  # a status callback named it: it went out
            return Lookup.sent, SendReceipt(message.provider_sid, message.created_at)
        attempt = Attempt(
            OutboundMessage(
                message.participant_id,
                SealedNumber(message.phone_encrypted, get_cipher()),
                message.body,
                message.idempotency_key,
                1,
            ),
            started=message.created_at,
            ended=ended,
            known=_known_sids(message),
        )
        try:
            return self.transport.lookup(attempt)
        except Exception:
            log.exception("lookup failed key=%s", message.idempotency_key)
            return Lookup.unknown, None
