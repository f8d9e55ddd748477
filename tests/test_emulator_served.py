"""`tallyform emulator serve` as a real process: concurrency, kill and restart, the CLI."""

from __future__ import annotations

import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tallyform.emulator import DEFAULT_ORG_ID
from tallyform.emulator.store import StateFile
from tests.conftest import run_cli
from tests.emulator_helpers import auth, served


def _client_workload(url: str, worker: int, rounds: int) -> list[int]:
    statuses = []
    with httpx.Client(base_url=url, headers=auth(), timeout=30) as api:
        for number in range(rounds):
            created = api.post(
                "/checklists", json={"title": f"W{worker}-{number}", "type": "procedure"}
            )
            statuses.append(created.status_code)
            template_id = created.json()["data"]["id"]
            step = api.post(
                f"/checklists/{template_id}/steps", json={"checklist_id": template_id, "title": "S"}
            )
            statuses.append(step.status_code)
            statuses.append(
                api.get(f"/checklists/{template_id}", params={"with": "steps"}).status_code
            )
            statuses.append(
                api.get("/checklists", params={"per_page": 100, "page": number % 3 + 1}).status_code
            )
            statuses.append(
                api.put(
                    f"/checklists/{template_id}", json={"title": f"W{worker}-{number}!"}
                ).status_code
            )
    return statuses


def test_served_emulator_takes_2000_requests_from_8_clients(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    log = tmp_path / "requests.jsonl"
    with served("--state", str(state), "--request-log", str(log), "--rate-limit", "0") as (
        process,
        url,
    ):
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda w: _client_workload(url, w, 50), range(8)))
        assert process.poll() is None
    statuses = [s for worker in results for s in worker]
    assert len(statuses) == 2000
    assert set(statuses) <= {200, 201}, sorted(set(statuses))
    assert len(log.read_text().splitlines()) == 2000
    saved = StateFile(state).load()
    assert saved is not None
    templates = saved["checklists"]
    assert len(templates) == 400
    assert all(t["title"].endswith("!") and len(t["steps"]) == 1 for t in templates.values())


def test_a_killed_emulator_restarts_with_its_state(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    with served("--state", str(state)) as (process, url):
        with httpx.Client(base_url=url, headers=auth(), timeout=10) as api:
            made = [
                api.post("/checklists", json={"title": f"T{i}", "type": "form"}).json()["data"][
                    "id"
                ]
                for i in range(20)
            ]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with (
        served("--state", str(state)) as (_, url),
        httpx.Client(base_url=url, headers=auth(), timeout=10) as api,
    ):
        listed = api.get("/checklists", params={"per_page": 100}).json()["data"]
        assert sorted(t["id"] for t in listed) == sorted(made)


def test_served_emulator_injects_faults_when_asked(tmp_path: Path) -> None:
    with (
        served("--fail-rate", "1", "--seed", "3") as (_, url),
        httpx.Client(base_url=url, headers=auth(), timeout=10) as api,
    ):
        outcomes = set()
        for _ in range(30):
            try:
                outcomes.add(api.get("/users").status_code)
            except httpx.TransportError:
                outcomes.add("dropped")
        assert 200 not in outcomes
        assert {"dropped", 429} <= outcomes


def test_served_emulator_paces_with_its_rate_limit() -> None:
    with (
        served("--rate-limit", "5") as (_, url),
        httpx.Client(base_url=url, headers=auth(), timeout=10) as api,
    ):
        statuses = [api.get("/users").status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]


def test_serve_help_lists_people_groups_and_tokens() -> None:
    result = run_cli("emulator", "serve", "--help")
    assert result.exit_code == 0
    for needle in (
        "alice@example.com",
        "erin@example.com",
        "Finance",
        "Engineering",
        "emulator-admin-token",
        "emulator-member-token",
        DEFAULT_ORG_ID,
    ):
        assert needle in result.stdout


@pytest.mark.parametrize("option", ["--org-id", "--org"])
def test_serve_refuses_a_bad_org_id(option: str) -> None:
    result = run_cli("emulator", "serve", option, "NOT-HEX")
    assert result.exit_code == 1
    assert "--org-id" in result.output and "32 lowercase hex" in result.output


def test_serve_refuses_a_corrupt_state_file(tmp_path: Path) -> None:
    state = tmp_path / "org.json"
    state.write_text("{not json")
    result = run_cli("emulator", "serve", "--state", str(state))
    assert result.exit_code == 1
    assert "cannot load the emulator state" in result.output


def test_a_port_in_use_is_said_with_what_to_do() -> None:
    """A second emulator on a taken port: one line naming the port and --port, exit 1,
    never a crash report."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = run_cli("emulator", "serve", "--port", str(port))
    assert result.exit_code == 1, result.output
    assert f"port {port} is in use" in result.stderr and "--port" in result.stderr
    assert "stopped unexpectedly" not in result.output and "Traceback" not in result.output
