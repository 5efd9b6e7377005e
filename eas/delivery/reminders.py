"""Reminders: only while a prompt is open, not yet started, and its participant reachable; each
at most once (claimed by clearing its time before it is sent)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from eas.core.clock import Clock
from eas.core.db import core_execute, db
from eas.delivery import metrics
from eas.delivery.channels import NotSent, SendReceipt
from eas.delivery.claims import load_claimed
from eas.delivery.compose import reminder_text
from eas.delivery.models import Message, MessageStatus
from eas.delivery.outbox import Lease, new_job, outcome, record, record_outcomes
from eas.delivery.report import TickReport
from eas.responses.models import Response
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.queries import claim_statement, now_parameter, reachable_prompts
from eas.surveys.links import prompt_link

if TYPE_CHECKING:
    from eas.delivery.claims import ClaimedPrompt
    from eas.delivery.transmitter import Transmitter


def _reminder_delays(prompt: ClaimedPrompt) -> list[timedelta]:
    definition = prompt.protocol_version.definition
    schedule = next(s for s in definition["schedules"] if s["id"] == prompt.schedule_id)
    return [timedelta(minutes=r["after_minutes"]) for r in schedule.get("reminders", [])]


def next_reminder(prompt: ClaimedPrompt, sent_at: datetime, reminders_sent: int) -> datetime | None:
    """When the prompt's next reminder is due, if it comes before the prompt expires."""
    delays = _reminder_delays(prompt)
    if reminders_sent >= len(delays):
        return None
    moment = sent_at + delays[reminders_sent]
    return moment if moment < prompt.expires_at else None


def _started():
    return sa.exists().where(Response.prompt_id == PlannedPrompt.id)


# Built once, run every tick with its time (see the dispatcher).
_STILL_OPEN = reachable_prompts(
    now_parameter(),
    PlannedPrompt.id.in_(sa.bindparam("ids", expanding=True)),
    ~_started(),
    lock=False,
)


_NOW = now_parameter()
_TABLE = PlannedPrompt.__table__
#: One executemany for the whole batch.
_PLAN_NEXT = (
    _TABLE.update()
    .where(_TABLE.c.id == sa.bindparam("prompt_id"), _TABLE.c.status == PromptStatus.sent)
    .values(next_reminder_at=sa.bindparam("following", type_=_TABLE.c.due_at.type))
)


#: A claimed reminder that provably did not go out (the dispatcher was stopping, or its call
#: could not end in time) is due again, as it was before its claim; its message, never handed
#: to the provider, goes (its key is the reminder's, used again by the next claim).
_HAND_BACK = (
    _TABLE.update()
    .where(
        _TABLE.c.id == sa.bindparam("prompt_id"),
        _TABLE.c.status == PromptStatus.sent,
        _TABLE.c.next_reminder_at.is_(None),
    )
    .values(
        next_reminder_at=sa.bindparam("due", type_=_TABLE.c.due_at.type),
        reminders_sent=_TABLE.c.reminders_sent - 1,
    )
)
_MESSAGES = Message.__table__
_UNSENT = _MESSAGES.delete().where(
    _MESSAGES.c.idempotency_key == sa.bindparam("key"),
    _MESSAGES.c.status == MessageStatus.queued,
)


