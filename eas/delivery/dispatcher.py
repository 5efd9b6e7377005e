"""The dispatcher: every due prompt sent once, on time, across restarts, faults and processes.

The database is the source of truth; each tick:

1. expires prompts whose window closed unsent (never a late catch-up flood);
2. reconciles prompts a crashed dispatcher left in `sending` past its lease, by asking the
   transport whether the message with that attempt's idempotency key went out;
3. claims due prompts in batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL; one UPDATE statement,
   SQLite's single writer, there) and commits them as `sending` with a lease;
4. records each outbound message, commits, and only then calls the transport;
5. records the outcome: sent; a retryable failure goes back to `scheduled` with backoff inside
   the window; a permanent one fails at once with its reason (21610: the participant opted out);
6. sends reminders for prompts still open and unanswered (at most once each).

The tick is a job: it commits at these steps itself, since a claim must be durable before any
message leaves.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from eas.core.clock import Clock
from eas.core.db import db
from eas.delivery import metrics
from eas.delivery.channels import (
    OPTED_OUT_CODES,
    Lookup,
    OutboundMessage,
    SendError,
    SendReceipt,
    Transport,
)
from eas.delivery.compose import prompt_text, reminder_text
from eas.delivery.models import Direction, DispatcherHeartbeat, Message, MessageStatus
from eas.delivery.ratelimit import RateLimiter
from eas.participants.models import Participant, ParticipantStatus
from eas.responses.models import Response, ResponseStatus
from eas.scheduling.models import CancelReason, PlannedPrompt, PromptStatus
from eas.scheduling.operations import cancel_future
from eas.web.links import prompt_link

log = logging.getLogger("eas.delivery")

#: Backoff after the n-th failed attempt: 5 s, 10 s, 20 s, ... at most 5 minutes.
_BACKOFF_BASE, _BACKOFF_MAX = timedelta(seconds=5), timedelta(minutes=5)


@dataclass
class TickReport:
    expired: int = 0
    reconciled: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    reminders: int = 0
    lateness: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    prompt: PlannedPrompt
    message: Message
    outbound: OutboundMessage


def _reminder_delays(prompt: PlannedPrompt) -> list[timedelta]:
    definition = prompt.protocol_version.definition
    schedule = next(s for s in definition["schedules"] if s["id"] == prompt.schedule_id)
    return [timedelta(minutes=r["after_minutes"]) for r in schedule.get("reminders", [])]


def next_reminder(prompt: PlannedPrompt) -> datetime | None:
    """When the prompt's next reminder is due, if it comes before the prompt expires."""
    delays = _reminder_delays(prompt)
    if prompt.reminders_sent >= len(delays) or prompt.sent_at is None:
        return None
    moment = prompt.sent_at + delays[prompt.reminders_sent]
    return moment if moment < prompt.expires_at else None


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
    ) -> None:
        self.transport = transport
        self.name = name
        self.clock = clock
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.limiter = RateLimiter(rate_per_second)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eas-send")
        self.started_at = clock.now()

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    # the tick ------------------------------------------------------------------------------

    def tick(self) -> TickReport:
        report = TickReport()
        session = db.session()
        db.session.commit()  # start from a clean transaction: claims must be first statements
        # The tick commits between its steps and keeps using what it loaded: reloading every
        # prompt after each commit would cost a query per prompt.
        expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
        try:
            report.expired = self._expire(self.clock.now())
            report.reconciled = self._reconcile(self.clock.now())
            while True:
                claimed = self._claim(self.clock.now())
                if not claimed:
                    break
                self._deliver(claimed, report)
                if len(claimed) < self.batch:
                    break
            self._remind(self.clock.now(), report)
            self._heartbeat(report)
        finally:
            session.expire_on_commit = expire_on_commit
        return report

    def _expire(self, now: datetime) -> int:
        result = db.session.execute(
            sa.update(PlannedPrompt)
            .where(PlannedPrompt.status == PromptStatus.scheduled, PlannedPrompt.expires_at <= now)
            .values(status=PromptStatus.expired, status_reason="not sent before it expired")
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        metrics.EXPIRED.inc(result.rowcount)
        return result.rowcount

    def _claim(self, now: datetime) -> list[int]:
        candidates = (
            sa.select(PlannedPrompt.id)
            .join(Participant, Participant.id == PlannedPrompt.participant_id)
            .where(
                PlannedPrompt.status == PromptStatus.scheduled,
                PlannedPrompt.due_at <= now,
                PlannedPrompt.expires_at > now,
                sa.or_(
                    PlannedPrompt.next_attempt_at.is_(None), PlannedPrompt.next_attempt_at <= now
                ),
                Participant.status == ParticipantStatus.active,
            )
            .order_by(PlannedPrompt.due_at, PlannedPrompt.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True, of=PlannedPrompt)
        )
        claimed = db.session.scalars(
            sa.update(PlannedPrompt)
            .where(PlannedPrompt.id.in_(candidates.scalar_subquery()))
            .values(
                status=PromptStatus.sending,
                claimed_by=self.name,
                claim_expires_at=now + self.lease,
                attempts=PlannedPrompt.attempts + 1,
            )
            .returning(PlannedPrompt.id)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()  # durable before any message leaves
        return claimed

    @staticmethod
    def _end_read() -> None:
        """End a read-only transaction, so the next one starts with its writes: on SQLite a
        transaction that reads, then writes after another connection wrote, fails."""
        db.session.commit()

    def _load(self, ids: list[int]) -> list[PlannedPrompt]:
        return db.session.scalars(
            sa.select(PlannedPrompt)
            .where(PlannedPrompt.id.in_(ids))
            .options(
                joinedload(PlannedPrompt.participant), joinedload(PlannedPrompt.protocol_version)
            )
            .order_by(PlannedPrompt.due_at)
            .execution_options(populate_existing=True)
        ).all()

    def _deliver(self, ids: list[int], report: TickReport) -> None:
        now = self.clock.now()
        jobs = []
        prompts = self._load(ids)
        self._end_read()
        for prompt in prompts:
            if prompt.status is not PromptStatus.sending or prompt.claimed_by != self.name:
                continue  # cancelled (paused, withdrawn) between the claim and now
            if prompt.participant.status is not ParticipantStatus.active:
                prompt.status = PromptStatus.cancelled
                prompt.status_reason = prompt.participant.status.value
                continue
            link = prompt_link(prompt.id) if prompt.channel.value == "web" else None
            key = f"prompt-{prompt.id}-attempt-{prompt.attempts}"
            jobs.append(self._job(prompt, prompt_text(prompt, link), key, "prompt", now))
        db.session.commit()  # every message is on record before it is sent
        # All sends finish before the session writes again: on SQLite the transport may need
        # the write lock too.
        outcomes = list(self.pool.map(self._send, jobs))
        for job, outcome in zip(jobs, outcomes, strict=True):
            self._record(job, outcome, report)
        db.session.commit()

    def _job(self, prompt: PlannedPrompt, body: str, key: str, purpose: str, now: datetime) -> _Job:
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
        remaining = max(1, int((prompt.expires_at - now).total_seconds()))
        outbound = OutboundMessage(participant.id, participant.phone, body, key, remaining)
        return _Job(prompt, message, outbound)

    def _send(self, job: _Job) -> SendReceipt | SendError:
        self.limiter.acquire()
        try:
            return self.transport.send(job.outbound)
        except SendError as error:
            return error
        except Exception as error:  # timeouts and connection errors: worth another attempt
            return SendError(f"{type(error).__name__}: {error}", retryable=True)

    def _record(self, job: _Job, outcome: SendReceipt | SendError, report: TickReport) -> None:
        prompt, message, now = job.prompt, job.message, self.clock.now()
        channel = prompt.channel.value
        message.updated_at = now
        prompt.claimed_by = prompt.claim_expires_at = None
        if isinstance(outcome, SendReceipt):
            message.status, message.provider_sid = MessageStatus.sent, outcome.provider_sid
            prompt.status, prompt.sent_at = PromptStatus.sent, outcome.sent_at
            prompt.next_attempt_at = None
            prompt.next_reminder_at = next_reminder(prompt)
            lateness = max(0.0, (outcome.sent_at - prompt.due_at).total_seconds())
            report.sent += 1
            report.lateness.append(lateness)
            metrics.SENT.labels(channel).inc()
            metrics.LATENESS.labels(channel).observe(lateness)
            return
        message.status, message.error_code = MessageStatus.failed, outcome.code
        kind = "retryable" if outcome.retryable else "permanent"
        metrics.FAILURES.labels(channel, kind).inc()
        log.info(
            "send failed prompt=%s attempt=%s code=%s kind=%s reason=%s",
            prompt.id, prompt.attempts, outcome.code, kind, outcome.reason,
        )  # fmt: skip
        retry_at = now + min(_BACKOFF_BASE * 2 ** (prompt.attempts - 1), _BACKOFF_MAX)
        if outcome.retryable and retry_at < prompt.expires_at:
            prompt.status, prompt.next_attempt_at = PromptStatus.scheduled, retry_at
            report.retried += 1
            metrics.RETRIES.labels(channel).inc()
            return
        prompt.status = PromptStatus.failed
        code = f" ({outcome.code})" if outcome.code else ""
        prefix = "no attempt left in its window: " if outcome.retryable else ""
        prompt.status_reason = f"{prefix}{outcome.reason}{code}"[:200]
        report.failed += 1
        if outcome.code in OPTED_OUT_CODES:
            participant = prompt.participant
            participant.status = ParticipantStatus.opted_out
            db.session.flush()
            cancel_future(participant, now, CancelReason.opted_out)

    # crashes -------------------------------------------------------------------------------

    def _reconcile(self, now: datetime) -> int:
        stale = db.session.scalars(
            sa.update(PlannedPrompt)
            .where(
                PlannedPrompt.status == PromptStatus.sending,
                PlannedPrompt.claim_expires_at < now,
            )
            .values(claimed_by=self.name, claim_expires_at=now + self.lease)
            .returning(PlannedPrompt.id)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        if not stale:
            return 0
        # Ask the transport about each, outside any write transaction, then record the answers.
        findings = []
        for prompt in self._load(stale):
            message = db.session.scalar(
                sa.select(Message)
                .where(Message.prompt_id == prompt.id, Message.purpose == "prompt")
                .order_by(Message.id.desc())
                .limit(1)
            )
            findings.append((prompt, message))
        self._end_read()
        for prompt, message in findings:
            state, receipt = (
                self.transport.lookup(message.idempotency_key)
                if message is not None
                else (Lookup.not_sent, None)
            )
            prompt.claimed_by = prompt.claim_expires_at = None
            if state is Lookup.sent:
                prompt.status, prompt.sent_at = PromptStatus.sent, receipt.sent_at
                prompt.next_reminder_at = next_reminder(prompt)
                message.status, message.provider_sid = MessageStatus.sent, receipt.provider_sid
            elif state is Lookup.not_sent:
                # Provably never sent: it may go now, if its window is still open.
                open_ = prompt.expires_at > now
                prompt.status = PromptStatus.scheduled if open_ else PromptStatus.expired
                prompt.status_reason = None if open_ else "not sent before it expired"
                if message is not None:
                    message.status = MessageStatus.failed
            else:
                prompt.status = PromptStatus.failed
                prompt.status_reason = "unconfirmed after a dispatcher crash; not re-sent"
            metrics.RECONCILED.labels(state.value).inc()
        db.session.commit()
        return len(stale)

    # reminders -----------------------------------------------------------------------------

    def _remind(self, now: datetime, report: TickReport) -> None:
        answered = sa.exists().where(
            Response.prompt_id == PlannedPrompt.id, Response.status == ResponseStatus.completed
        )
        due = (
            sa.select(PlannedPrompt.id)
            .join(Participant, Participant.id == PlannedPrompt.participant_id)
            .where(
                PlannedPrompt.status == PromptStatus.sent,
                PlannedPrompt.next_reminder_at <= now,
                PlannedPrompt.expires_at > now,
                Participant.status == ParticipantStatus.active,
                ~answered,
            )
            .limit(self.batch)
            .with_for_update(skip_locked=True, of=PlannedPrompt)
        )
        # Claimed by clearing the time: a reminder is sent at most once, even across a crash.
        ids = db.session.scalars(
            sa.update(PlannedPrompt)
            .where(PlannedPrompt.id.in_(due.scalar_subquery()))
            .values(next_reminder_at=None, reminders_sent=PlannedPrompt.reminders_sent + 1)
            .returning(PlannedPrompt.id)
            .execution_options(synchronize_session=False)
        ).all()
        db.session.commit()
        if not ids:
            return
        jobs = []
        prompts = self._load(ids)
        self._end_read()
        for prompt in prompts:
            link = prompt_link(prompt.id) if prompt.channel.value == "web" else None
            body = reminder_text(prompt, prompt.reminders_sent, link)
            key = f"prompt-{prompt.id}-reminder-{prompt.reminders_sent}"
            jobs.append(self._job(prompt, body, key, "reminder", now))
        db.session.commit()
        outcomes = list(self.pool.map(self._send, jobs))
        for job, outcome in zip(jobs, outcomes, strict=True):
            job.message.updated_at = self.clock.now()
            if isinstance(outcome, SendReceipt):
                job.message.status = MessageStatus.sent
                job.message.provider_sid = outcome.provider_sid
                job.prompt.next_reminder_at = next_reminder(job.prompt)
                report.reminders += 1
                metrics.REMINDERS.labels(job.prompt.channel.value).inc()
            else:
                job.message.status, job.message.error_code = MessageStatus.failed, outcome.code
        db.session.commit()

    def _heartbeat(self, report: TickReport) -> None:
        now = self.clock.now()
        table = DispatcherHeartbeat.__table__
        updated = db.session.execute(
            table.update()
            .where(table.c.name == self.name)
            .values(last_tick_at=now, ticks=table.c.ticks + 1, sent=table.c.sent + report.sent)
        )
        if updated.rowcount == 0:
            db.session.execute(
                table.insert().values(
                    name=self.name, started_at=self.started_at, last_tick_at=now, ticks=1,
                    sent=report.sent,
                )
            )  # fmt: skip
        db.session.commit()
