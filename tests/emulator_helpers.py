"""Helpers for driving the emulator through httpx, in-process or over a loopback socket,
and for serving it as a process of its own (`tallyform emulator serve`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tallyform.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_MEMBER_TOKEN,
    DEFAULT_ORG_ID,
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
)

HEADERS = {"X-Tallyfy-Client": "APIClient", "Accept": "application/json"}


def auth(token: str = DEFAULT_TOKEN) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {token}"}


@contextmanager
def connect(emulator: Emulator, mode: str, token: str = DEFAULT_TOKEN) -> Iterator[httpx.Client]:
    """An httpx client whose base URL is the emulated org, in-process or over HTTP."""
    if mode == "in_process":
        with httpx.Client(
            transport=EmulatorTransport(emulator),
            base_url=f"{IN_PROCESS_URL}/organizations/{emulator.org_id}",
            headers=auth(token),
        ) as client:
            yield client
        return
    with (
        EmulatorServer(emulator) as server,
        httpx.Client(
            base_url=f"{server.url}/organizations/{emulator.org_id}",
            headers=auth(token),
            timeout=10,
        ) as client,
    ):
        yield client


def application_token(emulator: Emulator) -> str:
    """An application's own token (the client-credentials grant at ``/oauth/token``): not a
    member's, unlike the personal tokens and the ones an application mints (``act_as``)."""
    form = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "scope": "*",
    }
    root = IN_PROCESS_URL.removesuffix("/api")
    with httpx.Client(transport=EmulatorTransport(emulator)) as raw:
        granted = raw.post(f"{root}/oauth/token", data=form)
        if granted.status_code == 404:  # the account host only (oauth_account_host)
            granted = raw.post(f"{root}/account/oauth/token", data=form)
    assert granted.status_code == 200, granted.text
    return str(granted.json()["access_token"])


def data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.text)
    return response.json()["data"]


def errors(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 422, (response.status_code, response.text)
    body = response.json()
    assert body["error"] is True and body["message"] == "The given data was invalid."
    found: dict[str, list[str]] = body["errors"]
    return found


def new_template(api: httpx.Client, **body: Any) -> dict[str, Any]:
    payload = {"title": "Template", "type": "procedure", **body}
    found: dict[str, Any] = data(api.post("/checklists", json=payload), 201)
    return found


def new_step(api: httpx.Client, template_id: str, **body: Any) -> dict[str, Any]:
    payload = {"checklist_id": template_id, "title": "Step", **body}
    found: dict[str, Any] = data(api.post(f"/checklists/{template_id}/steps", json=payload), 201)
    return found


def new_capture(api: httpx.Client, template_id: str, step_id: str, **body: Any) -> dict[str, Any]:
    payload = {"label": "Field", "field_type": "text", "required": False, **body}
    url = f"/checklists/{template_id}/steps/{step_id}/captures"
    found: dict[str, Any] = data(api.post(url, json=payload), 201)
    return found


@contextmanager
def served(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start `tallyform emulator serve` on a free port; yield the process and its org URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from tallyform.cli import main; main()",
            "emulator",
            "serve",
            "--port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in first, first + (
            process.stderr.read() if process.stderr else ""
        )
        base = first.split("listening on ")[1].strip()
        yield process, f"{base}/organizations/{DEFAULT_ORG_ID}"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


__all__ = ["DEFAULT_MEMBER_TOKEN", "DEFAULT_TOKEN"]
