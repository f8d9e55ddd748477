"""What a client did, counted for the summary and the benchmarks: requests by method,
retries, 429s met, and the time requests were held back by the rate limit."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

SPANS_KEPT = 4096  # wait spans noted before they are merged


@dataclass
class ClientStats:
    """What the client did: requests sent, retries, 429s met and time held back by the rate limit.

    ``waited`` is wall-clock time during which at least one request was held back by the
    rate limit (pacing, or a 429's Retry-After): workers waiting side by side count once,
    so it never exceeds the time the run took. ``waits`` counts the requests held back
    and ``longest_wait`` is the longest single wait.
    """

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waits: int = 0
    longest_wait: float = 0.0
    by_method: dict[str, int] = field(default_factory=dict)
    _spans: list[tuple[float, float]] = field(default_factory=list, repr=False)
    _folded: float = field(default=0.0, repr=False)  # seconds of spans no longer kept
    _folded_until: float = field(default=float("-inf"), repr=False)  # where they end
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def waited_for(self, seconds: float, ended: float) -> None:
        """Note a wait of ``seconds`` that ended at ``ended`` (on the pacer's clock)."""
        if seconds <= 0:
            return
        with self._lock:
            self.waits += 1
            self.longest_wait = max(self.longest_wait, seconds)
            start = max(ended - seconds, self._folded_until)
            if start < ended:
                self._spans.append((start, ended))
            if len(self._spans) > SPANS_KEPT:  # fold the older half into a sum
                merged = _merged(self._spans)
                old, self._spans = merged[: -SPANS_KEPT // 2], merged[-SPANS_KEPT // 2 :]
                if old:
                    self._folded += sum(end - begin for begin, end in old)
                    self._folded_until = old[-1][1]

    @property
    def waited(self) -> float:
        """Seconds of wall-clock time during which any request waited for the rate limit."""
        with self._lock:
            spans = _merged(self._spans)
            return self._folded + sum(end - start for start, end in spans)

    def count(self, method: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_method[method] = self.by_method.get(method, 0) + 1

    def add(self, **amounts: float) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.by_method.items() if m != "GET")


def _merged(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The union of time spans, as disjoint spans in order."""
    union: list[tuple[float, float]] = []
    for start, end in sorted(spans):
        if union and start <= union[-1][1]:
            union[-1] = (union[-1][0], max(union[-1][1], end))
        else:
            union.append((start, end))
    return union
