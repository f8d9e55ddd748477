"""The Tallyfy API client: the only code in tallyform that talks to Tallyfy.

:class:`TallyfyClient` sends every request with the headers Tallyfy requires, to the
org-scoped base URL, through the pacer (no 429s at the default settings) and the retry
policy (never repeating a write that could duplicate). Reads page at the API maximum
and run in parallel under a bound. Only :mod:`tallyform.client.errors` exceptions leave it.

Until the API has answered once, a connection that fails is tried only
:data:`FIRST_CONTACT_ATTEMPTS` times: a refused connection or an unknown host at the start
is nearly always a wrong ``api_url`` or an emulator not running, not a blip worth seconds
of backoff. Once the API has answered, the full retry policy applies.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from tallyform import __version__
from tallyform.client.auth import ClientCredentials, Credentials
from tallyform.client.errors import (
    AuthError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    TallyfyError,
    Unavailable,
    ValidationFailed,
)
from tallyform.client.pacing import Pacer
from tallyform.client.redact import masked_body, redact
from tallyform.client.retry import IDEMPOTENT, RetryPolicy, parse_retry_after
from tallyform.parallel import in_parallel

log = logging.getLogger("tallyform.client")

PER_PAGE = 100
LIST_READS = 3  # reads of a list that keeps changing while it is read, before giving up
FIRST_CONTACT_ATTEMPTS = 2
DEFAULT_PARALLELISM = 8
CLIENT_HEADER = "APIClient"


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


Transport = httpx.BaseTransport  # what carries requests: real HTTP, or the emulator in-process
Session = httpx.Client


def http_session(transport: Transport | None = None, timeout: float = 60.0) -> Session:
    """The HTTP session a client and its credentials share (one pool of connections)."""
    http = httpx.Client(transport=transport, timeout=timeout)
    log_bodies(http)
    return http


def _request_body(request: httpx.Request) -> None:
    if request.content and log.isEnabledFor(logging.DEBUG):
        body = masked_body(request.content)
        log.debug("%s %s sends: %s", request.method, request.url.raw_path.decode(), body)


def _response_body(response: httpx.Response) -> None:
    if log.isEnabledFor(logging.DEBUG):
        request = response.request
        body = masked_body(response.read())
        path = request.url.raw_path.decode()
        log.debug("%s %s answered %d: %s", request.method, path, response.status_code, body)


def log_bodies(http: httpx.Client) -> None:
    """With -vv (the DEBUG level), log the body of every request and answer of ``http``,
    secrets masked (:func:`~tallyform.client.redact.masked_body`); once per session."""
    hooks = http.event_hooks
    if _request_body not in hooks["request"]:
        http.event_hooks = {
            "request": [*hooks["request"], _request_body],
            "response": [*hooks["response"], _response_body],
        }


def unwrap(value: Any) -> Any:
    """An include as a plain value: ``{"data": X}`` becomes X (both shapes are accepted)."""
    if isinstance(value, dict) and set(value) == {"data"}:
        return value["data"]
    return value


class TallyfyClient:
    """A client for one organization."""

    def __init__(
        self,
        *,
        org_id: str,
        base_url: str,
        credentials: Credentials,
        org_name: str | None = None,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        parallelism: int = DEFAULT_PARALLELISM,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.org_id = org_id
        self.org_name = org_name or org_id
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.http = http or httpx.Client(transport=transport, timeout=timeout)
        log_bodies(self.http)
        self.pacer = pacer or Pacer(None)
        self.retry = retry or RetryPolicy()
        self.parallelism = max(1, parallelism)
        self.stats = ClientStats()
        self._me: dict[str, Any] | None = None  # GET /me's answer, once it has been asked
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._attempts = threading.local()  # this thread's tries of its latest request
        self._rng_lock = threading.Lock()
        self._command_spent = 0.0  # seconds waited to retry, all requests summed
        self._spent_lock = threading.Lock()
        self._answered = False  # whether the API has answered any request yet
        self._membership: str | None = None  # see _membership_hint
        self._membership_lock = threading.Lock()
        self.rate_limit_headers: dict[str, str] = {}  # the latest X-RateLimit-* seen

    # -- plumbing ---------------------------------------------------------------------

    @staticmethod
    def _headers() -> dict[str, str]:
        return {
            "Accept": "application/json",
            "X-Tallyfy-Client": CLIENT_HEADER,
            "User-Agent": f"tallyform/{__version__}",
        }

    def org_path(self, path: str) -> str:
        return f"/organizations/{self.org_id}{path}"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> TallyfyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _backoff(self, retry: int) -> float:
        with self._rng_lock:
            return self.retry.backoff(retry, self._rng)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._sleep(seconds)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        repeatable: bool | None = None,
        tries: int | None = None,
    ) -> httpx.Response:
        """Send one request (``path`` below the base URL), retrying where that is safe,
        while the retry budget (:mod:`.retry`) lasts, and at most ``tries`` times if given
        (for a request whose failure has a cheaper way forward than waiting).

        Returns the final response for any status below 500 other than 429; raises
        RateLimited, Unavailable or OutcomeUnknown when the budget runs out or a retry
        must not happen.
        """
        # Spaces as %20, never '+', which Tallyfy reads as a plus sign (reference 5.2).
        url = self.base_url + path + (f"?{urlencode(params, quote_via=quote)}" if params else "")
        idempotent = method in IDEMPOTENT if repeatable is None else repeatable
        renewed = False
        spent = _Spent()
        attempt = 0
        while True:
            attempt += 1
            self._attempts.count = attempt
            self.stats.waited_for(self.pacer.acquire(), self.pacer.clock())
            started = time.monotonic()
            try:
                response = self.http.request(
                    method,
                    url,
                    json=json,
                    headers={
                        **self._headers(),
                        "Authorization": f"Bearer {self.credentials.token()}",
                    },
                )
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                spent.tried(started)
                self._log(method, path, params, f"not sent ({type(error).__name__})", started)
                first = not self._answered and attempt >= FIRST_CONTACT_ATTEMPTS
                wait = None if first else self._retry_wait(spent, attempt, tries=tries)
                if wait is None:
                    raise Unavailable(
                        f"cannot connect to {self.base_url}: {redact(str(error))}",
                        method=method,
                        path=path,
                    ) from None
                self._retrying(wait, spent)
                continue
            except httpx.HTTPError as error:
                # Sent, but no answer: a timeout or a dropped connection.
                spent.tried(started)
                self._log(method, path, params, f"no answer ({type(error).__name__})", started)
                if not idempotent:
                    raise OutcomeUnknown(
                        f"no answer ({type(error).__name__}); the change may or may not have been made",
                        method=method,
                        path=path,
                    ) from None
                wait = self._retry_wait(spent, attempt, tries=tries)
                if wait is None:
                    raise Unavailable(
                        f"no answer after {_tries(attempt, spent)} ({type(error).__name__})",
                        method=method,
                        path=path,
                    ) from None
                self._retrying(wait, spent)
                continue
            finally:
                self.stats.count(method)
            spent.tried(started)
            self._log(method, path, params, str(response.status_code), started)
            self._answered = True
            self._note_rate_limit(response.headers)
            status = response.status_code
            asked = parse_retry_after(response.headers.get("retry-after"))
            if status == 429:
                self.stats.add(rate_limited=1)
                wait = self._retry_wait(spent, attempt, asked, tries=tries)
                if wait is None:
                    raise RateLimited(
                        f"still rate-limited after {_tries(attempt, spent)}"
                        + _asked(asked, spent, self.retry),
                        method=method,
                        path=path,
                        status=429,
                    )
                self.pacer.hold(wait)  # every thread waits; this one in pacer.acquire
                spent.waited(wait)
                self._spend(wait)
                self.stats.add(retries=1)
                continue
            if status >= 500:
                if not idempotent:
                    raise OutcomeUnknown(
                        f"server error ({_server_message(response)}); the change may or may not have been made",
                        method=method,
                        path=path,
                        status=status,
                    )
                wait = self._retry_wait(spent, attempt, asked, tries=tries)
                if wait is None:
                    raise Unavailable(
                        f"{_server_message(response).rstrip('.')} (after {_tries(attempt, spent)}"
                        + _asked(asked, spent, self.retry)
                        + ")",
                        method=method,
                        path=path,
                        status=status,
                    )
                self._retrying(wait, spent)
                continue
            if status == 401 and not renewed and self.credentials.renew():
                renewed = True
                continue
            return response

    def _retry_wait(
        self,
        spent: _Spent,
        attempt: int,
        asked: float | None = None,
        tries: int | None = None,
    ) -> float | None:
        """Seconds to wait before trying again, or None when the budget allows no retry:
        the tries cap is reached, the command's budget is spent, or the wait (the answer's
        ``Retry-After``, else the backoff) would end past the request's budget."""
        policy = self.retry
        if policy.attempts is not None and attempt >= policy.attempts:
            return None
        if tries is not None and attempt >= tries:
            return None
        with self._spent_lock:
            command_left = policy.command_budget - self._command_spent
        left = min(policy.budget - spent.seconds, command_left)
        if asked is not None:
            wait = min(asked, policy.max_retry_after)
            return wait if wait <= left else None
        return min(self._backoff(attempt), left) if left > 0 else None

    def _spend(self, seconds: float) -> None:
        with self._spent_lock:
            self._command_spent += seconds

    def _note_rate_limit(self, headers: httpx.Headers) -> None:
        found = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit")}
        if found:
            self.rate_limit_headers = found

    def _retrying(self, wait: float, spent: _Spent | None = None) -> None:
        self.stats.add(retries=1)
        self._spend(wait)
        if spent is not None:
            spent.waited(wait)
        self._wait(wait)

    def _log(
        self, method: str, path: str, params: dict[str, Any] | None, outcome: str, started: float
    ) -> None:
        if log.isEnabledFor(logging.INFO):
            query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
            elapsed = (time.monotonic() - started) * 1000
            log.info(
                "%s %s%s -> %s (%.0f ms)",
                method,
                path,
                f"?{query}" if query else "",
                outcome,
                elapsed,
            )

    def _fail(self, method: str, path: str, response: httpx.Response) -> TallyfyError:
        status = response.status_code
        message = _server_message(response)
        if status in (401, 403):
            advice = self._auth_advice(status, message)
            if status == 403 and path.startswith(self.org_path("")):
                advice += self._membership_hint()
            return AuthError(advice, method=method, path=path, status=status)
        if status == 404:
            return NotFound(message, method=method, path=path, status=status)
        if status in (400, 422):
            errors = _field_errors(response)
            return ValidationFailed(message, errors, method=method, path=path, status=status)
        return TallyfyError(message, method=method, path=path, status=status)

    def _auth_advice(self, status: int, message: str) -> str:
        org = (
            f"org {self.org_id}"
            if self.org_name == self.org_id
            else f"org '{self.org_name}' ({self.org_id})"
        )
        application = isinstance(self.credentials, ClientCredentials)
        message = message.rstrip(".!?")  # Tallyfy's own end in a full stop (or a "!")
        if status == 401:
            advice = (
                "Check the application's client id and secret."
                if application
                else "Personal access tokens last 6 months and end when you log out of the web "
                "app; get a new one under Settings > Integrations > REST API."
            )
            return f"Tallyfy refused the credentials from {self.credentials.source} for {org}: {message}. {advice}"
        hint = (
            " An application may need to act as a member: set `act_as: EMAIL` under the org."
            if application
            else ""
        )
        return f"the credentials from {self.credentials.source} are not allowed to do this in {org}: {message}.{hint}"

    def _membership_hint(self) -> str:
        """After a 403 in the org: the orgs the credentials do belong to, if not this one.

        Asked once per client (``GET /me/organizations``), however many reads were refused.
        """
        with self._membership_lock:
            if self._membership is None:
                self._membership = self._read_membership()
            return self._membership

    def _read_membership(self) -> str:
        try:
            body = self.call("GET", "/me/organizations", params={"per_page": PER_PAGE}, org=False)
        except TallyfyError:
            return ""
        rows = body.get("data") if isinstance(body, dict) else body
        orgs = [row for row in rows or [] if isinstance(row, dict)]
        if not orgs or any(row.get("id") == self.org_id for row in orgs):
            return ""
        names = ", ".join(f"{row.get('name', '?')} ({row.get('id')})" for row in orgs[:5])
        return (
            f" These credentials belong to {names}, not to {self.org_id}: is `org_id:` "
            "right? An org's id is shown in Settings > Organization."
        )

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        org: bool = True,
        repeatable: bool | None = None,
        tries: int | None = None,
    ) -> Any:
        """Send a request and return the parsed body; API errors raise TallyfyError subclasses.

        ``repeatable=False`` marks a request that is unsafe to repeat after a lost answer
        (a PUT that adds kick-off fields); None decides by the method.
        """
        full = self.org_path(path) if org else path
        response = self.request(
            method, full, params=params, json=json, repeatable=repeatable, tries=tries
        )
        if response.status_code >= 300:
            raise self._fail(method, full, response)
        if not response.content:
            return None  # some deletes answer 204 with no body
        try:
            return response.json()
        except ValueError:
            raise TallyfyError(
                "the answer is not JSON", method=method, path=full, status=response.status_code
            ) from None

    # -- reading ------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None, *, org: bool = True) -> Any:
        return unwrap(self.call("GET", path, params=params, org=org))

    def check_credentials(self) -> dict[str, Any]:
        """``GET /me``: who the credentials belong to; a clear AuthError if they do not work.

        A 404 here means ``api_url`` does not lead to the API, which the error says.
        """
        try:
            me: dict[str, Any] = self.get("/me", org=False)
        except NotFound as error:
            raise NotFound(
                f"{error.message}: is `api_url` ({self.base_url}) right? Tallyfy's API is "
                "https://go.tallyfy.com/api; its path ends in /api",
                method=error.method,
                path=error.path,
                status=error.status,
            ) from None
        self._me = me
        return me

    def current_user(self) -> dict[str, Any]:
        """Who the credentials belong to: :meth:`check_credentials`'s answer, asked only
        if this client has not asked already."""
        return self._me if self._me is not None else self.check_credentials()

    def list_all(
        self, path: str, params: dict[str, Any] | None = None, tries: int | None = None
    ) -> list[Any]:
        """Every item of a paginated list: page 1, then the other pages in parallel.

        Rows are kept once by id, in the order first seen, and counted against the total
        that page 1 states: rows that moved between pages while they were read (an edit
        meanwhile reorders a list sorted by last update) can be seen twice or missed, so a
        list found short is read again, a page at a time, up to :data:`LIST_READS` times,
        and what each read found is kept.
        """
        query = {**(params or {}), "per_page": PER_PAGE}
        found: list[Any] = []
        for attempt in range(1, LIST_READS + 1):
            rows, total = self._read_pages(path, query, parallel=attempt == 1, tries=tries)
            found = _unique_by_id(found + rows)  # a row missed by one read shows in another
            if total is None or len(found) >= total:
                return found
            log.info(
                "GET %s: %d of %d rows (the list changed while it was read); reading it again",
                path,
                len(found),
                total,
            )
        raise TallyfyError(
            f"the list changed while it was read {LIST_READS} times ({len(found)} of {total} "
            "rows); run the command again",
            method="GET",
            path=self.org_path(path),
        )

    def _read_pages(
        self, path: str, query: dict[str, Any], parallel: bool, tries: int | None = None
    ) -> tuple[list[Any], int | None]:
        """Every page's rows, and the total page 1 states (None if it states none)."""
        first = self.call("GET", path, params={**query, "page": 1}, tries=tries)
        rows = _rows(first, self.org_path(path))
        meta = first.get("meta") if isinstance(first, dict) else None
        pagination = meta.get("pagination") if isinstance(meta, dict) else None
        pages, total = _pages_and_total(pagination, self.org_path(path))

        def page(number: int) -> list[Any]:
            body = self.call("GET", path, params={**query, "page": number}, tries=tries)
            return _rows(body, self.org_path(path))

        numbers = range(2, pages + 1)
        rest = in_parallel(page, numbers, self.parallelism if parallel else 1)
        for found in rest:
            rows.extend(found)
        return rows, total

    def form_post_status(self, url: str, form: dict[str, str]) -> int | None:
        """The status a form POST to an absolute ``url`` outside the org answers (None: no
        answer), unpaced and never retried: for asking whether an endpoint is there."""
        try:
            return self.http.post(url, data=form, headers=self._headers()).status_code
        except httpx.HTTPError:
            return None

    # -- writing ------------------------------------------------------------------------

    def put(self, path: str, body: Any) -> Any:
        return unwrap(self.call("PUT", path, json=body))

    def delete(self, path: str) -> None:
        """Delete (or archive); a 404 after a retried attempt means it is already gone."""
        try:
            self.call("DELETE", path)
        except NotFound:
            if self._attempts.count <= 1:
                raise

    def create(
        self,
        path: str,
        body: Any,
        lookup: Callable[[], Any | None] | None = None,
        method: str = "POST",
    ) -> Any:
        """Send a request that creates something, never twice.

        Usually a POST; a template PUT that adds kick-off fields creates too. If the
        outcome is unknown (no answer, or a 5xx), ``lookup`` is asked whether the object
        exists after all; only when it does not is the request sent again.
        """
        spent = _Spent()
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                return unwrap(self.call(method, path, json=body, repeatable=False))
            except OutcomeUnknown:
                spent.tried(started)
                wait = None if lookup is None else self._retry_wait(spent, attempt)
                if wait is None or lookup is None:
                    raise
                self._retrying(wait, spent)
                started = time.monotonic()
                found = lookup()
                spent.tried(started)
                if found is not None:
                    log.info(
                        "POST %s: no answer, but the object exists; not sending it again", path
                    )
                    return found


