"""What became of each send, on record: every update of a claimed prompt guarded by the
dispatcher's claim (`status = sending AND claimed_by = me`), so a late result never overwrites a
cancellation or another dispatcher's work. The dispatcher holds one; recovery writes through it
too. What it settled is counted in the tick's report it is given."""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

import sqlalchemy as sa

from eas.core.clock import Clock
from eas.core.db import core_execute, db
from eas.delivery import metrics
from eas.delivery.channels import OPTED_OUT_CODES, NotSent, SendError, SendReceipt
from eas.delivery.claims import ClaimedPrompt
from eas.delivery.models import MessageStatus
from eas.delivery.outbox import Job, outcome, record_outcomes
from eas.delivery.reminders import next_reminder
from eas.delivery.report import TickReport
from eas.delivery.transmitter import Outcome
from eas.participants.lifecycle import opt_out
from eas.participants.models import Participant, ParticipantStatus
from eas.scheduling.models import CancelReason, PlannedPrompt, PromptStatus

log = logging.getLogger("eas.delivery")

#: Backoff after the n-th failed attempt: 5 s, 10 s, 20 s, ... at most 5 minutes.
_BACKOFF_BASE, _BACKOFF_MAX = timedelta(seconds=5), timedelta(minutes=5)


class ClaimGuard:
    """The writes of dispatcher `name` to the prompts it holds (in the session's transaction:
    the caller commits)."""

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self.clock = clock

    def update(self, prompt_id: int, **values) -> bool:
        """Change a prompt, and give up its claim, only while this dispatcher still holds it."""
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

    def record(self, results: list[tuple[Job, Outcome]], report: TickReport) -> None:
        """The outcomes of some of a batch's sends: their messages, then their prompts."""
        at = self.clock.now()
        sent: list[tuple[ClaimedPrompt, SendReceipt]] = []
        not_sent: list[tuple[Job, SendError | NotSent]] = []
        messages = []
        for job, result in results:
            if isinstance(result, SendReceipt):
                messages.append(outcome(job, MessageStatus.sent, at, result.provider_sid))
                sent.append((job.prompt, result))
            elif isinstance(result, NotSent):
                messages.append(outcome(job, MessageStatus.failed, at))
                not_sent.append((job, result))
            else:  # a timeout may have gone out: its message stays `queued` until looked up
                status = MessageStatus.queued if result.ambiguous else MessageStatus.failed
                messages.append(outcome(job, status, at, code=result.code))
                not_sent.append((job, result))
        record_outcomes(messages)
        for job, result in not_sent:
            self.record_failure(job, result, report)
        self.mark_all_sent(sent, report)

    def record_failure(self, job: Job, failure: SendError | NotSent, report: TickReport) -> None:
        """The prompt's side of a send that did not go out (its message's is recorded by the
        caller)."""
        prompt, now = job.prompt, self.clock.now()
        channel = prompt.channel.value
        if isinstance(failure, NotSent):
            if failure.expired:
                self.update(prompt.id, status=PromptStatus.expired, status_reason=failure.reason)
            elif failure.hand_back:  # provably not sent: whoever claims it next sends it
                if self.update(prompt.id, status=PromptStatus.scheduled):
                    report.handed_back += 1
            else:
                self._cancel_if_ours(prompt)
            return
        kind = "retryable" if failure.retryable else "permanent"
        metrics.FAILURES.labels(channel, kind).inc()
        log.info(
            "send failed prompt=%s attempt=%s code=%s kind=%s reason=%s",
            prompt.id, prompt.attempts, failure.code, kind, failure.reason,
        )  # fmt: skip
        retry_at = now + min(_BACKOFF_BASE * 2 ** (prompt.attempts - 1), _BACKOFF_MAX)
        if failure.retryable and retry_at < prompt.expires_at:
            if self.update(prompt.id, status=PromptStatus.scheduled, next_attempt_at=retry_at):
                report.retried += 1
                metrics.RETRIES.labels(channel).inc()
            return
        code = f" ({failure.code})" if failure.code else ""
        prefix = "no attempt left in its window: " if failure.retryable else ""
        reason = f"{prefix}{failure.reason}{code}"[:200]
        if self.update(prompt.id, status=PromptStatus.failed, status_reason=reason):
            report.failed += 1
        if failure.code in OPTED_OUT_CODES:
            participant = db.session.get(Participant, prompt.participant_id, populate_existing=True)
            opt_out(participant, now, source=f"provider error {failure.code}")

    def mark_sent(self, prompt: ClaimedPrompt, receipt: SendReceipt, report: TickReport) -> None:
        self.mark_all_sent([(prompt, receipt)], report)

    def mark_all_sent(
        self, sent: list[tuple[ClaimedPrompt, SendReceipt]], report: TickReport
    ) -> None:
        """Record sends in one executemany, each guarded by this dispatcher's claim, and count
        them in `report` (and the metrics) with their lateness."""
        if not sent:
            return
        core_execute(
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

    def _cancel_if_ours(self, prompt: ClaimedPrompt) -> None:
        participant = db.session.get(Participant, prompt.participant_id, populate_existing=True)
        reason = (
            participant.status.value
            if participant.status is not ParticipantStatus.active
            else CancelReason.paused.value
        )
        self.update(prompt.id, status=PromptStatus.cancelled, status_reason=reason)
