"""Calls to the transport: each made only while its claim has longer to run than the call can
take and its window is open, none once the dispatcher is stopping, at most the configured rate,
in a pool of sending threads (or, `workers=0`, in the ticking thread).

It knows nothing of the database: what a call's outcome means for its prompt is the claim
guard's (`guard`), and the tick records it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import TypeVar

from eas.core.clock import Clock
from eas.delivery.channels import NotSent, SendError, SendReceipt, Transport
from eas.delivery.outbox import Job
from eas.delivery.ratelimit import RateLimiter

Outcome = SendReceipt | SendError | NotSent
T = TypeVar("T")

#: Time a call is given beyond the transport's own bound: clocks of dispatchers on other
#: hosts differ, and a thread may start late.
CALL_MARGIN = timedelta(seconds=1)


def call_bound(transport: Transport) -> timedelta:
    """The longest a call to the transport can take, with a margin: a send starts only while
    its claim has longer than this to run."""
    return timedelta(seconds=transport.call_seconds) + CALL_MARGIN


class _InThisThread:
    """`workers=0`: sends one after another in the ticking thread (the study simulator, whose
    provider answers at once in virtual time, has nothing to wait for in parallel)."""

    def map(self, function, items):
        return map(function, items)

    def submit(self, function, *args) -> Future:
        future: Future = Future()
        try:
            future.set_result(function(*args))
        except Exception as error:
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True) -> None:
        pass


class Transmitter:
    """The dispatcher's calls to its transport, for prompts and reminders alike."""

    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        *,
        stopping: threading.Event,
        workers: int = 32,
        rate_per_second: float = 0,
    ) -> None:
        self.transport = transport
        self.clock = clock
        #: The dispatcher's: once set, no call starts (the job is handed back).
        self.stopping = stopping
        self.call_bound = call_bound(transport)
        self.limiter = RateLimiter(rate_per_second)
        self.pool = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="eas-send")
            if workers > 0
            else _InThisThread()
        )

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def submit(self, job: Job) -> Future[Outcome]:
        """`send` in the pool (in this thread with `workers=0`)."""
        return self.pool.submit(self.send, job)

    def map(self, function: Callable[[Job], T], jobs: Iterable[Job]) -> list[T]:
        """`function` (which sends, or decides not to) over `jobs` in the pool, in their order."""
        return list(self.pool.map(function, jobs))

    def send(self, job: Job) -> Outcome:
        """One call, if it may be made now; never raises."""
        self.limiter.acquire()
        if self.stopping.is_set():
            return NotSent("the dispatcher stopped before sending it", hand_back=True)
        now = self.clock.now()
        if now >= job.expires_at:
            return NotSent("its window closed before it could be sent", expired=True)
        if now + self.call_bound >= job.lease.until:
            # Another dispatcher could take the prompt over before the call returns.
            return NotSent("its claim would run out during the call", hand_back=True)
        validity = int((job.expires_at - now).total_seconds())
        try:
            return self.transport.send(replace(job.outbound, validity_seconds=max(1, validity)))
        except SendError as error:
            return error
        except Exception as error:  # a timeout or a dropped connection: it may have gone out
            return SendError(f"{type(error).__name__}: {error}", retryable=True, ambiguous=True)