# A prompt's reminders end with its window. One that expired with a reminder still planned
# (answered first, or its participant paused or withdrawn) has it cleared, so that the claim's
# range (`status = sent AND next_reminder_at <= now`, by index) holds the open prompts only, not
# every answered prompt of the study, read again each tick. A sent prompt's expiry never
# moves: no reminder that could still go out is cleared. (Rows another dispatcher holds are
# left for a later tick.)
_RETIRE = (
    sa.update(PlannedPrompt)
    .where(
        PlannedPrompt.id.in_(
            sa.select(PlannedPrompt.id)
            .where(
                PlannedPrompt.status == PromptStatus.sent,
                PlannedPrompt.next_reminder_at <= _NOW,
                PlannedPrompt.expires_at <= _NOW,
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .values(next_reminder_at=None)
    .execution_options(synchronize_session=False)
)


@functools.lru_cache(maxsize=8)
def _claim_due(batch: int) -> sa.Update:
    now = now_parameter()
    # Started counts as answered: a reminder repeating question 1 in the middle of an SMS
    # conversation would be taken for an answer to a later question.
    due = reachable_prompts(
        now,
        PlannedPrompt.status == PromptStatus.sent,
        PlannedPrompt.next_reminder_at <= now,
        PlannedPrompt.expires_at > now,
        ~_started(),
    )
    # Claimed by clearing the time: a reminder is sent at most once, even across a crash.
    return claim_statement(
        due.limit(batch),
        next_reminder_at=None,
        reminders_sent=PlannedPrompt.reminders_sent + 1,
    )


def still_open(ids: list[int], now: datetime) -> set[int]:
    """Prompts whose participant is still reachable and which nobody has started answering."""
    if not ids:
        return set()
    return set(core_execute(_STILL_OPEN, {"now": now, "ids": ids}).scalars().all())


class Reminders:
    """The due reminders, at most a batch each tick, sent through the dispatcher's transmitter (the
    same checks, rate and threads as prompts)."""

    def __init__(self, transmitter: Transmitter, clock: Clock, batch: int) -> None:
        self.transmitter = transmitter
        self.clock = clock
        self.batch = batch

    def send_due(self, now: datetime, report: TickReport) -> None:
        """Claim and send the due reminders, commit their outcomes, and count them in `report`.
        With none due, the claim's transaction goes on."""
        core_execute(_RETIRE, {"now": now})
        ids = core_execute(_claim_due(self.batch), {"now": now}).scalars().all()
        if not ids:
            return
        jobs = []
        for prompt in load_claimed(ids):
            link = prompt_link(prompt, now) if prompt.channel.value == "web" else None
            body = reminder_text(prompt, prompt.reminders_sent, link)
            key = f"prompt-{prompt.id}-reminder-{prompt.reminders_sent}"
            # Claimed by clearing its time, a reminder is nobody else's to take over: its lease
            # is the prompt's window.
            lease = Lease(prompt.expires_at)
            jobs.append(new_job(prompt, body, key, "reminder", now, lease))
        # The last look before sending, as for prompts: a STOP, withdrawal, pause or a first
        # answer since the claim means no reminder. It runs after the messages are written, and
        # their commit, with the claim's, comes before any send.
        record(jobs)
        sendable = still_open([job.prompt.id for job in jobs], self.clock.now())
        db.session.commit()

        def send(job):
            if job.prompt.id not in sendable:
                return NotSent("not reachable")
            return self.transmitter.send(job)

        outcomes = self.transmitter.map(send, jobs)
        at = self.clock.now()
        messages, plans, handed_back = [], [], []
        for job, result in zip(jobs, outcomes, strict=True):
            if isinstance(result, NotSent) and result.hand_back:
                handed_back.append(job)
                continue
            if isinstance(result, SendReceipt):
                messages.append(outcome(job, MessageStatus.sent, at, result.provider_sid))
                report.reminders += 1
                metrics.REMINDERS.labels(job.prompt.channel.value).inc()
            else:
                messages.append(
                    outcome(job, MessageStatus.failed, at, code=getattr(result, "code", None))
                )
            # Whether or not this one went out, the next reminder (if any) stays on the plan.
            following = next_reminder(job.prompt, job.prompt.sent_at, job.prompt.reminders_sent)
            plans.append({"prompt_id": job.prompt.id, "following": following})
        record_outcomes(messages)
        if plans:
            core_execute(_PLAN_NEXT, plans)
        if handed_back:
            keys = [{"key": job.outbound.idempotency_key} for job in handed_back]
            core_execute(_UNSENT, keys)
            core_execute(
                _HAND_BACK, [{"prompt_id": job.prompt.id, "due": at} for job in handed_back]
            )
            report.handed_back += len(handed_back)
        # What went out is on record before the tick goes on (its later steps may fail, and no
        # reconciliation comes back for a reminder).
        db.session.commit()
