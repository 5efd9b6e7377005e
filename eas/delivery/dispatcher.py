"""The dispatcher: every due prompt sent once, on time, across restarts, faults and processes.

The database is the source of truth; each tick:

1. expires prompts whose window closed unsent (never a late catch-up flood);
2. reconciles prompts a crashed dispatcher left in `sending` past its lease: a status callback
   that named the attempt's message, or else the transport (by key, or Twilio's list of
   messages to that number), says whether it went out (`recovery`);
3. claims due prompts in batches (`FOR UPDATE SKIP LOCKED` on PostgreSQL; one UPDATE statement,
   SQLite's single writer, there) as `sending` with a lease, and loads them as plain values
   (`claims`);
4. records each outbound message (`outbox`), checks once more that each prompt is still its own
   and its participant active and not paused, commits the claims and messages together, and
   only then calls the transport. A call starts only while the claim has longer to run than
   the call can take (the transport's timeout), and the batch's claims are renewed while it is
   being sent, so no other dispatcher can take a prompt over while a call for it is under way;
   a prompt whose claim would run out first is handed back, one whose window closed expires
   (the calls, with these checks, the rate limit and the sending threads: `transmitter`);
5. records each outcome as its call returns (a few at a time, each group committed), with
   updates guarded by the claim (`status = sending AND claimed_by = me`), so a late result
   never overwrites a cancellation or another dispatcher's work (`guard`);
6. sends reminders for prompts still open and not yet started (`reminders`).

Beside these it does other domains' periodic work, each at its place (`periodic`: closing
lapsed responses with the expiry, mailing alerts at the end), and says it is alive after each
batch and at its end (`heartbeat`). What every step settled (recovery's too) is counted in the
tick's one report (`report`).

The dispatcher owns its state (its name, lease, batch, `stopping`); its collaborators are
given what they need when it builds them, and count what they did in the report they are
handed.

`stopping` (set on SIGTERM) ends the tick early: no more claims, calls not yet started are
handed back as provably not sent, calls under way finish and are recorded.

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
import threading
from concurrent.futures import FIRST_COMPLETED, wait
from datetime import datetime, timedelta

import sqlalchemy as sa

from eas.core.clock import Clock
from eas.core.db import core_execute, db
from eas.delivery import metrics
from eas.delivery.channels import NotSent, Transport
from eas.delivery.claims import ClaimedPrompt, load_claimed
from eas.delivery.compose import prompt_text
from eas.delivery.guard import ClaimGuard
from eas.delivery.heartbeat import Heartbeat
from eas.delivery.outbox import Job, Lease, new_job, record
from eas.delivery.periodic import PeriodicWork
from eas.delivery.recovery import Recovery
from eas.delivery.reminders import Reminders
from eas.delivery.report import TickReport
from eas.delivery.transmitter import Outcome, Transmitter, call_bound
from eas.scheduling.models import PlannedPrompt, PromptStatus
from eas.scheduling.queries import claim_statement, now_parameter, reachable_prompts
from eas.surveys.links import prompt_link

log = logging.getLogger("eas.delivery")

# The tick's statements are built once and run with each tick's time: a busy study ticks every
# second, and building a statement costs more than running it.
#
# A prompt expires after it is due (`due_at < expires_at`, as planned): the condition on
# `due_at`, implied by the one on `expires_at`, lets it read only the prompts due so far (the
# index on status and due time) rather than every scheduled prompt of the study.
_NOW = now_parameter()
_EXPIRE = (
    sa.update(PlannedPrompt)
    .where(
        PlannedPrompt.status == PromptStatus.scheduled,
        PlannedPrompt.due_at <= _NOW,
        PlannedPrompt.expires_at <= _NOW,
    )
    .values(status=PromptStatus.expired, status_reason="not sent before it expired")
    .execution_options(synchronize_session=False)
)


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
        periodic: PeriodicWork | None = None,
    ) -> None:
        self.transport = transport
        self.name = name
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        #: The longest a call to the transport can take, with a margin: a send starts only
        #: while its claim has longer than this to run.
        self.call_bound = call_bound(transport)
        if self.lease <= 2 * self.call_bound:
            raise ValueError(
                f"a lease of {lease_seconds} s is too short for {transport.name}, whose calls "
                f"take up to {transport.call_seconds:g} s: give EAS_DISPATCH_LEASE_SECONDS "
                f"more than {2 * self.call_bound.total_seconds():g}"
            )
        #: Set to stop (SIGTERM): no new claims; calls not yet started are handed back.
        self.stopping = threading.Event()
        # A rate-limited batch must be sent well within its lease.
        self.batch = batch if rate_per_second <= 0 else max(
            1, min(batch, int(rate_per_second * lease_seconds / 2))
        )  # fmt: skip
        self.transmitter = Transmitter(
            transport, clock, stopping=self.stopping, workers=workers,
            rate_per_second=rate_per_second,
        )  # fmt: skip
        self.guard = ClaimGuard(name, clock)
        self.recovery = Recovery(
            transport, self.guard, batch=self.batch, lease=self.lease,
            call_bound=self.call_bound, stopping=self.stopping,
        )  # fmt: skip
        self.reminders = Reminders(self.transmitter, clock, self.batch)
        self.heartbeat = Heartbeat(name, started_at=clock.now())
        #: Other domains' work each tick does (none given: closing lapsed responses, no mail).
        self.periodic = periodic if periodic is not None else PeriodicWork()

    def close(self) -> None:
        self.transmitter.close()

    # the tick ------------------------------------------------------------------------------

    def tick(self) -> TickReport:
        report = TickReport()
        self.heartbeat.tick_started()
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
            self.periodic.with_first_transaction(self.clock.now(), report)
            self.recovery.reconcile(self.clock.now(), report)
            while not self.stopping.is_set():
                claimed = self._claim(self.clock.now())
                if not claimed:
                    break
                self._deliver(claimed, report)  # it commits each outcome as it comes
                self.heartbeat.beat(self.clock.now(), report)  # with the next claim, or the end
                if len(claimed) < self.batch:
                    break
            if not self.stopping.is_set():
                self.reminders.send_due(self.clock.now(), report)
            if not self.stopping.is_set():
                self.periodic.after_sending(self.clock.now(), report)
            self.heartbeat.beat(self.clock.now(), report)
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

    def _claim(self, now: datetime) -> list[ClaimedPrompt]:
        """Claim due prompts and load them in the claim's transaction, which goes on: `_deliver`
        commits it with the messages, before any is sent."""
        ids = (
            core_execute(self._claim_statement, {"now": now, "lease_until": now + self.lease})
            .scalars()
            .all()
        )
        return load_claimed(ids) if ids else []

    def _deliver(self, claimed: list[ClaimedPrompt], report: TickReport) -> None:
        """Send claimed prompts, each outcome committed as its call returns."""
        now = self.clock.now()
        if any(prompt.attempts > 1 for prompt in claimed):
            # A retry may ask the transport about its previous attempt: not while holding the
            # claim's transaction (SQLite's write lock), which is durable by then.
            db.session.commit()
        jobs = []
        for prompt in claimed:
            if prompt.claimed_by != self.name:
                continue
            try:
                if self.recovery.settle_previous_attempt(prompt, report):
                    continue  # an earlier, ambiguous attempt did go out
                link = prompt_link(prompt, now) if prompt.channel.value == "web" else None
                key = f"prompt-{prompt.id}-attempt-{prompt.attempts}"
                jobs.append(self._job(prompt, prompt_text(prompt, link), key, now))
            except Exception as error:  # one bad prompt must not hold up the others
                log.exception("cannot prepare prompt=%s", prompt.id)
                if self.guard.update(
                    prompt.id,
                    status=PromptStatus.failed,
                    status_reason=f"cannot be prepared: {type(error).__name__}"[:200],
                ):
                    report.failed += 1
        # The last look runs after the messages are written, in their transaction (the claim's,
        # as a rule): its commit puts the claims and every message on record before any is sent.
        record(jobs)
        sendable = self.still_sendable([job.prompt.id for job in jobs], self.clock.now())
        db.session.commit()
        cancelled = [
            (job, NotSent("cancelled before it was sent"))
            for job in jobs
            if job.prompt.id not in sendable
        ]
        self._send_all([job for job in jobs if job.prompt.id in sendable], cancelled, report)

    def _job(self, prompt: ClaimedPrompt, body: str, key: str, now: datetime) -> Job:
        """A prompt's job, under its claim as loaded (its message not on record yet:
        `outbox.record` writes a batch's)."""
        lease = Lease(prompt.claim_expires_at or now + self.lease)
        return new_job(prompt, body, key, "prompt", now, lease)

    def _send_all(
        self, jobs: list[Job], results: list[tuple[Job, Outcome]], report: TickReport
    ) -> None:
        """Send the jobs in the pool and record each outcome as its call returns (with
        `results` known already): whatever has returned is recorded and committed together,
        while the rest are still under way. The batch's claims are renewed meanwhile, on
        record before the sending threads may count on them."""
        futures = {self.transmitter.submit(job): job for job in jobs}
        pending = set(futures)
        renew_every = self.lease / 3
        renewed_at = self.clock.now()
        while True:
            if results:
                # Until these commit, the session's writes wait: on SQLite a transport may
                # need the write lock too, so they are short.
                self.guard.record(results, report)
                db.session.commit()
            if not pending:
                return
            done, pending = wait(
                pending, timeout=renew_every.total_seconds(), return_when=FIRST_COMPLETED
            )
            results = [(futures[future], future.result()) for future in done]
            if pending and self.clock.now() - renewed_at >= renew_every:
                renewed_at = self.clock.now()
                self._renew([futures[future] for future in pending])

    def _renew(self, jobs: list[Job]) -> None:
        """Extend the claims of jobs still to be sent or under way (committed first: a sending
        thread never counts on time the database does not grant)."""
        until = self.clock.now() + self.lease
        still_ours = set(
            core_execute(
                self._renew_statement,
                {"ids": [job.prompt.id for job in jobs], "until": until, "me": self.name},
            ).scalars()
        )
        db.session.commit()
        for job in jobs:
            if job.prompt.id in still_ours:  # a prompt cancelled meanwhile keeps its end
                job.lease.until = max(job.lease.until, until)

    @functools.cached_property
    def _renew_statement(self) -> sa.Update:
        return (
            sa.update(PlannedPrompt)
            .where(
                PlannedPrompt.id.in_(sa.bindparam("ids", expanding=True)),
                PlannedPrompt.status == PromptStatus.sending,
                PlannedPrompt.claimed_by == sa.bindparam("me"),
            )
            .values(claim_expires_at=sa.bindparam("until", type_=PlannedPrompt.due_at.type))
            .returning(PlannedPrompt.id)
            .execution_options(synchronize_session=False)
        )

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
