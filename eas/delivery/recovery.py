"""What to do when it is not known whether a message went out: after a dispatcher crashed with
prompts in `sending`, and after a send that timed out. The transport is asked by idempotency
key; nothing is re-sent unless it provably did not go out."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from eas.core.db import core_execute, db
from eas.delivery import metrics
from eas.delivery.channels import Lookup, SendReceipt
from eas.delivery.models import Message, MessageStatus
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.queries import now_parameter

if TYPE_CHECKING:
    from eas.delivery.claims import ClaimedPrompt
    from eas.delivery.dispatcher import Dispatcher, TickReport

log = logging.getLogger("eas.delivery")
UNCONFIRMED = "unconfirmed after a dispatcher crash; not re-sent"


def _ask(dispatcher: Dispatcher, key: str) -> tuple[Lookup, SendReceipt | None]:
    try:
        return dispatcher.transport.lookup(key)
    except Exception:
        log.exception("lookup failed key=%s", key)
        return Lookup.unknown, None


def _last_prompt_message(prompt_id: int) -> Message | None:
    return db.session.scalar(
        sa.select(Message)
        .where(Message.prompt_id == prompt_id, Message.purpose == "prompt")
        .order_by(Message.id.desc())
        .limit(1)
    )


# Built once: it runs every tick.
_TAKE_OVER = (
    sa.update(PlannedPrompt)
    .where(
        PlannedPrompt.status == PromptStatus.sending,
        PlannedPrompt.claim_expires_at < now_parameter(),
    )
    .values(
        claimed_by=sa.bindparam("dispatcher"),
        claim_expires_at=sa.bindparam("lease_until", type_=PlannedPrompt.due_at.type),
    )
    .returning(PlannedPrompt.id)
    .execution_options(synchronize_session=False)
)


def reconcile(dispatcher: Dispatcher, now: datetime) -> int:
    """Take over prompts whose claim lapsed, and settle each with the transport."""
    from eas.delivery.dispatcher import TickReport

    stale = (
        core_execute(
            _TAKE_OVER,
            {"now": now, "dispatcher": dispatcher.name, "lease_until": now + dispatcher.lease},
        )
        .scalars()
        .all()
    )
    if not stale:
        return 0  # nothing taken over: a later step of the tick commits this transaction
    findings = [(prompt, _last_prompt_message(prompt.id)) for prompt in dispatcher.load(stale)]
    db.session.commit()  # the take-over; the lookups happen outside any write transaction
    answers = [
        (prompt, message, *(_ask(dispatcher, message.idempotency_key) if message else (None, None)))
        for prompt, message in findings
    ]
    report = TickReport()
    for prompt, message, state, receipt in answers:
        state = state or Lookup.not_sent  # no message on record: nothing could have left
        if state is Lookup.sent:
            message.status, message.provider_sid = MessageStatus.sent, receipt.provider_sid
            dispatcher.mark_sent(prompt, receipt, report)
        elif state is Lookup.not_sent:
            if message is not None:
                message.status = MessageStatus.failed
            if prompt.expires_at > now:  # provably never sent: it may go now
                dispatcher.update_prompt(prompt.id, status=PromptStatus.scheduled)
            else:
                dispatcher.update_prompt(
                    prompt.id,
                    status=PromptStatus.expired,
                    status_reason="not sent before it expired",
                )
        else:
            dispatcher.update_prompt(
                prompt.id, status=PromptStatus.failed, status_reason=UNCONFIRMED
            )
        metrics.RECONCILED.labels(state.value).inc()
    db.session.commit()
    return len(stale)


def settle_previous_attempt(
    dispatcher: Dispatcher, prompt: ClaimedPrompt, report: TickReport
) -> bool:
    """Before another attempt: did an earlier one that timed out go out after all?
    Returns True when the prompt turned out to be sent (or cannot be known): no new send."""
    if prompt.attempts <= 1:
        return False
    message = _last_prompt_message(prompt.id)
    if message is None or message.status is not MessageStatus.queued:
        return False
    state, receipt = _ask(dispatcher, message.idempotency_key)
    if state is Lookup.sent:
        message.status, message.provider_sid = MessageStatus.sent, receipt.provider_sid
        dispatcher.mark_sent(prompt, receipt, report)
        return True
    if state is Lookup.not_sent:
        message.status = MessageStatus.failed
        return False
    dispatcher.update_prompt(
        prompt.id,
        status=PromptStatus.failed,
        status_reason="unconfirmed after a timeout; not re-sent",
    )
    report.failed += 1
    return True
