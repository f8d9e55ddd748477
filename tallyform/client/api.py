"""The Tallyfy API client: the only code in tallyform that talks to Tallyfy.

:class:`TallyfyClient` sends every request with the headers Tallyfy requires, to the
org-scoped base URL. A request goes down through layers, each owning one thing:

- the auth flow (:func:`~tallyform.client.auth.send_renewing`): a 401 renews the token once;
- the retry layer (:class:`~tallyform.client.retry.Retrying`): what is tried again, after
  how long, within which budget, never repeating a write that could duplicate;
- one try (:meth:`TallyfyClient._send_once`): paced under the rate limit
  (:mod:`.pacing`), sent with the token of the moment, counted and logged;
- one exchange (:class:`~tallyform.client.exchange.Session`), the only user of httpx.

Reads page at the API maximum. Only :mod:`tallyform.client.errors` exceptions leave it,
and no httpx type: answers are :class:`~tallyform.client.exchange.Reply` or JSON values
(:mod:`.shapes`). The client is safe to share between threads and runs nothing in
parallel of its own accord: how many requests may be under way at once is the engine's
choice, which it passes to each read that can go side by side (a list's pages:
:meth:`TallyfyClient.list_all`'s ``workers``) and runs its own work with
(:func:`tallyform.parallel.in_parallel`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

from tallyform import __version__
from tallyform.client.auth import Credentials, CredentialsOver, send_renewing
from tallyform.client.errors import (
    ExchangeFailed,
    NotFound,
    OutcomeUnknown,
    TallyfyError,
    UnexpectedAnswer,
)
from tallyform.client.exchange import Reply, Transport, http_session
from tallyform.client.failures import credentials_refused, refusal
from tallyform.client.pacing import Pacer
from tallyform.client.pages import PER_PAGE, read_list
from tallyform.client.retry import IDEMPOTENT, Request, Retrying, RetryPolicy, Tally
from tallyform.client.shapes import (
    RATE_LIMIT_HEADERS,
    CurrentUser,
    Json,
    JsonBody,
    RateLimitHeaders,
    Record,
)
from tallyform.client.stats import ClientStats

log = logging.getLogger("tallyform.client")

CLIENT_HEADER = "APIClient"
Params = Mapping[str, object]  # a query: each value is sent as its str()


def unwrap(value: Any) -> Any:
    """An include as a plain value: ``{"data": X}`` becomes X (both shapes are accepted)."""
    if isinstance(value, dict) and set(value) == {"data"}:
        return value["data"]
    return value


class TallyfyClient:
    """A client for one organization.

    ``transport`` carries its requests (the emulator's in tests; real HTTP by default),
    over one session of connections. ``credentials`` that fetch their token over HTTP (an
    application's) may be given as a function of that session, to share its connections:
    :data:`~tallyform.client.auth.CredentialsOver`.
    """

    def __init__(
        self,
        *,
        org_id: str,
        base_url: str,
        credentials: Credentials | CredentialsOver,
        org_name: str | None = None,
        transport: Transport | None = None,
        pacer: Pacer | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        seed: int | None = None,
    ) -> None:
        self.org_id = org_id
        self.org_name = org_name or org_id
        self.base_url = base_url.rstrip("/")
        self.session = http_session(transport, timeout)
        self.credentials = self._made_over_session(credentials)
        self.pacer = pacer or Pacer(None)
        self.stats = ClientStats()
        self.retrying = Retrying(
            retry or RetryPolicy(),
            self.stats,
            target=self.base_url,
            hold=self.pacer.hold,
            sleep=sleep,
            seed=seed,
        )
        self.rate_limit_headers: RateLimitHeaders = {}  # the latest X-RateLimit-* seen
        self._me: CurrentUser | None = None  # GET /me's answer, once it has been asked
        self._tries = threading.local()  # this thread's tries of its latest request
        self._membership: str | None = None  # see _membership_hint
        self._membership_lock = threading.Lock()

    def _made_over_session(self, credentials: Credentials | CredentialsOver) -> Credentials:
        """``credentials``, made over this client's session if given as a function of it;
        the session is closed if making them fails (a variable missing, say)."""
        if not callable(credentials):
            return credentials
        try:
            return credentials(self.session)
        except BaseException:
            self.session.close()
            raise

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
        self.session.close()

    def __enter__(self) -> TallyfyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: JsonBody = None,
        repeatable: bool | None = None,
        tries: int | None = None,
    ) -> Reply:
        """Send one request (``path`` below the base URL) through the layers: the auth
        flow, then retries where they are safe, while the retry budget (:mod:`.retry`)
        lasts, and at most ``tries`` times if given (for a request whose failure has a
        cheaper way forward than waiting).

        Returns the final answer for any status below 500 other than 429; raises
        RateLimited, Unavailable or OutcomeUnknown when the budget runs out or a retry
        must not happen.
        """
        # Spaces as %20, never '+', which Tallyfy reads as a plus sign (reference 5.2).
        url = self.base_url + path + (f"?{urlencode(params, quote_via=quote)}" if params else "")
        repeatable = method in IDEMPOTENT if repeatable is None else repeatable
        retried = Request(method, path, repeatable, tries)
        tally = Tally()  # this request's tries and time, kept by every layer
        shown = _query(path, params)

        def one_try() -> Reply:
            return self._send_once(method, url, json, tally, shown)

        def tries_while_the_budget_lasts() -> Reply:
            return self.retrying.send(one_try, retried, tally)

        try:
            return send_renewing(self.credentials, tries_while_the_budget_lasts)
        finally:
            self._tries.count = tally.tries

    def _send_once(self, method: str, url: str, json: JsonBody, tally: Tally, shown: str) -> Reply:
        """One try: paced, sent with the token of the moment, counted in the stats and in
        ``tally``, and logged (``shown``: the path and query)."""
        self.stats.waited_for(self.pacer.acquire(), self.pacer.clock())
        tally.tries += 1
        started = time.monotonic()
        try:
            headers = {**self._headers(), "Authorization": f"Bearer {self.credentials.token()}"}
            reply = self.session.send(method, url, json=json, headers=headers)
        except ExchangeFailed as failed:
            tally.took(started)
            outcome = "no answer" if failed.sent else "not sent"
            self._log(method, shown, f"{outcome} ({failed.kind})", started)
            raise
        finally:
            self.stats.count(method)
        tally.took(started)
        self._log(method, shown, str(reply.status), started)
        self._note_rate_limit(reply.headers)
        return reply

    def _note_rate_limit(self, headers: Mapping[str, str]) -> None:
        found = {name: headers[name] for name in RATE_LIMIT_HEADERS if name in headers}
        if found:
            self.rate_limit_headers = cast(RateLimitHeaders, found)

    def _log(self, method: str, shown: str, outcome: str, started: float) -> None:
        if log.isEnabledFor(logging.INFO):
            elapsed = (time.monotonic() - started) * 1000
            log.info("%s %s -> %s (%.0f ms)", method, shown, outcome, elapsed)

    def _refused(self, method: str, path: str, reply: Reply) -> TallyfyError:
        """The error an answer of 300 or more becomes."""
        if reply.status not in (401, 403):
            return refusal(method, path, reply)
        org = (
            f"org {self.org_id}"
            if self.org_name == self.org_id
            else f"org '{self.org_name}' ({self.org_id})"
        )
        in_org = reply.status == 403 and path.startswith(self.org_path(""))
        hint = self._membership_hint() if in_org else ""
        local = urlsplit(self.base_url).hostname in ("127.0.0.1", "localhost", "::1")
        return credentials_refused(method, path, reply, self.credentials, org, hint, local)

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
        orgs = (
            [row for row in rows or [] if isinstance(row, dict)] if isinstance(rows, list) else []
        )
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
        params: Params | None = None,
        json: JsonBody = None,
        org: bool = True,
        repeatable: bool | None = None,
        tries: int | None = None,
    ) -> Json:
        """Send a request and return the parsed body (None for an empty one); API errors
        raise TallyfyError subclasses.

        ``repeatable=False`` marks a request that is unsafe to repeat after a lost answer
        (a PUT that adds kick-off fields); None decides by the method.
        """
        full = self.org_path(path) if org else path
        reply = self.request(
            method, full, params=params, json=json, repeatable=repeatable, tries=tries
        )
        if reply.status >= 300:
            raise self._refused(method, full, reply)
        if not reply.content:
            return None  # some deletes answer 204 with no body
        try:
            return reply.json()
        except ValueError:
            raise TallyfyError(
                "the answer is not JSON", method=method, path=full, status=reply.status
            ) from None

    # -- reading ------------------------------------------------------------------------

    def get(self, path: str, params: Params | None = None, *, org: bool = True) -> Record:
        """``GET`` one object (an include's ``{"data": ...}`` unwrapped)."""
        answer = unwrap(self.call("GET", path, params=params, org=org))
        return _record(answer, "GET", self.org_path(path) if org else path)

    def check_credentials(self) -> CurrentUser:
        """``GET /me``: who the credentials belong to; a clear AuthError if they do not work.

        A 404 here means ``api_url`` does not lead to the API, which the error says.
        """
        try:
            me = cast(CurrentUser, self.get("/me", org=False))
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

    def current_user(self) -> CurrentUser:
        """Who the credentials belong to: :meth:`check_credentials`'s answer, asked only
        if this client has not asked already."""
        return self._me if self._me is not None else self.check_credentials()

    def list_all(
        self, path: str, params: Params | None = None, tries: int | None = None, workers: int = 1
    ) -> list[Record]:
        """Every row of a paginated list (:mod:`.pages`), ``workers`` pages at once (the
        caller's choice: one at a time unless it says otherwise)."""
        query = {**(params or {}), "per_page": PER_PAGE}

        def fetch(number: int) -> Json:
            return self.call("GET", path, params={**query, "page": number}, tries=tries)

        return read_list(fetch, self.org_path(path), workers)

    def form_post_status(self, url: str, form: Mapping[str, str]) -> int | None:
        """The status a form POST to an absolute ``url`` outside the org answers (None: no
        answer), unpaced and never retried: for asking whether an endpoint is there."""
        try:
            return self.session.post(url, form=form, headers=self._headers()).status
        except ExchangeFailed:
            return None

    # -- writing ------------------------------------------------------------------------

    def put(self, path: str, body: JsonBody) -> Json:
        """``PUT`` ``body``; the answer (an include's ``{"data": ...}`` unwrapped)."""
        answer: Json = unwrap(self.call("PUT", path, json=body))
        return answer

    def delete(self, path: str) -> None:
        """Delete (or archive); a 404 after a retried attempt means it is already gone."""
        try:
            self.call("DELETE", path)
        except NotFound:
            if self._tries.count <= 1:
                raise

    def create(
        self,
        path: str,
        body: JsonBody,
        lookup: Callable[[], Record | None] | None = None,
        method: str = "POST",
    ) -> Record:
        """Send a request that creates something, never twice; the object made.

        Usually a POST; a template PUT that adds kick-off fields creates too. If the
        outcome is unknown (no answer, or a 5xx), ``lookup`` is asked whether the object
        exists after all; only when it does not is the request sent again.
        """
        return _record(self._once(path, body, lookup, method), method, self.org_path(path))

    def write_once(
        self,
        path: str,
        body: JsonBody,
        lookup: Callable[[], Record | None],
        method: str = "POST",
    ) -> None:
        """As :meth:`create`, for a write whose answer tallyform does not read (attaching
        a tag, moving a form field): the shape of its answer, which no source shows, is
        never a reason to call a write that was made a failure."""
        self._once(path, body, lookup, method)

    def _once(
        self,
        path: str,
        body: JsonBody,
        lookup: Callable[[], Record | None] | None,
        method: str,
    ) -> Json:
        tally = Tally()
        while True:
            tally.tries += 1
            started = time.monotonic()
            try:
                answer: Json = unwrap(self.call(method, path, json=body, repeatable=False))
                return answer
            except OutcomeUnknown:
                tally.took(started)
                wait = None if lookup is None else self.retrying.wait_before(tally)
                if wait is None or lookup is None:
                    raise
                self.retrying.pause(wait, tally)
                started = time.monotonic()
                found = lookup()
                tally.took(started)
                if found is not None:
                    log.info(
                        "%s %s: no answer, but the object exists; not sending it again",
                        method,
                        path,
                    )
                    return found


def _query(path: str, params: Params | None) -> str:
    """``path`` and its query as the log shows them."""
    query = "&".join(f"{k}={v}" for k, v in (params or {}).items())
    return f"{path}?{query}" if query else path


def _record(answer: Json, method: str, path: str) -> Record:
    """``answer`` as the object it must be; UnexpectedAnswer if it is not one."""
    if not isinstance(answer, dict):
        raise UnexpectedAnswer(
            f"the answer is not an object (got {type(answer).__name__}); Tallyfy answered "
            "in a shape tallyform does not know",
            method=method,
            path=path,
        )
    return answer
