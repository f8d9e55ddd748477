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

Until the API has answered once, a connection that fails is tried only
:data:`FIRST_CONTACT_ATTEMPTS` times: a refused connection or an unknown host at the start
is nearly always a wrong ``api_url`` or an emulator not running, not a blip worth seconds
of backoff. Once the API has answered, the full policy applies.

:class:`Retrying` is the layer that carries this out around one try of a request (the
layer below paces and sends it); :class:`Tally` is the request's ledger of tries and time,
shared with the layers around it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from tallyform.client.errors import ExchangeFailed, OutcomeUnknown, RateLimited, Unavailable
from tallyform.client.failures import server_message
from tallyform.client.redact import redact

if TYPE_CHECKING:
    from tallyform.client.exchange import Reply
    from tallyform.client.stats import ClientStats

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
FIRST_CONTACT_ATTEMPTS = 2


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


class Tally:
    """One request's ledger: the times it was sent, and the time it has taken (its tries
    as measured, the waits between them as decided, so that a test's fake sleep counts as
    the time it stands for)."""

    def __init__(self) -> None:
        self.tries = 0
        self.seconds = 0.0

    def took(self, started: float) -> None:
        """Count the time since ``started`` (``time.monotonic``)."""
        self.seconds += time.monotonic() - started

    def waited(self, seconds: float) -> None:
        self.seconds += seconds

    def __str__(self) -> str:
        tries = f"{self.tries} tr{'ies' if self.tries != 1 else 'y'}"
        return f"{tries} in {self.seconds:.0f} s" if self.seconds >= 1 else tries


@dataclass(frozen=True)
class Request:
    """What the retry layer knows of the request it tries again: its method and path (for
    errors), whether it is safe to send again after a lost answer, and a cap on tries."""

    method: str
    path: str
    repeatable: bool
    tries: int | None = None


class Retrying:
    """The retry layer: which failures are tried again, after how long, and when to stop.

    Shared by the threads of one client: the command's budget is spent by all of them.
    ``hold`` stops every request for a 429's wait (the pacer's hold); any other wait is
    slept by the retrying thread alone.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        stats: ClientStats,
        *,
        target: str,
        hold: Callable[[float], None],
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.policy = policy
        self.answered = False  # whether the API has answered any request yet
        self._stats = stats
        self._target = target  # where requests go, for "cannot connect to ..."
        self._hold = hold
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()
        self._command_spent = 0.0  # seconds waited to retry, all requests summed
        self._spent_lock = threading.Lock()

    def send(self, attempt: Callable[[], Reply], request: Request, tally: Tally) -> Reply:
        """``attempt`` (one paced try, which counts itself in ``tally``) until it answers
        with anything but a 429 or a 5xx, while the budget lasts. Raises RateLimited,
        Unavailable or OutcomeUnknown when the budget runs out or a retry must not happen."""
        while True:
            try:
                reply = attempt()
            except ExchangeFailed as failed:
                self._after_no_answer(failed, request, tally)
                continue
            self.answered = True
            if reply.status == 429:
                self._after_rate_limit(reply, request, tally)
            elif reply.status >= 500:
                self._after_server_error(reply, request, tally)
            else:
                return reply

    def _after_no_answer(self, failed: ExchangeFailed, request: Request, tally: Tally) -> None:
        if not failed.sent:  # nothing reached the server: safe to send again, any method
            first = not self.answered and tally.tries >= FIRST_CONTACT_ATTEMPTS
            wait = None if first else self.wait_before(tally, tries=request.tries)
            if wait is None:
                raise Unavailable(
                    f"cannot connect to {self._target} (tried {_times(tally.tries)}): "
                    f"{redact(failed.message)}; nothing answers there: is the address "
                    "(the org's api_url) right, and the server (or `tallyform emulator "
                    "serve`) running?",
                    method=request.method,
                    path=request.path,
                )
        else:
            if not request.repeatable:
                raise OutcomeUnknown(
                    f"no answer ({failed.kind}); the change may or may not have been made",
                    method=request.method,
                    path=request.path,
                )
            wait = self.wait_before(tally, tries=request.tries)
            if wait is None:
                raise Unavailable(
                    f"no answer after {tally} ({failed.kind})",
                    method=request.method,
                    path=request.path,
                )
        self.pause(wait, tally)

    def _after_rate_limit(self, reply: Reply, request: Request, tally: Tally) -> None:
        self._stats.add(rate_limited=1)
        asked = parse_retry_after(reply.headers.get("retry-after"))
        wait = self.wait_before(tally, asked, tries=request.tries)
        if wait is None:
            raise RateLimited(
                f"still rate-limited after {tally}" + self._past_budget(asked, tally),
                method=request.method,
                path=request.path,
                status=429,
            )
        self._hold(wait)  # every thread waits; this one in the pacer, before its next try
        tally.waited(wait)
        self._spend(wait)
        self._stats.add(retries=1)

    def _after_server_error(self, reply: Reply, request: Request, tally: Tally) -> None:
        if not request.repeatable:
            raise OutcomeUnknown(
                f"server error ({server_message(reply)}); the change may or may not have been made",
                method=request.method,
                path=request.path,
                status=reply.status,
            )
        asked = parse_retry_after(reply.headers.get("retry-after"))
        wait = self.wait_before(tally, asked, tries=request.tries)
        if wait is None:
            raise Unavailable(
                f"{server_message(reply).rstrip('.')} (after {tally}"
                + self._past_budget(asked, tally)
                + ")",
                method=request.method,
                path=request.path,
                status=reply.status,
            )
        self.pause(wait, tally)

    def wait_before(
        self, tally: Tally, asked: float | None = None, tries: int | None = None
    ) -> float | None:
        """Seconds to wait before trying again, or None when the budget allows no retry:
        the tries cap is reached, the command's budget is spent, or the wait (the answer's
        ``Retry-After``, else the backoff) would end past the request's budget."""
        policy = self.policy
        if policy.attempts is not None and tally.tries >= policy.attempts:
            return None
        if tries is not None and tally.tries >= tries:
            return None
        with self._spent_lock:
            command_left = policy.command_budget - self._command_spent
        left = min(policy.budget - tally.seconds, command_left)
        if asked is not None:
            wait = min(asked, policy.max_retry_after)
            return wait if wait <= left else None
        if left <= 0:
            return None
        with self._rng_lock:
            return min(policy.backoff(tally.tries, self._rng), left)

    def pause(self, wait: float, tally: Tally) -> None:
        """Wait ``wait`` seconds before a retry, counting them against both budgets."""
        self._stats.add(retries=1)
        self._spend(wait)
        tally.waited(wait)
        if wait > 0:
            self._sleep(wait)

    def _spend(self, seconds: float) -> None:
        with self._spent_lock:
            self._command_spent += seconds

    def _past_budget(self, asked: float | None, tally: Tally) -> str:
        """What a give-up message adds when the answer asked for a wait that did not fit."""
        if asked is None or asked + tally.seconds <= self.policy.budget:
            return ""
        return (
            f"; Tallyfy asks to wait {asked:.0f} s more, past the retry budget of "
            f"{self.policy.budget:.0f} s"
        )


def _times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"
