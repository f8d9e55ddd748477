"""Rate limiting, seeded faults, latency and persistence of the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tallyform.emulator import Emulator, FaultSettings
from tallyform.emulator.store import StateFile
from tests.emulator_helpers import connect, data, new_template


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_limit_answers_429_with_retry_after(mode: str) -> None:
    clock = FakeClock()
    emulator = Emulator(rate_limit=3, rate_window=60.0, clock=clock)
    with connect(emulator, mode) as api:
        for _ in range(3):
            assert api.get("/checklists").status_code == 200
        clock.now += 20.5
        limited = api.get("/checklists")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "40"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.headers["x-ratelimit-limit"] == "3"
        clock.now += 40
        assert api.get("/checklists").status_code == 200


def test_rate_limit_is_off_by_default() -> None:
    with connect(Emulator(), "in_process") as api:
        assert all(api.get("/users").status_code == 200 for _ in range(700))


def _fault_sequence(seed: int) -> list[int | str]:
    emulator = Emulator(faults=FaultSettings(fail_rate=0.3, seed=seed))
    seen: list[int | str] = []
    with connect(emulator, "in_process") as api:
        for _ in range(60):
            try:
                seen.append(api.get("/users").status_code)
            except httpx.RemoteProtocolError:
                seen.append("dropped")
    return seen


def test_faults_are_reproducible_from_the_seed() -> None:
    first = _fault_sequence(7)
    assert first == _fault_sequence(7)
    assert first != _fault_sequence(8)
    assert {429, 500, 503, "dropped"} <= set(first), first
    assert first.count(200) > 20


@pytest.mark.parametrize("kind", ["error_after", "drop_after"])
def test_faults_after_handling_keep_the_change(kind: str, mode: str) -> None:
    emulator = Emulator(faults=FaultSettings(fail_rate=1.0, seed=1, kinds=(kind,)))
    with connect(emulator, mode) as api:
        try:
            response = api.post("/checklists", json={"title": "Made anyway", "type": "procedure"})
            assert response.status_code == 500
        except httpx.TransportError:
            assert kind == "drop_after"
    titles = [t["title"] for t in emulator.state["checklists"].values()]
    assert titles == ["Made anyway"]


@pytest.mark.parametrize("kind", ["error", "drop"])
def test_faults_before_handling_change_nothing(kind: str, mode: str) -> None:
    emulator = Emulator(faults=FaultSettings(fail_rate=1.0, seed=1, kinds=(kind,)))
    with connect(emulator, mode) as api:
        try:
            assert (
                api.post("/checklists", json={"title": "Lost", "type": "procedure"}).status_code
                == 503
            )
        except httpx.TransportError:
            assert kind == "drop"
    assert emulator.state["checklists"] == {}


def test_latency_is_added_to_every_request() -> None:
    slept: list[float] = []
    emulator = Emulator(faults=FaultSettings(latency_ms=25), sleep=slept.append)
    with connect(emulator, "in_process") as api:
        api.get("/users")
        api.get("/groups")
    assert slept == [0.025, 0.025]


def test_bad_fault_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultSettings(kinds=("meteor",))
    with pytest.raises(ValueError):
        FaultSettings(fail_rate=1.5)


def test_state_persists_in_its_file(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "org.json"
    with connect(Emulator(state_file=path), mode) as api:
        template = new_template(api, title="Kept")
    saved = StateFile(path).load()
    assert saved is not None and saved["checklists"][template["id"]]["title"] == "Kept"
    assert not [p for p in tmp_path.iterdir() if p.name not in ("org.json", "org.json.lock")], (
        "no temporary files are left behind (the writer lock's file stays)"
    )
    with connect(Emulator(state_file=path), mode) as api:
        assert data(api.get(f"/checklists/{template['id']}"))["title"] == "Kept"


def test_a_failed_save_leaves_the_old_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "org.json"
    emulator = Emulator(state_file=path)
    before = path.read_text()

    def broken_dumps(*args: object, **kwargs: object) -> str:
        raise OSError("disk full")

    monkeypatch.setattr("tallyform.emulator.store.json.dumps", broken_dumps)
    with connect(emulator, "in_process") as api, pytest.raises(OSError):
        api.post("/checklists", json={"title": "T", "type": "form"})
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["org.json", "org.json.lock"]


def test_request_log_has_one_json_line_per_request(tmp_path: Path, mode: str) -> None:
    log = tmp_path / "requests.jsonl"
    emulator = Emulator(request_log=log)
    with connect(emulator, mode) as api:
        api.get("/users", params={"per_page": 5})
        api.post("/checklists", json={"title": "T"})
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    org = emulator.org_id
    assert lines == [
        {"method": "GET", "path": f"/api/organizations/{org}/users", "status": 200},
        {
            "method": "POST",
            "path": f"/api/organizations/{org}/checklists",
            "status": 422,
            "body": {"title": "T"},
        },
    ]
    assert emulator.requests == lines


def test_the_in_memory_request_log_can_be_bounded(tmp_path: Path) -> None:
    """A long-running emulator keeps the latest requests only (or none: the file has them)."""
    emulator = Emulator(keep_requests=3)
    with connect(emulator, "in_process") as api:
        for number in range(20):
            api.get("/users", params={"page": number})
    assert 3 <= len(emulator.requests) <= 6
    assert emulator.requests[-1]["status"] == 200
    log = tmp_path / "requests.jsonl"
    silent = Emulator(keep_requests=0, request_log=log)
    with connect(silent, "in_process") as api:
        api.post("/checklists", json={"title": "T", "type": "form"})
    assert silent.requests == []
    assert json.loads(log.read_text())["body"] == {"title": "T", "type": "form"}
