"""Rate limiting like Tallyfy's, and seeded, reproducible fault injection.

The rate limit is a rolling window per token (Tallyfy: 600 requests a minute per user,
reference 5.4); past it the answer is 429 with ``Retry-After`` in whole seconds and
``X-RateLimit-Limit``/``X-RateLimit-Remaining``.

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
            moment = self.clock()
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= moment - self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return False, 0, seen[0] + self.window - moment
            seen.append(moment)
            return True, self.limit - len(seen), 0.0


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
