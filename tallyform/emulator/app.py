"""The emulator itself: auth, rate limit, faults, routing, persistence and the request log.

:class:`Emulator` answers one :class:`~tallyform.emulator.wire.Request` at a time and is
safe to call from many threads: handlers run under one lock, latency is spent outside it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tallyform.emulator import oauth, routes
from tallyform.emulator.call import Call, LinkIndex
from tallyform.emulator.faults import (
    ORG_LIMITS,
    Budget,
    FaultInjector,
    FaultSettings,
    Limits,
    retry_after_header,
)
from tallyform.emulator.journal import Changes
from tallyform.emulator.masking import logged_body
from tallyform.emulator.page_drift import PageDrift
from tallyform.emulator.quirks import Quirks, empty_string_errors, null_errors
from tallyform.emulator.store import (
    APP_TOKEN_LIFETIME,
    DEFAULT_MEMBER_TOKEN,
    DEFAULT_ORG_ID,
    DEFAULT_TOKEN,
    USER_TOKEN_LIFETIME,
    StateFile,
    fresh_state,
    new_id,
)
from tallyform.emulator.views import values_nulled
from tallyform.emulator.wire import (
    ApiError,
    Request,
    Response,
    endpoint_not_found,
    forbidden,
    invalid,
)

log = logging.getLogger("tallyform.emulator")

_BEARER = re.compile(r"^Bearer (\S+)$")
_UNAUTHENTICATED = {"error": True, "message": "Unauthenticated."}


class Emulator:
    """A working stand-in for one Tallyfy organization."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        org_id: str = DEFAULT_ORG_ID,
        token: str = DEFAULT_TOKEN,
        member_token: str = DEFAULT_MEMBER_TOKEN,
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        faults: FaultSettings | None = None,
        request_log: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        app_token_lifetime: int = APP_TOKEN_LIFETIME,
        user_token_lifetime: int = USER_TOKEN_LIFETIME,
        quirks: Quirks | None = None,
        keep_requests: int | None = None,
    ) -> None:
        """``keep_requests``: how many of the latest requests :attr:`requests` keeps (all
        unless told; the CLI's own emulators keep none, the request log file has them)."""
        self._store = StateFile(state_file) if state_file else None
        loaded = self._store.load() if self._store else None
        self.state: dict[str, Any] = loaded or fresh_state(org_id, token, member_token)
        if self._store and loaded is None:
            self._store.save(self.state)
        self.faults = faults or FaultSettings()
        self.quirks = quirks or Quirks()
        self._injector = FaultInjector(self.faults)
        self._limits = _limits(rate_limit, rate_window, self.quirks, clock)
        self._sleep = sleep
        self._wall_clock = wall_clock
        self._app_token_lifetime = app_token_lifetime
        self._user_token_lifetime = user_token_lifetime
        self._lock = threading.RLock()
        self._changes = Changes()  # made by writes, not yet in the state file
        self._links = LinkIndex()
        self._drift = PageDrift(self.faults.seed)
        self._log_lock = threading.Lock()
        self._request_log = request_log
        self._keep_requests = keep_requests
        self.requests: list[dict[str, Any]] = []

    @property
    def org_id(self) -> str:
        return str(self.state["org"]["id"])

    def handle(self, request: Request) -> Response:
        """Answer one request, with the configured latency, limits and faults."""
        if self.faults.latency_ms:
            self._sleep(self.faults.latency_ms / 1000.0)
        response = self._answer(request)
        response.headers.setdefault("X-Request-Id", new_id()[:16])
        if response.body is not None:
            response.headers.setdefault("Content-Type", "application/json")
        self._record(request, response)
        return response

    def _answer(self, request: Request) -> Response:
        if request.method == "POST" and request.path.rstrip("/") in oauth.TOKEN_PATHS:
            return self._issue_token(request)
        token = self._authenticate(request)
        if token is None:
            return Response(401, dict(_UNAUTHENTICATED))
        limited, headers = self._rate_limit(token)
        if limited is not None:
            return limited
        response = self._admitted(request, token)
        response.headers.update(headers)
        return response

    def _admitted(self, request: Request, token: str) -> Response:
        """The answer to an authenticated request within the rate limits."""
        fault = self._injector.draw()
        if fault == "burst":
            return _too_many(1.0)
        if fault == "error":
            return Response(503, {"error": True, "message": "Service temporarily unavailable."})
        if fault == "drop":
            return Response(0, drop=True)
        response = self._dispatch(request, token)
        if fault == "error_after":
            return Response(500, {"error": True, "message": "Server Error"})
        if fault == "drop_after":
            return Response(0, drop=True)
        return response

    def _issue_token(self, request: Request) -> Response:
        """The client-credentials grant, at the API host's ``/oauth/token`` (404 under
        ``oauth_account_host``) and at the account host's."""
        if self.quirks.oauth_account_host and request.path.rstrip("/") != oauth.ACCOUNT_TOKEN:
            return _error(endpoint_not_found())
        with self._lock:
            answer = oauth.issue_token(
                request, self.state, self._app_token_lifetime, self._wall_clock
            )
            if answer.status == 200:
                self._token_issued(answer, "token_expiry", "app_tokens")
            return answer

    def _authenticate(self, request: Request) -> str | None:
        found = _BEARER.match(request.headers.get("authorization", ""))
        if not found or not request.headers.get("x-tallyfy-client", "").strip():
            return None
        token = found.group(1)
        if token not in self.state["tokens"]:
            return None
        expiry = self.state["token_expiry"].get(token)
        return None if expiry is not None and self._wall_clock() >= expiry else token

    def _rate_limit(self, token: str) -> tuple[Response | None, dict[str, str]]:
        """A 429 if a budget refuses this request, and the headers every answer carries."""
        if self._limits is None:
            return None, {}
        verdict = self._limits.admit(token, self.org_id)
        if verdict.refused_by is None:
            return None, verdict.headers
        response = _too_many(verdict.wait)
        response.headers.update(verdict.headers)
        return response, {}

    def _dispatch(self, request: Request, token: str) -> Response:
        minting = routes.match_user_token(request.method, request.path)
        if minting is not None:
            return self._mint_user_token(token, minting)
        found = routes.match(request.method, request.path)
        if found is None:
            return _error(endpoint_not_found())
        route, params = found
        with self._lock:
            if self.quirks.app_tokens_cannot_act and oauth.is_app_token(self.state, token):
                return _error(forbidden(oauth.NO_APPLICATION_PERMISSION))
            if route.org_scoped and params.get("org") != self.org_id:
                return _error(forbidden("You don't have permissions for this organization."))
            user = next(u for u in self.state["users"] if u["id"] == self.state["tokens"][token])
            # A read's marks are dropped; a failed write's are kept for the next one, which
            # journals whatever the failure left changed (as a whole-file save did).
            changes = self._changes if route.writes else Changes()
            try:
                if route.writes:
                    self._refuse_nulls(request)
                response = route.handler(
                    Call(
                        request,
                        self.state,
                        user,
                        params,
                        self.quirks,
                        changes,
                        self._links,
                        self._drift,
                    )
                )
            except ApiError as error:
                return _error(error)
            if route.writes and response.status < 400:
                self._persist()
            if self._sees_null(token) and response.body is not None:
                response.body = values_nulled(response.body)
            response.seal()  # its body may share the state's objects
            return response

    def _sees_null(self, token: str) -> bool:
        """Whether ``token`` is shown every ``custom_fields`` as ``null``: under
        ``custom_fields_null``, an application's own token (not signed in as a member);
        members' tokens, personal or minted by an application, see the values."""
        return self.quirks.custom_fields_null and oauth.is_app_token(self.state, token)

    def _persist(self) -> None:
        """Journal what the writes since the last one changed (under ``self._lock``)."""
        if self._store is not None:
            self._store.record(self._changes.ops(self.state), self.state)
        self._changes.clear()

    def _token_issued(self, answer: Response, *tables: str) -> None:
        token = answer.body["access_token"]
        for table in ("tokens", *tables):
            self._changes.row(table, token)
        self._persist()

    def _mint_user_token(self, token: str, params: dict[str, str]) -> Response:
        with self._lock:
            try:
                answer = oauth.mint_user_token(
                    self.state,
                    token,
                    params["org"],
                    params["email"],
                    self._user_token_lifetime,
                    self._wall_clock,
                )
            except ApiError as error:
                return _error(error)
            self._token_issued(answer, "token_expiry")
            return answer

    def _refuse_nulls(self, request: Request) -> None:
        """The ``nulls_refused`` quirk: a null anywhere in a write body is a 422; and
        ``empty_string=refused``: so is an empty string."""
        errors: dict[str, list[str]] = {}
        if self.quirks.nulls_refused:
            errors.update(null_errors(request.json()))
        if self.quirks.empty_string == "refused":
            errors.update(empty_string_errors(request.json()))
        if errors:
            raise invalid(errors)

    def _record(self, request: Request, response: Response) -> None:
        keep = self._keep_requests
        if keep == 0 and self._request_log is None:
            log.debug("%s %s -> %s", request.method, request.path, response.status or "dropped")
            return
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "status": response.status,
        }
        if request.method != "GET":
            entry["body"] = logged_body(request)
        with self._log_lock:
            if keep != 0:
                self.requests.append(entry)
                if keep is not None and len(self.requests) > 2 * keep:
                    del self.requests[:-keep]  # now and then: O(1) a request, amortized
            if self._request_log is not None:
                with self._request_log.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(entry) + "\n")
        log.debug("%s %s -> %s", request.method, request.path, response.status or "dropped")


def _limits(
    rate_limit: int | None, window: float, quirks: Quirks, clock: Callable[[], float]
) -> Limits | None:
    """The rate limits: ``rate_limit`` a window per token, and the org's own under the
    ``low_rate_limit`` quirk; None for none."""
    budgets: tuple[Budget, ...] = (Budget(rate_limit, window, "token"),) if rate_limit else ()
    if quirks.low_rate_limit:
        budgets += ORG_LIMITS
    return Limits(budgets, clock) if budgets else None


def _error(error: ApiError) -> Response:
    return Response(error.status, error.body, dict(error.headers))


def _too_many(wait: float) -> Response:
    return Response(
        429,
        {"error": True, "message": "Too Many Attempts."},
        {"Retry-After": retry_after_header(wait), "X-RateLimit-Remaining": "0"},
    )
