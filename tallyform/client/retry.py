"""When and how long to wait before trying a request again, and when to stop.

- 429: any method is repeated, after ``Retry-After`` (seconds or an HTTP date, capped).
- 5xx, timeouts and dropped connections: repeated only for methods that cannot duplicate
  anything (GET, PUT, DELETE; a PUT replaces, a DELETE of a deleted object is a 404).
  A POST that may have reached the server is never repeated blindly (creates look the
  object up first: ``TallyfyClient.create``). A 5xx's ``Retry-After`` is honoured too.
- A connection that could not be opened sent nothing, so it is repeated for any method.

The budget is time, not a count of tries: a request is tried again while the time it has
taken (its tries and the waits between them) stays within :attr:`RetryPolicy.budget`,
and while the whole command's waits to retry stay within :attr:`RetryPolicy.command_budget`
(so an outage ends a command in minutes, not a request's budget times its requests). A
``Retry-After`` longer than what is left of the budget ends the request at once, naming
the wait. ``attempts`` may cap the tries as well (tests do).

Backoff is exponential with jitter, capped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    budget: float = 120.0  # seconds one request may take, its retries and waits included
    command_budget: float = 900.0  # seconds a command may wait to retry, all requests summed
    attempts: int | None = None  # a cap on tries, the first included (None: time alone)
    base: float = 0.5  # seconds before the first retry
    cap: float = 15.0  # longest backoff
    jitter: float = 0.5  # +/- share of each backoff
    max_retry_after: float = 120.0  # longest wait a Retry-After may impose

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        delay = min(self.cap, self.base * 2 ** (retry - 1))
        return max(0.0, float(delay * (1 + rng.uniform(-self.jitter, self.jitter))))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
