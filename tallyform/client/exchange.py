"""One HTTP exchange: the only module of the client that uses httpx.

A :class:`Session` holds the connections a client and its credentials share and sends
one request over them, answering a :class:`Reply` (the client's own type) or raising
:class:`~tallyform.client.errors.ExchangeFailed` when no answer came. It neither paces,
retries nor authenticates: the layers above it do (:mod:`tallyform.client.api`). With -vv
(the DEBUG level) it logs the body of every request and answer, secrets masked.

A :data:`Transport` is what carries the requests: real HTTP by default, or the emulator
in-process (``EmulatorTransport``), or a test's transport that injects faults.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from tallyform.client.errors import ExchangeFailed
from tallyform.client.redact import masked_body
from tallyform.client.shapes import Json, JsonBody

log = logging.getLogger("tallyform.client")

Transport = httpx.BaseTransport
"""What carries requests: real HTTP, the emulator in-process, or a test's fault injector."""

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Reply:
    """An answer: its status, its headers (names in lower case) and its body."""

    status: int
    reason: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    content: bytes = b""

    def json(self) -> Json:
        """The body parsed as JSON; ValueError if it is not JSON."""
        parsed: Json = json.loads(self.content)
        return parsed


class Session:
    """The connections of one client and its credentials, and one exchange over them."""

    def __init__(self, transport: Transport | None = None, timeout: float = DEFAULT_TIMEOUT):
        self.transport = transport
        self._http = httpx.Client(transport=transport, timeout=timeout)
        _log_bodies(self._http)

    def send(
        self, method: str, url: str, *, headers: Mapping[str, str], json: JsonBody = None
    ) -> Reply:
        """Send one request with ``json`` as its body (None: no body) and return the answer."""
        return self._exchange(lambda: self._http.request(method, url, json=json, headers=headers))

    def post(
        self, url: str, *, headers: Mapping[str, str], form: Mapping[str, str] | None = None
    ) -> Reply:
        """POST a form (or nothing) to ``url``: for the token endpoints."""
        return self._exchange(lambda: self._http.post(url, data=form, headers=headers))

    def close(self) -> None:
        self._http.close()

    @staticmethod
    def _exchange(send: Callable[[], httpx.Response]) -> Reply:
        try:
            response = send()
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise ExchangeFailed(str(error), sent=False, kind=type(error).__name__) from None
        except httpx.HTTPError as error:  # sent, but no answer: a timeout or a lost connection
            raise ExchangeFailed(str(error), sent=True, kind=type(error).__name__) from None
        return Reply(
            response.status_code,
            response.reason_phrase,
            {name.lower(): value for name, value in response.headers.items()},
            response.content,
        )


def http_session(transport: Transport | None = None, timeout: float = DEFAULT_TIMEOUT) -> Session:
    """The session a client and its credentials share (one pool of connections)."""
    return Session(transport, timeout)


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


def _log_bodies(http: httpx.Client) -> None:
    """With -vv (the DEBUG level), log the body of every request and answer of ``http``,
    secrets masked (:func:`~tallyform.client.redact.masked_body`)."""
    http.event_hooks = {"request": [_request_body], "response": [_response_body]}
