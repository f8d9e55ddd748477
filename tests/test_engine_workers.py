"""How many requests are under way at once is the engine's choice, made from ``--parallelism``.

The client is only safe to share between threads: it runs nothing side by side by itself
(a list's pages come one at a time unless its caller asks for more). The engine hands a
command's ``--parallelism`` down to the reads and writes that can overlap. A transport that
counts the requests in flight (each held a few milliseconds, so that overlapping ones
meet) shows the bound from the command line down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tallyform.client import Session, StaticToken, TallyfyClient
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport
from tests.conftest import run_cli

HELD = 0.02  # seconds each counted request takes


class InFlight(httpx.BaseTransport):
    """Counts the requests under way at once (the most seen); each takes :data:`HELD`."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.counting = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.counting:
            return self.inner.handle_request(request)
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(HELD)
            return self.inner.handle_request(request)
        finally:
            with self.lock:
                self.now -= 1


@pytest.fixture
def in_flight(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[InFlight]]:
    """Every client the CLI opens carries its requests through an :class:`InFlight`."""
    made: list[InFlight] = []

    def session(transport: httpx.BaseTransport | None = None, timeout: float = 60.0) -> Session:
        assert transport is not None, "the embedded org's client has the emulator's transport"
        made.append(InFlight(transport))
        return Session(made[-1], timeout)

    monkeypatch.setattr("tallyform.client.api.http_session", session)
    yield made


def _most(made: list[InFlight]) -> int:
    most = max(gauge.most for gauge in made)
    made.clear()
    return most


def test_parallelism_1_sends_one_request_at_a_time(
    tmp_path: Path, in_flight: list[InFlight]
) -> None:
    assert run_cli("init", str(tmp_path)).exit_code == 0
    applied = run_cli("-C", str(tmp_path), "apply", "--yes", "--parallelism", "1")
    assert applied.exit_code == 0, applied.output
    assert _most(in_flight) == 1
    planned = run_cli("-C", str(tmp_path), "plan", "--parallelism", "1")
    assert planned.exit_code == 0, planned.output
    assert "No changes" in planned.stdout
    assert _most(in_flight) == 1


def test_the_reads_overlap_up_to_the_parallelism_given(
    tmp_path: Path, in_flight: list[InFlight]
) -> None:
    """A plan reads the org's lists side by side: as many at once as asked, no more."""
    assert run_cli("init", str(tmp_path)).exit_code == 0
    planned = run_cli("-C", str(tmp_path), "plan", "--parallelism", "3")
    assert planned.exit_code == 0, planned.output
    assert 1 < _most(in_flight) <= 3
    exported = run_cli("-C", str(tmp_path), "export", "--dry-run", "--parallelism", "2")
    assert exported.exit_code == 0, exported.output
    assert 1 < _most(in_flight) <= 2


def test_a_list_reads_its_pages_one_at_a_time_unless_asked_for_more() -> None:
    emulator = Emulator()
    gauge = InFlight(EmulatorTransport(emulator))
    gauge.counting = False
    with TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=gauge,
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
    ) as client:
        for number in range(250 - len(client.list_all("/tags"))):
            client.create("/tags", {"title": f"tag {number}"})
        gauge.counting = True
        assert len(client.list_all("/tags")) == 250  # three pages
        assert gauge.most == 1
        assert len(client.list_all("/tags", workers=2)) == 250
        assert gauge.most == 2


def test_credentials_made_over_the_session_share_the_clients_connections() -> None:
    emulator = Emulator()
    seen: list[Session] = []

    def over(session: Session) -> StaticToken:
        seen.append(session)
        return StaticToken(DEFAULT_TOKEN, "TEST")

    with TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=EmulatorTransport(emulator),
        credentials=over,
    ) as client:
        assert seen == [client.session]
        assert client.check_credentials()["email"] == "alice@example.com"


def test_credentials_that_cannot_be_made_leave_no_session_open() -> None:
    emulator = Emulator()
    seen: list[Session] = []

    def refused(session: Session) -> StaticToken:
        seen.append(session)
        raise ValueError("no secret")

    with pytest.raises(ValueError, match="no secret"):
        TallyfyClient(
            org_id=emulator.org_id,
            base_url=IN_PROCESS_URL,
            transport=EmulatorTransport(emulator),
            credentials=refused,
        )
    with pytest.raises(RuntimeError, match="closed"):
        seen[0].send("GET", f"{IN_PROCESS_URL}/me", headers={})
