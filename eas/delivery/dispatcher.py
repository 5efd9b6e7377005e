"""The dispatcher: every due prompt sent once, on time, across restarts, faults and processes.

The database is the source of truth; each tick:

1. expires prompts whose window closed unsent (never a late catch-up flood);
2. reconciles prompts a crashed dispatcher left in `sending` past its lease, by asking the
   transport whether the message with that attempt's idempotency key went out (`recovery`);
3. claims due prompts in batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL; one UPDATE statement,
   SQLite's single writer, there) and commits them as `sending` with a lease;
4. records each outbound message, checks once more that each prompt is still its own and its
   participant active and not paused, commits, and only then calls the transport; a send whose
   lease or window ran out meanwhile is not attempted;
5. records the outcome with updates guarded by the claim (`status = sending AND claimed_by =
   me`), so a late result never overwrites a cancellation or another dispatcher's work;
6. sends reminders for prompts still open and not yet started (`reminders`).

The tick is a job: it commits itself, since a claim must be durable before any message leaves.
It commits only where it must (before a send or a lookup, after recording outcomes, at its end),
so an idle tick is one short transaction. Its transactions that go on to write begin with a
write (SQLite: a transaction that reads, then writes after another connection wrote, fails),
except where a retried prompt's previous attempt is looked up first (`recovery`): that one can
fail so, and the prompt is taken over again when its lease runs out.
"""

from __future__ import annotations

import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eas.core.clock import Clock
from eas.core.db import core_execute, db
from eas.delivery import metrics
from eas.delivery.channels import (
    OPTED_OUT_CODES,
    NotSent,
    OutboundMessage,
    SendError,
    SendReceipt,
    Transport,
)
from eas.delivery.compose import prompt_text
from eas.delivery.heartbeat import beat
from eas.delivery.models import Direction, Message, MessageStatus
from eas.delivery.ratelimit import RateLimiter
from eas.delivery.reminders import next_reminder, send_reminders
from eas.participants.lifecycle import opt_out
from eas.participants.models import Participant, ParticipantStatus
from eas.responses.operations import close_lapsed
from eas.safety.notify import Mailer, notify_due
from eas.scheduling.models import CancelReason, PlannedPrompt, PromptStatus
from eas.scheduling.queries import claim_statement, now_parameter, reachable_prompts
from eas.sms.status import apply_parked
from eas.web.links import prompt_link

log = logging.getLogger("eas.delivery")

#: Backoff after the n-th failed attempt: 5 s, 10 s, 20 s, ... at most 5 minutes.
_BACKOFF_BASE, _BACKOFF_MAX = timedelta(seconds=5), timedelta(minutes=5)

Outcome = SendReceipt | SendError | NotSent

# The tick's statements are built once and run with each tick's time: a busy study ticks every
# second, and building a statement costs more than running it.
_EXPIRE = (
    sa.update(PlannedPrompt)
    .where(
        PlannedPrompt.status == PromptStatus.scheduled, PlannedPrompt.expires_at <= now_parameter()
    )
    .values(status=PromptStatus.expired, status_reason="not sent before it expired")
    .execution_options(synchronize_session=False)
)


@functools.cache
def _load_statement() -> sa.Select:
    # Built on first use: its loader options need every model mapped.
    return (
        sa.select(PlannedPrompt)
        .where(PlannedPrompt.id.in_(sa.bindparam("ids", expanding=True)))
        .options(joinedload(PlannedPrompt.participant), joinedload(PlannedPrompt.protocol_version))
        .order_by(PlannedPrompt.due_at)
        .execution_options(populate_existing=True)
    )


@dataclass
class TickReport:
    expired: int = 0
    reconciled: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    reminders: int = 0
    #: Responses left unfinished when their window closed (now partial).
    closed: int = 0
    alerts_notified: int = 0
    alerts_failed: int = 0
    lateness: list[float] = field(default_factory=list)
    #: Status callbacks that came before their message's sid was on record, applied now.
    parked_applied: int = 0


class _InThisThread:
    """`workers=0`: sends one after another in the ticking thread (the study simulator, whose
    provider answers at once in virtual time, has nothing to wait for in parallel)."""

    def map(self, function, items):
        return map(function, items)

    def shutdown(self, wait: bool = True) -> None:
        pass


