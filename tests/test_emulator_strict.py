"""The emulator's request log: each write's body, parsed, with secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tallyform.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    IN_PROCESS_URL,
    Emulator,
    EmulatorTransport,
)
from tests.emulator_helpers import auth, connect, new_template
from tests.test_emulator_served import served

# The request log -------------------------------------------------------------------------


def test_the_request_log_keeps_write_bodies_with_secrets_masked(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    emulator = Emulator(request_log=log)
    with httpx.Client(transport=EmulatorTransport(emulator)) as raw:
        granted = raw.post(
            IN_PROCESS_URL.removesuffix("/api") + "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "scope": "*",
            },
        )
        assert granted.status_code == 200
    with connect(emulator, "in_process") as api:
        template = new_template(api, summary="Buy")
        api.get("/checklists")
        api.put(
            f"/checklists/{template['id']}",
            json={"title": "T", "webhook": "https://x.test/?a=1", "auth": {"password": "hunter2"}},
        )
        api.delete(f"/checklists/{template['id']}")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == emulator.requests
    token, create, listing, update, archive = lines
    assert token["body"] == {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": "***",
        "scope": "*",
    }
    assert create["body"] == {"title": "Template", "type": "procedure", "summary": "Buy"}
    assert "body" not in listing
    assert update["body"] == {
        "title": "T",
        "webhook": "https://x.test/?a=1",
        "auth": {"password": "***"},
    }
    assert archive["body"] == {}
    assert DEFAULT_CLIENT_SECRET not in log.read_text() and "hunter2" not in log.read_text()


def test_served_request_log_keeps_bodies(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with (
        served("--request-log", str(log), "--rate-limit", "0") as (_, url),
        httpx.Client(base_url=url, headers=auth(), timeout=10) as api,
    ):
        new_template(api, title="Logged", access_token="secret-value")
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["body"] == {"title": "Logged", "type": "procedure", "access_token": "***"}
