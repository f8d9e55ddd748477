"""-vv shows request and answer bodies with secrets masked; an answer of an unexpected
shape ends in an error naming the request and what was missing."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tallyform.client import StaticToken, TallyfyClient, TallyfyError
from tallyform.client.redact import masked_body, register_secret
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport
from tallyform.tallyfy.read import read_org
from tests.client_helpers import client_for
from tests.conftest import run_cli


def test_a_body_is_logged_compact_with_secret_named_values_masked() -> None:
    register_secret("s3cret-value-long")
    body = {"title": "T", "client_secret": "abc", "nested": [{"access_token": "x"}]}
    assert masked_body(json.dumps(body).encode()) == (
        '{"title":"T","client_secret":"***","nested":[{"access_token":"***"}]}'
    )
    form = b"grant_type=client_credentials&client_id=7&client_secret=abc&password=pw"
    assert masked_body(form) == (
        "grant_type=client_credentials&client_id=7&client_secret=***&password=***"
    )
    assert masked_body(b'{"note": "s3cret-value-long"}') == '{"note":"***"}'
    assert masked_body(b"") == "(empty)"
    assert (
        masked_body(b'"' + b"x" * 50 + b'"', limit=10)
        == '"xxxxxxxxx... (42 more characters left out)'
    )


def test_vv_shows_request_and_answer_bodies(project: object) -> None:
    root = project()  # type: ignore[operator]
    result = run_cli("--no-color", "-vv", "-C", str(root), "plan")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    sends = [line for line in lines if " sends: " in line]
    assert not sends, "a GET sends no body, and -vv says nothing of it"
    answers = [line for line in lines if " answered 200: " in line]
    assert any(line.startswith("tallyform.client: GET /api/organizations/") for line in answers)
    assert any('"data":' in line for line in answers), "the answer's body is shown"
    assert "emulator-admin-token" not in result.output


class _NoIdForOneUser(httpx.BaseTransport):
    """The emulator, but the second user of GET /users comes without its id."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "GET" and request.url.path.endswith("/users"):
            body = json.loads(response.read())
            del body["data"][1]["id"]
            return httpx.Response(response.status_code, headers=response.headers, json=body)
        return response


def test_a_member_without_id_names_the_request_and_what_is_missing() -> None:
    emulator = Emulator()
    transport = _NoIdForOneUser(EmulatorTransport(emulator))
    with (
        TallyfyClient(
            org_id=emulator.org_id,
            base_url=IN_PROCESS_URL,
            transport=transport,
            credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        ) as client,
        pytest.raises(TallyfyError) as raised,
    ):
        read_org(client)
    users = len(emulator.state["users"])
    assert str(raised.value) == (
        f"GET /organizations/{emulator.org_id}/users: the 2nd of {users} members of the answer "
        "has no 'id'; Tallyfy answered in a shape tallyform does not know, so nothing was "
        "changed. Run again with -vv to see the answer, and report it if it persists"
    )


def test_bodies_are_not_logged_below_vv(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tallyform"), client_for(Emulator()) as client:
        client.check_credentials()
    assert not [r for r in caplog.records if " sends: " in r.getMessage()]


def test_vv_shows_what_a_write_sends(project: object) -> None:
    root = project({"t.yaml": "title: Hello\nsteps: [{key: a, title: A}]\n"})  # type: ignore[operator]
    result = run_cli("--no-color", "-vv", "-C", str(root), "apply", "--yes")
    assert result.exit_code == 0, result.output
    posts = [line for line in result.stderr.splitlines() if " sends: " in line]
    assert any("/checklists sends: {" in line and '"title":' in line for line in posts), posts
