"""The emulator over real HTTP, for end-to-end tests and for users who want a local Tallyfy.

A threading server from the standard library: one thread per connection, HTTP/1.1
keep-alive, every answer with a Content-Length. A dropped connection is a socket shut
down without a byte of answer.

Bounded whatever a client sends (:class:`Limits`): at most ``connections`` connections
at once (one more is answered 503 with ``Retry-After`` and closed); a request's line and
headers must arrive within ``header_seconds`` of the connection opening or of the last
answer, and hold at most ``header_bytes``; its body must arrive within ``body_seconds``
and hold at most ``max_body`` bytes (413), and the bodies being read at once at most
``body_budget`` bytes together (503). A request with a Content-Length that is not a
number of bytes, two that differ, or a Transfer-Encoding is answered 400 and the
connection closed. A client that hangs up, mid-request or mid-answer, is let go quietly,
and no Python traceback ever reaches stderr: a fault of the emulator itself is answered
500 and reported in one line.
"""

from __future__ import annotations

import contextlib
import http
import http.client
import io
import json
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tallyform.emulator.app import Emulator
from tallyform.emulator.wire import Request, Response

MAX_BODY = 4 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one client, or all of them together, may make the server hold or wait for."""

    connections: int = 64
    header_bytes: int = 64 * 1024  # request line and headers of one request
    max_body: int = MAX_BODY
    body_budget: int = 32 * 1024 * 1024  # bytes of bodies read at once, all connections
    header_seconds: float = 30.0
    body_seconds: float = 30.0
    answer_seconds: float = 30.0  # to hand the answer to a client that reads slowly


class _Deadlines:
    """Shuts down the socket of a connection that passes its deadline: a blocked read or
    write then ends at once, however slowly the client trickles bytes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[socket.socket, float] = {}
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def arm(self, connection: socket.socket, seconds: float) -> None:
        with self._lock:
            self._due[connection] = time.monotonic() + seconds
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="tallyform-emulator-deadlines", daemon=True
                )
                self._thread.start()

    def disarm(self, connection: socket.socket) -> None:
        with self._lock:
            self._due.pop(connection, None)

    def stop(self) -> None:
        self._stopped.set()

    def _watch(self) -> None:
        while not self._stopped.wait(0.1):
            now = time.monotonic()
            with self._lock:
                late = [c for c, due in self._due.items() if due <= now]
                for connection in late:
                    del self._due[connection]
            for connection in late:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class _Budget:
    """Bytes that the bodies being read at once may take, all connections together."""

    def __init__(self, total: int) -> None:
        self._lock = threading.Lock()
        self._left = total

    def take(self, size: int) -> bool:
        with self._lock:
            if size > self._left:
                return False
            self._left -= size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self._left += size


class _HeaderBudget:
    """The connection's reader, refusing (431) a request whose line and headers pass a
    size: the standard library alone allows 100 header lines of 64 KB each."""

    def __init__(self, reader: io.BufferedIOBase, limit: int) -> None:
        self._reader = reader
        self._limit = limit
        self.left = limit

    def readline(self, size: int = -1) -> bytes:
        if self.left <= 0:
            raise http.client.LineTooLong("request headers")
        line = self._reader.readline(min(size, self.left + 1) if size >= 0 else self.left + 1)
        self.left -= len(line)
        return line

    def read(self, size: int = -1) -> bytes:
        return self._reader.read(size)

    def renew(self) -> None:
        self.left = self._limit

    def close(self) -> None:
        self._reader.close()


