"""Clients against the emulator, in-process or over a loopback socket, with fake time."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tallyform.client import Pacer, RetryPolicy, StaticToken, TallyfyClient
from tallyform.emulator import (
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
)


class FakeTime:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept += seconds


class Recording(httpx.BaseTransport):
    """Wraps a transport; records each request and the most requests in flight at once."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return self.inner.handle_request(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.inner.close()


class DropFirstAnswer(httpx.BaseTransport):
    """Forwards every request, but loses the answer to the first one with ``method``."""

    def __init__(self, inner: httpx.BaseTransport, method: str) -> None:
        self.inner = inner
        self.method = method
        self.dropped = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == self.method and not self.dropped:
            self.dropped = True
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return response


@contextmanager
def client_for(
    emulator: Emulator,
    mode: str = "in_process",
    *,
    token: str = DEFAULT_TOKEN,
    pacer: Pacer | None = None,
    sleep: Any = None,
    retry: RetryPolicy | None = None,
    recording: bool = False,
) -> Iterator[TallyfyClient]:
    """A TallyfyClient on the emulator; ``client.session.transport`` is a Recording when asked."""
    options: dict[str, Any] = {
        "org_id": emulator.org_id,
        "org_name": "test",
        "credentials": StaticToken(token, source="TEST_TOKEN"),
        "pacer": pacer,
        "retry": retry,
        "seed": 1,
    }
    if sleep is not None:
        options["sleep"] = sleep
    if mode == "in_process":
        transport: httpx.BaseTransport = EmulatorTransport(emulator)
        if recording:
            transport = Recording(transport)
        with TallyfyClient(base_url=IN_PROCESS_URL, transport=transport, **options) as client:
            yield client
        return
    with EmulatorServer(emulator) as server:
        inner = httpx.HTTPTransport()
        transport = Recording(inner) if recording else inner
        with TallyfyClient(
            base_url=server.url, transport=transport, timeout=10, **options
        ) as client:
            yield client
