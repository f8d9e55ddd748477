"""`emulator serve` stays bounded and quiet whatever a client sends, and one process at a
time writes a state file.

Everything here goes over real loopback sockets to a real `tallyform emulator serve`
process (or, where a test needs short timeouts or a small connection cap, to an
`EmulatorServer` in this process). Every socket has a timeout and every test a bounded
number of connections and bytes; the server's peak memory is read from /proc.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tallyform.emulator import Emulator, EmulatorServer
from tallyform.emulator.server import Limits
from tests.conftest import EXAMPLES
from tests.process_helpers import (
    Cli,
    Proc,
    ServedEmulator,
    cli_command,
    cli_env,
    served_emulator,
    wait_until,
    write_project,
)

MEGABYTE = 1024 * 1024
PEAK_MB = 100  # the served emulator's peak resident memory, whatever clients send
SOCKET_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedEmulator]:
    with served_emulator(tmp_path_factory.mktemp("served")) as emulator:
        yield emulator


def _address(url: str) -> tuple[str, int]:
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.rsplit(":", 1)
    return host, int(port)


@contextlib.contextmanager
def _socket(url: str) -> Iterator[socket.socket]:
    connection = socket.create_connection(_address(url), timeout=SOCKET_TIMEOUT)
    try:
        yield connection
    finally:
        connection.close()


def _answer(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or 1 MB)."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while len(received) < MEGABYTE:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    return received


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def _peak_mb(served: ServedEmulator) -> float:
    status = Path(f"/proc/{served.proc.popen.pid}/status").read_text()
    kilobytes = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")
    )
    return kilobytes / 1024


def _send_quietly(connection: socket.socket, data: bytes) -> int:
    """Send ``data``; how much went before the server closed the connection."""
    sent = 0
    with contextlib.suppress(OSError):
        while sent < len(data):
            sent += connection.send(data[sent : sent + 65536])
    return sent


def _quiet(served: ServedEmulator) -> None:
    assert served.proc.alive, served.proc.stderr()
    assert "Traceback" not in served.proc.stderr(), served.proc.stderr()
    assert served.answers(), "the emulator no longer answers"


REQUEST = "POST /api/organizations/{org}/checklists HTTP/1.1\r\nHost: x\r\n"


def test_a_negative_content_length_is_refused_unread(served: ServedEmulator) -> None:
    """The case that made the server buffer 500 MB: no token, Content-Length: -1."""
    with _socket(served.url) as connection:
        head = REQUEST.format(org=served.org_id) + "Content-Length: -1\r\n\r\n"
        connection.sendall(head.encode())
        sent = _send_quietly(connection, b"x" * (64 * MEGABYTE))
        answer = _answer(connection)
    assert _status(answer) == 400, answer[:300]
    assert b"Content-Length must be a number of bytes" in answer
    assert sent < 64 * MEGABYTE, "the server read on after refusing"
    assert _peak_mb(served) < PEAK_MB
    _quiet(served)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("Content-Length: abc\r\n", 400),
        ("Content-Length: +5\r\n", 400),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", 400),
        ("Transfer-Encoding: chunked\r\n", 400),
        (f"Content-Length: {500 * MEGABYTE}\r\n", 413),
    ],
    ids=["not-a-number", "signed", "two-lengths", "chunked", "500-MB"],
)
def test_a_malformed_or_oversized_request_is_refused(
    served: ServedEmulator, headers: str, status: int
) -> None:
    with _socket(served.url) as connection:
        connection.sendall((REQUEST.format(org=served.org_id) + headers + "\r\n").encode())
        answer = _answer(connection)
    assert _status(answer) == status, answer[:300]
    assert b'"error": true' in answer
    _quiet(served)


@pytest.mark.parametrize(
    "request_line",
    [b"NONSENSE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\r\n\r\n"],
    ids=["no-version", "bad-version", "tls-hello"],
)
def test_a_garbled_request_line_is_answered_400(
    served: ServedEmulator, request_line: bytes
) -> None:
    with _socket(served.url) as connection:
        connection.sendall(request_line)
        answer = _answer(connection)
    assert _status(answer) in (400, 505), answer[:300]
    _quiet(served)


def test_endless_headers_stop_at_the_limit(served: ServedEmulator) -> None:
    with _socket(served.url) as connection:
        connection.sendall(f"GET /api/organizations/{served.org_id}/me HTTP/1.1\r\n".encode())
        line = b"X-Filler: " + b"y" * 1000 + b"\r\n"
        sent = _send_quietly(connection, line * 10_000)  # 10 MB of headers, if it read them
        answer = _answer(connection)
    assert _status(answer) == 431, answer[:300]
    assert sent < 10_000 * len(line)
    _quiet(served)


def test_many_big_bodies_at_once_stay_within_memory(served: ServedEmulator) -> None:
    """40 connections each announce a body just under the size limit: the server reads
    only as many at once as its body budget allows and answers the rest 503 with
    Retry-After at once; then every connection sends its body but the last byte, and
    holds it."""
    size = 4 * MEGABYTE - 1024
    head = (REQUEST.format(org=served.org_id) + f"Content-Length: {size}\r\n\r\n").encode()
    connections = [socket.create_connection(_address(served.url), timeout=2.0) for _ in range(40)]
    try:
        for connection in connections:
            connection.sendall(head)
        busy = _turned_away(connections, expected=32, seconds=5.0)
        for connection in connections:
            connection.settimeout(2.0)
            _send_quietly(connection, b"z" * (size - 1))
        time.sleep(0.3)
        peak = _peak_mb(served)
    finally:
        for connection in connections:
            connection.close()
    assert peak < PEAK_MB, f"peak {peak:.0f} MB"
    assert busy == 32, f"{busy} of 40 were turned away; the budget holds 8 such bodies"
    _quiet(served)


def _turned_away(connections: list[socket.socket], expected: int, seconds: float) -> int:
    """How many of ``connections`` were answered 503, waiting until ``expected`` were or
    ``seconds`` passed (the others are read from and must not answer)."""
    waiting = {connection.fileno(): connection for connection in connections}
    busy = 0
    deadline = time.monotonic() + seconds
    while busy < expected and waiting and time.monotonic() < deadline:
        readable, _, _ = select.select(list(waiting.values()), [], [], 0.1)
        for connection in readable:
            del waiting[connection.fileno()]
            with contextlib.suppress(OSError):
                busy += b"503 Service Unavailable\r\n" in connection.recv(4096)
    return busy


def test_clients_that_hang_up_are_let_go_quietly(served: ServedEmulator) -> None:
    org = served.org_id
    with _socket(served.url) as connection:  # half a body, then gone
        connection.sendall((REQUEST.format(org=org) + "Content-Length: 1000\r\n\r\n{").encode())
    with _socket(served.url) as connection:  # half the headers, then gone
        connection.sendall(f"GET /api/organizations/{org}/me HTTP/1.1\r\nHo".encode())
    for _ in range(20):  # a whole request, then a reset before the answer
        with _socket(served.url) as connection:
            connection.sendall(
                f"GET /api/organizations/{org}/checklists HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {served.token}\r\nX-Tallyfy-Client: APIClient\r\n\r\n".encode()
            )
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    time.sleep(0.3)
    _quiet(served)
    assert served.proc.stderr() == "", served.proc.stderr()


# -- timeouts and the connection cap (short ones, in this process) ------------------------------


@pytest.fixture
def tight() -> Iterator[EmulatorServer]:
    limits = Limits(connections=4, header_seconds=0.5, body_seconds=0.5, answer_seconds=0.5)
    with EmulatorServer(Emulator(), limits=limits) as server:
        yield server


def test_a_slow_client_is_cut_off_at_the_header_and_body_deadlines(tight: EmulatorServer) -> None:
    org = Emulator().org_id
    for first, trickle in (
        (f"GET /api/organizations/{org}/me HTTP/1.1\r\n", b"X-A: b\r\n"),
        (REQUEST.format(org=org) + "Content-Length: 100000\r\n\r\n", b"{"),
    ):
        with _socket(tight.url) as connection:
            connection.sendall(first.encode())
            started = time.monotonic()
            with contextlib.suppress(OSError):
                while time.monotonic() - started < 5:  # a byte every 0.1 s, for ever
                    connection.sendall(trickle)
                    time.sleep(0.1)
            cut_after = time.monotonic() - started
        assert cut_after < 2.0, f"still connected after {cut_after:.1f} s"


def test_connections_past_the_cap_are_turned_away_then_let_in(tight: EmulatorServer) -> None:
    held = [socket.create_connection(_address(tight.url), timeout=2.0) for _ in range(4)]
    try:
        time.sleep(0.1)
        with _socket(tight.url) as extra:
            answer = _answer(extra)
        assert _status(answer) == 503 and b"Retry-After: 1" in answer, answer
    finally:
        for connection in held:
            connection.close()
    with httpx.Client(base_url=tight.url, timeout=5) as client:
        # Let in again once the held ones are gone (401: refused only for its token).
        assert wait_until(lambda: client.get("/me").status_code == 401, 5.0)


# -- one writer per state file ------------------------------------------------------------------


def test_a_second_writer_of_a_served_state_file_is_refused(
    served: ServedEmulator, tmp_path: Path
) -> None:
    second = Proc(
        cli_command("emulator", "serve", "--port", "0", "--state", str(served.state_file)),
        tmp_path / "logs",
        "second",
    )
    finished = second.wait(timeout=20)
    assert finished.code == 1, finished.describe()
    assert (
        f"Error: the emulator's state file {served.state_file} is in use by another process "
        f"(pid {served.proc.popen.pid}: tallyform emulator serve); stop it first, or use "
        "another state file"
    ) in finished.stderr, finished.describe()
    project = write_project(tmp_path / "project", served)
    config = project / "tallyform.yaml"
    config.write_text(config.read_text().replace("default_org: served", "default_org: same"))
    with config.open("a") as out:
        out.write(f"  same:\n    emulator: {served.state_file}\n")
    with Cli(project, tmp_path / "logs") as cli:
        refused = cli.run("apply", "--yes")
    assert refused.code == 1, refused.describe()
    assert (
        f"Error: the embedded org 'same' ({served.state_file}) is being served by another "
        f"process (pid {served.proc.popen.pid}: tallyform emulator serve); nothing was changed."
    ) in refused.stderr, refused.describe()
    _quiet(served)


def test_a_killed_compaction_leaves_nothing_after_the_next_start(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    Emulator(state_file=state)
    leftover = tmp_path / ".org.json.k1ll3d_x"
    leftover.write_text('{"half": ')
    with served_emulator(tmp_path) as emulator:
        assert wait_until(lambda: not leftover.exists(), 5.0)
        _quiet(emulator)
    assert not [p.name for p in tmp_path.glob(".org.json.*")]


def test_an_apply_waiting_at_its_prompt_holds_the_embedded_org(tmp_path: Path) -> None:
    """The second apply is told which process holds the embedded org, and that nothing
    was changed; once the first is gone, the org is free again."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns(".tallyform"))
    leader, follower = pty.openpty()
    out = tmp_path / "first.out"
    try:
        with out.open("wb") as sink:
            first = subprocess.Popen(
                cli_command("-C", str(project), "apply"),
                env=cli_env(),
                stdin=follower,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        try:
            assert wait_until(lambda: b"Apply these changes?" in out.read_bytes(), 30.0)
            second = subprocess.run(
                cli_command("-C", str(project), "apply", "--yes"),
                env=cli_env(),
                capture_output=True,
                text=True,
                timeout=30,
            )
        finally:
            first.kill()
            first.wait()
    finally:
        os.close(leader)
        os.close(follower)
    state = project / ".tallyform" / "local-org.json"
    assert second.returncode == 1, second.stderr
    assert (
        f"Error: another tallyform apply is running on the embedded org 'local' ({state}; "
        f"pid {first.pid}: tallyform apply); nothing was changed."
    ) in second.stderr, second.stderr
    again = subprocess.run(
        cli_command("-C", str(project), "plan"), env=cli_env(), capture_output=True, timeout=30
    )
    assert again.returncode == 0, again.stderr