class _Spent:
    """The time one request has taken: its tries (measured) and the waits between them
    (as decided, so that a test's fake sleep counts as the time it stands for)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def tried(self, started: float) -> None:
        self.seconds += time.monotonic() - started

    def waited(self, seconds: float) -> None:
        self.seconds += seconds


def _tries(attempt: int, spent: _Spent) -> str:
    tries = f"{attempt} tr{'ies' if attempt != 1 else 'y'}"
    return f"{tries} in {spent.seconds:.0f} s" if spent.seconds >= 1 else tries


def _asked(asked: float | None, spent: _Spent, policy: RetryPolicy) -> str:
    """What a give-up message adds when the answer asked for a wait that did not fit."""
    if asked is None or asked + spent.seconds <= policy.budget:
        return ""
    return (
        f"; Tallyfy asks to wait {asked:.0f} s more, past the retry budget of {policy.budget:.0f} s"
    )


def _rows(body: Any, path: str) -> list[Any]:
    """The rows of a list page: ``data`` of the envelope (or a bare list), each a mapping."""
    rows = body.get("data") if isinstance(body, dict) else body
    if rows is None:
        return []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise TallyfyError(
            "the answer is not a list of objects (expected `data: [{...}, ...]`)",
            method="GET",
            path=path,
        )
    return list(rows)


def _pages_and_total(pagination: Any, path: str) -> tuple[int, int | None]:
    """The page count and row total of ``meta.pagination`` (1 and None when absent)."""
    if not isinstance(pagination, dict):
        return 1, None
    try:
        pages = int(pagination.get("total_pages") or 1)
        total = pagination.get("total")
        return max(pages, 1), None if total is None else int(total)
    except (TypeError, ValueError):
        raise TallyfyError(
            "the answer's meta.pagination has a total or page count that is not a number",
            method="GET",
            path=path,
        ) from None


def _unique_by_id(rows: list[Any]) -> list[Any]:
    """Rows in order, each id once (rows without an id are all kept)."""
    seen: set[str] = set()
    unique = []
    for row in rows:
        row_id = row.get("id") if isinstance(row, dict) else None
        if row_id is not None:
            if str(row_id) in seen:
                continue
            seen.add(str(row_id))
        unique.append(row)
    return unique


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return redact(response.reason_phrase or f"HTTP {response.status_code}")
    message: Any = None
    if isinstance(body, dict):
        message = body.get("message")
        error = body.get("error")
        if message is None and isinstance(error, dict):
            message = error.get("message")
        if message is None and isinstance(error, str):
            message = error
    return redact(str(message or response.reason_phrase or f"HTTP {response.status_code}"))


def _field_errors(response: httpx.Response) -> dict[str, list[str]]:
    try:
        errors = response.json().get("errors")
    except (ValueError, AttributeError):
        return {}
    if not isinstance(errors, dict):
        return {}
    return {
        str(k): [redact(str(m)) for m in (v if isinstance(v, list) else [v])]
        for k, v in errors.items()
    }