class _Refused(Exception):
    """A request answered with an error before it reaches the emulator."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A garbled request line is answered with a status line too (not as HTTP/0.9 was).
    default_request_version = "HTTP/1.0"
    # Headers and body go out in separate writes; without this, Nagle's algorithm and
    # delayed ACKs add 40 ms to every request on a kept-alive connection.
    disable_nagle_algorithm = True
    server: EmulatorServer
    _budget: _HeaderBudget

    def setup(self) -> None:
        super().setup()
        self._budget = _HeaderBudget(self.rfile, self.server.limits.header_bytes + 65537)
        self.rfile = self._budget  # type: ignore[assignment]

    def handle_one_request(self) -> None:
        self._budget.renew()
        self.server.deadlines.arm(self.connection, self.server.limits.header_seconds)
        try:
            super().handle_one_request()
        except OSError:  # the client hung up, or took too long: let it go
            self.close_connection = True

    def _serve(self) -> None:
        deadlines, limits = self.server.deadlines, self.server.limits
        try:
            length = _content_length(self.headers, limits.max_body)
        except _Refused as refused:
            self._refuse(refused.status, refused.message)
            return
        if not self.server.body_budget.take(length):
            self._refuse(503, "The emulator is reading too many bodies at once; try again.")
            return
        try:
            deadlines.arm(self.connection, limits.body_seconds)
            body = self.rfile.read(length) if length else b""
        finally:
            self.server.body_budget.give_back(length)
            deadlines.disarm(self.connection)
        if len(body) < length:  # the client hung up (or was too slow) mid-body
            self.close_connection = True
            return
        answer = self.server.answer(self._request(body))
        deadlines.arm(self.connection, limits.answer_seconds)
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(answer.status, answer.headers, answer.content())

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def _request(self, body: bytes) -> Request:
        path, _, query = self.path.partition("?")
        return Request.build(
            self.command, path, query, dict(self.headers.items()), body, self.server.url
        )

    def _send(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if content and self.command != "HEAD":
            self.wfile.write(content)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's own refusals (a garbled request line, headers too long,
        an unknown method), as the API answers errors: JSON, and the connection closed."""
        with contextlib.suppress(OSError):
            self._refuse(code, message or http.HTTPStatus(code).phrase)

    def _refuse(self, status: int, message: str) -> None:
        """Answer an error as the API does (JSON), and close: the body was not read."""
        self.close_connection = True
        content = json.dumps({"error": True, "message": message}).encode()
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if status == 503:
            headers["Retry-After"] = "1"
        self.server.deadlines.arm(self.connection, self.server.limits.answer_seconds)
        self._send(status, headers, content)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        """Silent: the emulator keeps its own request log."""


def _content_length(headers: Any, max_body: int) -> int:
    """The body's length as the headers give it; _Refused when they give it wrongly."""
    if headers.get("Transfer-Encoding") is not None:
        raise _Refused(400, "Transfer-Encoding is not supported; send a Content-Length.")
    given = set(headers.get_all("Content-Length") or [])
    if len(given) > 1:
        raise _Refused(400, "The request has two different Content-Length headers.")
    text = given.pop().strip() if given else "0"
    if not text.isdigit() or not text.isascii():
        raise _Refused(400, f"Content-Length must be a number of bytes, not {text[:20]!r}.")
    length = int(text)
    if length > max_body:
        raise _Refused(413, f"The request body is over the emulator's limit of {max_body} bytes.")
    return length


_FAULT = Response(500, {"error": True, "message": "Server Error"})


class EmulatorServer(ThreadingHTTPServer):
    """Serves one :class:`Emulator` on 127.0.0.1; port 0 picks a free port."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        emulator: Emulator,
        port: int = 0,
        host: str = "127.0.0.1",
        limits: Limits | None = None,
    ) -> None:
        self.emulator = emulator
        self.limits = limits = limits or Limits()
        self.deadlines = _Deadlines()  # before binding: a refused bind closes the server
        super().__init__((host, port), _Handler)
        self.body_budget = _Budget(limits.body_budget)
        self._open = 0
        self._open_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://{host}:{port}/api"

    def answer(self, request: Request) -> Response:
        """The emulator's answer; a fault of the emulator itself is a 500 and one line."""
        try:
            return self.emulator.handle(request)
        except Exception as error:  # a bug: the client gets a 500, stderr one line
            _say(f"answering {request.method} {request.path}: {type(error).__name__}: {error}")
            return _FAULT

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            full = self._open >= self.limits.connections
            if not full:
                self._open += 1
        if full:
            _turn_away(request)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._closed()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.deadlines.disarm(request)
            self._closed()

    def _closed(self) -> None:
        with self._open_lock:
            self._open -= 1

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet for a client that went away; one line, never a traceback, for the rest."""
        error = sys.exc_info()[1]
        if error is None or isinstance(error, OSError):
            return
        _say(f"a connection from {client_address[0]} failed: {type(error).__name__}: {error}")

    def server_close(self) -> None:
        self.deadlines.stop()
        super().server_close()

    def start(self) -> EmulatorServer:
        """Serve in a background thread (for tests); stop with :meth:`stop`."""
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="tallyform-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_BUSY_BODY = b'{"error": true, "message": "The emulator has too many connections open; try again."}'
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
    % (len(_BUSY_BODY), _BUSY_BODY)
)


def _turn_away(connection: socket.socket) -> None:
    """Answer a connection over the limit 503 without a thread, never waiting on it."""
    with contextlib.suppress(OSError):
        connection.setblocking(False)
        connection.send(_BUSY)


def _say(text: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(f"tallyform emulator: {text}", file=sys.stderr, flush=True)
