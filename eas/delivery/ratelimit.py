"""A token bucket: at most `rate` sends per second per sender, in bursts of at most `burst`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = float(burst or max(1, int(rate)))
        self.tokens = self.capacity
        self.monotonic, self.sleep = monotonic, sleep
        self.updated = monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        """Wait until a send is allowed. A rate of 0 means unlimited."""
        if self.rate <= 0:
            return
        while True:
            with self.lock:
                now = self.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1 - 1e-9:  # float sums of small waits fall just short
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            self.sleep(wait)
