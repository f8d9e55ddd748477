"""Pacing requests under an organization's rate limit instead of running into it.

A token bucket per organization: ``burst`` requests may go at once, then requests are
spaced so that no rolling minute holds more than ``per_minute`` (Tallyfy: 600 a minute
per user, reference 5.4). Each command starts with a full bucket and cannot see what the
commands before it sent, so the numbers are chosen for three commands within one minute
(a plan, its apply, a plan to check): the bucket refills at 93% of the limit (558 a
minute) and holds 14 requests, and 3 x 14 + 558 = 600. Fourteen lets most of a plan's
requests go without waiting (a plan of 1,000 templates makes 17). When the API still
answers 429, :meth:`Pacer.hold` stops every thread until ``Retry-After`` has passed.
Time spent waiting is counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SAFETY = 0.93
DEFAULT_BURST = 14


class Pacer:
    def __init__(
        self,
        per_minute: float | None,
        *,
        burst: int = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = per_minute * SAFETY / 60.0 if per_minute else None
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0
        self._tokens = float(burst)
        self._stamp = clock()
        self._held_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until one more request may go; return the seconds waited."""
        with self._lock:
            now = self.clock()
            wait = max(0.0, self._held_until - now)
            if self.rate is not None:
                self._tokens = min(
                    float(self.burst), self._tokens + (now - self._stamp) * self.rate
                )
                self._stamp = now
                self._tokens -= 1.0  # reserve a slot, even one in the future
                if self._tokens < 0:
                    wait = max(wait, -self._tokens / self.rate)
            self.waited += wait
        if wait > 0:
            self.sleep(wait)
        return wait

    def hold(self, seconds: float) -> None:
        """Nobody sends for ``seconds`` (after a 429's Retry-After)."""
        with self._lock:
            self._held_until = max(self._held_until, self.clock() + seconds)
