"""When and how long to wait before trying a request again.

- 429: any method is repeated, after ``Retry-After`` (seconds or an HTTP date, capped).
- 5xx, timeouts and dropped connections: repeated only for methods that cannot duplicate
  anything (GET, PUT, DELETE; a PUT replaces, a DELETE of a deleted object is a 404).
  A POST that may have reached the server is never repeated blindly.
- A connection that could not be opened sent nothing, so it is repeated for any method.

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
    attempts: int = 5  # tries in all, the first included
    base: float = 0.5  # seconds before the first retry
    cap: float = 8.0  # longest backoff
    jitter: float = 0.2  # +/- share of each backoff
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
