"""Pacing requests under an organization's rate limit instead of running into it.

A token bucket per organization: ``burst`` requests may go at once, then requests are
spaced so that no rolling minute holds more than ``per_minute`` (Tallyfy: 600 a minute
per user, reference 5.4). The bucket refills at 93% of the limit (558 a minute) and holds
14 requests: fourteen lets most of a plan's requests go without waiting (a plan of 1,000
templates makes 17). When the API still answers 429, :meth:`Pacer.hold` stops every
thread until ``Retry-After`` has passed. Time spent waiting is counted.

**Shared by the processes of one machine.** Given a ``shared`` file, the bucket lives in
it (JSON: tokens, when they were counted, until when the org is held after a 429, on the
wall clock), read and written under an exclusive ``flock`` for each request, so that a
plan, its apply and a plan to check, or several CI jobs on one runner, draw on one budget
per org instead of each starting with a full bucket. The CLI keeps one file per org id
under the user's cache folder (``$XDG_CACHE_HOME/tallyform/pacing/``, by default
``~/.cache/tallyform/pacing/``). Where the file cannot be used (no ``fcntl``, a read-only
home, a file that is not the bucket's), the bucket is this process's alone, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: each process paces alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("tallyform.client")

SAFETY = 0.93
DEFAULT_BURST = 14
MOST_BYTES = 4096  # a bucket file is a few dozen bytes; more is not one


class Pacer:
    def __init__(
        self,
        per_minute: float | None,
        *,
        burst: int = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        shared: Path | None = None,
    ) -> None:
        """``shared``: the file that holds the bucket for every process of this machine
        (``clock`` must then be the wall clock, which processes share: ``time.time``)."""
        self.rate = per_minute * SAFETY / 60.0 if per_minute else None
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0
        self.shared = shared if fcntl is not None else None
        self._tokens = float(burst)
        self._stamp = clock()
        self._held_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until one more request may go; return the seconds waited."""
        with self._lock, self._bucket():
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
        with self._lock, self._bucket():
            self._held_until = max(self._held_until, self.clock() + seconds)

    @contextmanager
    def _bucket(self) -> Iterator[None]:
        """The shared bucket, loaded into this pacer for the block and saved after it
        (nothing, without a shared file)."""
        if self.shared is None or self.rate is None:
            yield
            return
        try:
            handle = _open(self.shared)
        except OSError as error:
            log.info("pacing alone: the shared bucket %s cannot be used (%s)", self.shared, error)
            self.shared = None
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
            self._load(handle.read(MOST_BYTES))
            yield
            handle.seek(0)
            handle.truncate()
            handle.write(
                json.dumps(
                    {"tokens": self._tokens, "stamp": self._stamp, "held_until": self._held_until}
                )
            )

    def _load(self, text: str) -> None:
        """Take the bucket's state from the file (kept as it is, if the file holds none)."""
        try:
            found: Any = json.loads(text) if text else None
            tokens, stamp, held = (float(found[k]) for k in ("tokens", "stamp", "held_until"))
        except (ValueError, TypeError, KeyError):
            return  # a new or damaged file: this process's bucket is written to it
        now = self.clock()
        if stamp > now + 60:  # from a clock far ahead: not to be trusted
            return
        self._tokens, self._stamp, self._held_until = min(tokens, float(self.burst)), stamp, held


def _open(path: Path) -> TextIO:
    """The bucket file, made (with its folder) if need be; a regular file only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags, 0o600)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise OSError(f"{path} is not a regular file")
    return os.fdopen(descriptor, "r+", encoding="utf-8")


def shared_bucket(org_id: str, api_url: str, env: Mapping[str, str] | None = None) -> Path:
    """The file that holds the pacing bucket of ``org_id`` at ``api_url`` for every process
    of this machine."""
    env = os.environ if env is None else env
    cache = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    safe = "".join(c for c in org_id if c.isalnum() or c in "-_")[:64] or "org"
    where = hashlib.sha256(api_url.rstrip("/").encode()).hexdigest()[:12]
    return Path(cache) / "tallyform" / "pacing" / f"{safe}-{where}.json"