@dataclass(frozen=True)
class Job:
    prompt: PlannedPrompt
    message: Message
    outbound: OutboundMessage
    #: Plain values for the sending threads: past these, the message is not sent.
    lease_until: datetime
    expires_at: datetime


class Dispatcher:
    def __init__(
        self,
        transport: Transport,
        *,
        name: str,
        clock: Clock,
        batch: int = 200,
        workers: int = 32,
        lease_seconds: int = 60,
        rate_per_second: float = 0,
        mailer: Mailer | None = None,
    ) -> None:
        self.transport = transport
        #: Tells coordinators about safety alerts (None: no mail configured; alerts still show).
        self.mailer = mailer
        self.name = name
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        # A rate-limited batch must be sent well within its lease.
        self.batch = batch if rate_per_second <= 0 else max(
            1, min(batch, int(rate_per_second * lease_seconds / 2))
        )  # fmt: skip
        self.limiter = RateLimiter(rate_per_second)
        self.pool = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eas-send")
            if workers > 0
            else _InThisThread()
        )
        self.started_at = clock.now()
        self.last_heartbeat: datetime | None = None
        self.sent_in_heartbeats = 0

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    # the tick ------------------------------------------------------------------------------

    def tick(self) -> TickReport:
        from eas.delivery.recovery import reconcile

        report = TickReport()
        self.sent_in_heartbeats = 0
        session = db.session()
        db.session.commit()  # start from a clean transaction: claims must be first statements
        # The tick commits between its steps and keeps using what it loaded: reloading every
        # prompt after each commit would cost a query per prompt.
        expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
        try:
            # Each step commits only when it has something to send; until then the steps share
            # one transaction, which an idle tick commits once at its end. It starts with a
            # write (the expiry), so it holds SQLite's write lock from its first statement.
            report.expired = self._expire(self.clock.now())
            report.closed = close_lapsed(self.clock.now())
            report.reconciled = reconcile(self, self.clock.now())
            while True:
                claimed = self._claim(self.clock.now())
                if not claimed:
                    break
                self._deliver(claimed, report)
                beat(self, report)
                db.session.commit()  # the outcomes, on record before the tick goes on
                if len(claimed) < self.batch:
                    break
            send_reminders(self, self.clock.now(), report)
            report.parked_applied = apply_parked(self.clock.now())
            if self.mailer is not None:  # it commits before talking to the mail server
                report.alerts_notified, report.alerts_failed = notify_due(
                    self.mailer, self.clock.now()
                )
            beat(self, report)
            db.session.commit()
        finally:
            session.expire_on_commit = expire_on_commit
        return report

    def _expire(self, now: datetime) -> int:
        # Committed with the tick's next commit.
        result = core_execute(_EXPIRE, {"now": now})
        metrics.EXPIRED.inc(result.rowcount)
        return result.rowcount

    @functools.cached_property
    def _claim_statement(self) -> sa.Update:
        now = now_parameter()
        candidates = reachable_prompts(
            now,
            PlannedPrompt.status == PromptStatus.scheduled,
            PlannedPrompt.due_at <= now,
            PlannedPrompt.expires_at > now,
            sa.or_(PlannedPrompt.next_attempt_at.is_(None), PlannedPrompt.next_attempt_at <= now),
        )
        return claim_statement(
            candidates.order_by(PlannedPrompt.due_at, PlannedPrompt.id).limit(self.batch),
            status=PromptStatus.sending,
            claimed_by=self.name,
            claim_expires_at=sa.bindparam("lease_until", type_=PlannedPrompt.due_at.type),
            attempts=PlannedPrompt.attempts + 1,
        )

    def _claim(self, now: datetime) -> list[PlannedPrompt]:
        """Claim due prompts and load them in the claim's transaction, committed when any were
        claimed (durable before any message leaves); with none, the transaction goes on."""
        ids = (
            core_execute(self._claim_statement, {"now": now, "lease_until": now + self.lease})
            .scalars()
            .all()
        )
        if not ids:
            return []
        prompts = self.load(ids)
        db.session.commit()
        return prompts

    def load(self, ids: list[int]) -> list[PlannedPrompt]:
        return db.session.scalars(_load_statement(), {"ids": ids}).all()

    def _deliver(self, claimed: list[PlannedPrompt], report: TickReport) -> None:
        """Send claimed prompts; the outcomes are left for the tick to commit (with its
        heartbeat)."""
        from eas.delivery.recovery import settle_previous_attempt

        now = self.clock.now()
        jobs = []
        for prompt in claimed:
            if prompt.claimed_by != self.name:
                continue
            try:
                if settle_previous_attempt(self, prompt, report):
                    continue  # an earlier, ambiguous attempt did go out
                link = prompt_link(prompt, now) if prompt.channel.value == "web" else None
                key = f"prompt-{prompt.id}-attempt-{prompt.attempts}"
                jobs.append(self.job(prompt, prompt_text(prompt, link), key, "prompt", now))
            except Exception as error:  # one bad prompt must not hold up the others
                log.exception("cannot prepare prompt=%s", prompt.id)
                self.update_prompt(
                    prompt.id,
                    status=PromptStatus.failed,
                    status_reason=f"cannot be prepared: {type(error).__name__}"[:200],
                )
                report.failed += 1
        # The last look runs after the messages are written (`execute` flushes them), in their
        # transaction: its commit puts every message on record before any is sent.
        sendable = self.still_sendable([job.prompt.id for job in jobs], self.clock.now())
        db.session.commit()
        # All sends finish before the session writes again: on SQLite the transport may need
        # the write lock too.
        to_send = [job for job in jobs if job.prompt.id in sendable]
        outcomes = dict(zip(map(id, to_send), self.pool.map(self.send, to_send), strict=True))
        sent: list[tuple[PlannedPrompt, SendReceipt]] = []
        for job in jobs:
            outcome = outcomes.get(id(job)) or NotSent("cancelled before it was sent")
            if isinstance(outcome, SendReceipt):
                job.message.status = MessageStatus.sent
                job.message.provider_sid = outcome.provider_sid
                job.message.updated_at = self.clock.now()
                sent.append((job.prompt, outcome))
            else:
                self._record(job, outcome, report)
        self.mark_all_sent(sent, report)

    def still_sendable(self, ids: list[int], now: datetime) -> set[int]:
        """The last look before sending: still ours, participant active, no pause in force
        (read in the caller's transaction, which commits before sending)."""
        if not ids:
            return set()
        return set(core_execute(self._sendable_statement, {"now": now, "ids": ids}).scalars().all())

    @functools.cached_property
    def _sendable_statement(self) -> sa.Select:
        return reachable_prompts(
            now_parameter(),
            PlannedPrompt.id.in_(sa.bindparam("ids", expanding=True)),
            PlannedPrompt.status == PromptStatus.sending,
            PlannedPrompt.claimed_by == self.name,
            lock=False,
        )

    def job(self, prompt: PlannedPrompt, body: str, key: str, purpose: str, now: datetime) -> Job:
        participant = prompt.participant
        message = Message(
            direction=Direction.outbound,
            participant_id=participant.id,
            prompt_id=prompt.id,
            phone_encrypted=participant.phone_encrypted,
            phone_hash=participant.phone_hash,
            body=body,
            status=MessageStatus.queued,
            idempotency_key=key,
            purpose=purpose,
            created_at=now,
            updated_at=now,
        )
        db.session.add(message)
        outbound = OutboundMessage(participant.id, participant.phone, body, key, 1)
        lease_until = prompt.claim_expires_at or now + self.lease
        return Job(prompt, message, outbound, lease_until, prompt.expires_at)

    def send(self, job: Job) -> Outcome:
        self.limiter.acquire()
        now = self.clock.now()
        if now >= job.expires_at:
            return NotSent("its window closed before it could be sent", expired=True)
        if now >= job.lease_until:
            # Another dispatcher may own it by now: it will reconcile this attempt's key.
            return NotSent("the claim ran out before it could be sent")
        validity = int((job.expires_at - now).total_seconds())
        try:
            return self.transport.send(replace(job.outbound, validity_seconds=max(1, validity)))
        except SendError as error:
            return error
        except Exception as error:  # a timeout or a dropped connection: it may have gone out
            return SendError(f"{type(error).__name__}: {error}", retryable=True, ambiguous=True)

    def update_prompt(self, prompt_id: int, **values) -> bool:
        """Change a prompt only while this dispatcher still holds its claim."""
        result = db.session.execute(
            sa.update(PlannedPrompt)
            .where(
                PlannedPrompt.id == prompt_id,
                PlannedPrompt.status == PromptStatus.sending,
                PlannedPrompt.claimed_by == self.name,
            )
            .values(claimed_by=None, claim_expires_at=None, **values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def _record(self, job: Job, outcome: Outcome, report: TickReport) -> None:
        prompt, message, now = job.prompt, job.message, self.clock.now()
        channel = prompt.channel.value
        message.updated_at = now
        if isinstance(outcome, SendReceipt):
            message.status, message.provider_sid = MessageStatus.sent, outcome.provider_sid
            self.mark_sent(prompt, outcome, report)
            return
        if isinstance(outcome, NotSent):
            message.status = MessageStatus.failed
            if outcome.expired:
                self.update_prompt(
                    prompt.id, status=PromptStatus.expired, status_reason=outcome.reason
                )
            elif outcome.reason.startswith("cancelled"):
                self._cancel_if_ours(prompt)
            return  # a lapsed claim: whoever holds the prompt now reconciles this key
        # A timeout may have gone out: the message stays `queued` until looked up.
        message.status = MessageStatus.queued if outcome.ambiguous else MessageStatus.failed
        message.error_code = outcome.code
        kind = "retryable" if outcome.retryable else "permanent"
        metrics.FAILURES.labels(channel, kind).inc()
        log.info(
            "send failed prompt=%s attempt=%s code=%s kind=%s reason=%s",
            prompt.id, prompt.attempts, outcome.code, kind, outcome.reason,
        )  # fmt: skip
        retry_at = now + min(_BACKOFF_BASE * 2 ** (prompt.attempts - 1), _BACKOFF_MAX)
        if outcome.retryable and retry_at < prompt.expires_at:
            if self.update_prompt(
                prompt.id, status=PromptStatus.scheduled, next_attempt_at=retry_at
            ):
                report.retried += 1
                metrics.RETRIES.labels(channel).inc()
            return
        code = f" ({outcome.code})" if outcome.code else ""
        prefix = "no attempt left in its window: " if outcome.retryable else ""
        reason = f"{prefix}{outcome.reason}{code}"[:200]
        if self.update_prompt(prompt.id, status=PromptStatus.failed, status_reason=reason):
            report.failed += 1
        if outcome.code in OPTED_OUT_CODES:
            opt_out(prompt.participant, now, source=f"provider error {outcome.code}")

    def mark_sent(self, prompt: PlannedPrompt, receipt: SendReceipt, report: TickReport) -> None:
        self.mark_all_sent([(prompt, receipt)], report)

    def mark_all_sent(
        self, sent: list[tuple[PlannedPrompt, SendReceipt]], report: TickReport
    ) -> None:
        """Record sends in one executemany, each guarded by this dispatcher's claim."""
        if not sent:
            return
        db.session.execute(
            self._mark_sent_statement,
            [
                {
                    "prompt_id": prompt.id,
                    "sent": receipt.sent_at,
                    "reminder": next_reminder(prompt, receipt.sent_at, prompt.reminders_sent),
                }
                for prompt, receipt in sent
            ],
        )
        for prompt, receipt in sent:
            lateness = max(0.0, (receipt.sent_at - prompt.due_at).total_seconds())
            report.sent += 1
            report.lateness.append(lateness)
            metrics.SENT.labels(prompt.channel.value).inc()
            metrics.LATENESS.labels(prompt.channel.value).observe(lateness)

    @functools.cached_property
    def _mark_sent_statement(self) -> sa.Update:
        table = PlannedPrompt.__table__
        return (
            table.update()
            .where(
                table.c.id == sa.bindparam("prompt_id"),
                table.c.status == PromptStatus.sending,
                table.c.claimed_by == self.name,
            )
            .values(
                status=PromptStatus.sent,
                sent_at=sa.bindparam("sent"),
                next_reminder_at=sa.bindparam("reminder"),
                next_attempt_at=None,
                claimed_by=None,
                claim_expires_at=None,
            )
        )

    def _cancel_if_ours(self, prompt: PlannedPrompt) -> None:
        participant = db.session.get(Participant, prompt.participant_id, populate_existing=True)
        reason = (
            participant.status.value
            if participant.status is not ParticipantStatus.active
            else CancelReason.paused.value
        )
        self.update_prompt(prompt.id, status=PromptStatus.cancelled, status_reason=reason)
