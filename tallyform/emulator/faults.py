"""Rate limiting like Tallyfy's, and seeded, reproducible fault injection.

The rate limit is a rolling window per token (Tallyfy: 600 requests a minute per user,
reference 5.4); past it the answer is 429 with ``Retry-After`` in whole seconds and
``X-RateLimit-Limit``/``X-RateLimit-Remaining``. The ``low_rate_limit`` quirk adds
:data:`ORG_LIMITS`, windows the whole organization shares (an older Tallyfy page: 100 a
minute and 1,000 an hour per organization; a burst throttle, its number a guess); a
request must fit every window, and is counted in each only when it does.

Faults are drawn from one seeded random stream, so a run with the same seed and the same
requests in the same order meets the same faults. Kinds:

- ``error``: a 503 before the request is handled (nothing changed);
- ``error_after``: the request is handled, then a 500 is returned (the change happened);
- ``drop``: the connection is closed before handling (nothing changed);
- ``drop_after``: the request is handled, then the connection is closed unanswered;
- ``burst``: this and the next few requests get 429 with ``Retry-After: 1``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

FAULT_KINDS = ("error", "error_after", "drop", "drop_after", "burst")


@dataclass(frozen=True)
class FaultSettings:
    fail_rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = FAULT_KINDS
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(sorted(unknown))}")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")


class FaultInjector:
    """Draws the fault (or none) for each request, reproducibly from the seed."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._random = random.Random(settings.seed)
        self._burst_left = 0
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        with self._lock:
            if self._burst_left > 0:
                self._burst_left -= 1
                return "burst"
            if not self.settings.kinds or self._random.random() >= self.settings.fail_rate:
                return None
            kind = self._random.choice(self.settings.kinds)
            if kind == "burst":
                self._burst_left = self._random.randint(1, 4)
            return kind


class RateLimiter:
    """A rolling-window request budget per key (a token)."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str) -> tuple[bool, int, float]:
        """(admitted, remaining, retry_after seconds) for one more request by ``key``."""
        with self._lock:
            wait = self.wait(key)
            if wait > 0:
                return False, 0, wait
            return True, self.take(key), 0.0

    def wait(self, key: str) -> float:
        """How long until ``key`` may send one more request (0: now); counts nothing."""
        moment = self.clock()
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= moment - self.window:
            seen.popleft()
        return seen[0] + self.window - moment if len(seen) >= self.limit else 0.0

    def take(self, key: str) -> int:
        """Count one request by ``key`` now; how many more its window then allows."""
        seen = self._seen.setdefault(key, deque())
        seen.append(self.clock())
        return self.limit - len(seen)


@dataclass(frozen=True)
class Budget:
    """A rolling window: ``limit`` requests in ``window`` seconds, per token or per org;
    ``reported``: every answer carries its ``X-RateLimit-Limit`` and ``-Remaining``."""

    limit: int
    window: float
    per: Literal["token", "org"] = "org"
    reported: bool = False


#: ``low_rate_limit``: a burst throttle, the minute's limit (reported) and the hourly cap,
#: shared by the whole organization.
ORG_LIMITS = (
    Budget(10, 1.0),
    Budget(100, 60.0, reported=True),
    Budget(1000, 3600.0),
)


@dataclass(frozen=True)
class Verdict:
    """What :meth:`Limits.admit` says: the budget that refused (None: admitted), how long
    to wait, and the headers the answer carries."""

    refused_by: Budget | None
    wait: float
    headers: dict[str, str]


class Limits:
    """Several windows at once: a request is admitted, and counted in each, only when it
    fits all of them."""

    def __init__(
        self, budgets: tuple[Budget, ...], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._windows = [(b, RateLimiter(b.limit, b.window, clock)) for b in budgets]
        self._lock = threading.Lock()

    def admit(self, token: str, org: str) -> Verdict:
        keyed = [(b, w, token if b.per == "token" else org) for b, w in self._windows]
        with self._lock:
            for budget, window, key in keyed:
                wait = window.wait(key)
                if wait > 0:
                    return Verdict(budget, wait, {"X-RateLimit-Limit": str(budget.limit)})
            headers: dict[str, str] = {}
            for budget, window, key in keyed:
                remaining = window.take(key)
                if budget.reported:
                    headers["X-RateLimit-Limit"] = str(budget.limit)
                    headers["X-RateLimit-Remaining"] = str(remaining)
        return Verdict(None, 0.0, headers)


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
