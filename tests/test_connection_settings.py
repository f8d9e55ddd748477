"""Connecting to a Tallyfy org: unsafe URLs and mangled tokens stop before any request, and
the first answers that show a wrong setting say which setting.

The org is a served emulator over a loopback socket, so every request is a real one and
the emulator's request log shows whether anything was sent.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tallyform.client import RetryPolicy, StaticToken, TallyfyClient, Unavailable
from tallyform.emulator import DEFAULT_TOKEN, Emulator, EmulatorServer
from tests.client_helpers import FakeTime
from tests.conftest import EXAMPLES, run_cli

TOKEN_ENV = "TALLYFORM_TEST_TOKEN"
OTHER_ORG = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def served() -> Iterator[tuple[Emulator, str]]:
    emulator = Emulator()
    with EmulatorServer(emulator) as server:
        yield emulator, server.url


def _project(root: Path, org_lines: str) -> Path:
    shutil.copytree(EXAMPLES / "templates", root / "templates", dirs_exist_ok=True)
    (root / "tallyform.yaml").write_text(
        "version: 1\ndefault_org: prod\norgs:\n  prod:\n"
        f"    token_env: {TOKEN_ENV}\n    requests_per_minute: 0\n{org_lines}"
    )
    return root


def _org(org_id: str, url: str) -> str:
    return f"    org_id: {org_id}\n    api_url: {url}\n"


def test_plain_http_is_accepted_to_this_machine_and_when_said_in_so_many_words(
    project: Callable[..., Path], tmp_path: Path
) -> None:
    loopback = _project(tmp_path / "a", _org(OTHER_ORG, "http://127.0.0.1:8700/api"))
    localhost = _project(tmp_path / "b", _org(OTHER_ORG, "http://localhost:8700/api"))
    said = _project(
        tmp_path / "c",
        _org(OTHER_ORG, "http://tallyfy.internal/api") + "    allow_insecure_http: true\n",
    )
    for root in (loopback, localhost, said):
        result = run_cli("-C", str(root), "validate")
        assert result.exit_code == 0, result.output


def test_plan_with_an_unsafe_api_url_is_stopped_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "a-token-that-must-stay-home")
    root = _project(tmp_path, _org(OTHER_ORG, "http://tallyfy.example.invalid/api"))
    result = run_cli("-C", str(root), "plan")
    assert result.exit_code == 1
    assert "would send the token in clear text" in result.output
    assert "cannot connect" not in result.output  # nothing was tried
    assert "a-token-that-must-stay-home" not in result.output


def test_a_token_pasted_with_its_line_break_still_works(
    served: tuple[Emulator, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, url = served
    monkeypatch.setenv(TOKEN_ENV, f" {DEFAULT_TOKEN}\n")
    result = run_cli("-C", str(_project(tmp_path, _org(emulator.org_id, url))), "plan")
    assert result.exit_code == 0, result.output
    assert "to create" in result.stdout


@pytest.mark.parametrize(
    ("token", "what"),
    [
        ("emulator-admin\ntoken", "holds a line break (at character 15 of 20)"),
        ("emulator admin-token", "holds a space (at character 9 of 20)"),
        ("émulator-admin-token", "holds a character that is not ASCII (at character 1 of 20)"),
        ("emulator-admin-token\x07", "holds a control character"),
    ],
)
def test_a_mangled_token_is_refused_before_any_request(
    served: tuple[Emulator, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    token: str,
    what: str,
) -> None:
    emulator, url = served
    monkeypatch.setenv(TOKEN_ENV, token)
    result = run_cli("-C", str(_project(tmp_path, _org(emulator.org_id, url))), "plan")
    assert result.exit_code == 1
    assert f"Error: {TOKEN_ENV} {what}" in result.output
    assert "Traceback" not in result.output and token.strip() not in result.output
    assert emulator.requests == []


def test_a_wrong_org_id_names_the_orgs_the_token_belongs_to(
    served: tuple[Emulator, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, url = served
    monkeypatch.setenv(TOKEN_ENV, DEFAULT_TOKEN)
    result = run_cli("-C", str(_project(tmp_path, _org(OTHER_ORG, url))), "plan")
    assert result.exit_code == 1
    assert (
        f"These credentials belong to Emulated Organization ({emulator.org_id}), "
        f"not to {OTHER_ORG}: is `org_id:` right?"
    ) in result.output
    asked = [r for r in emulator.requests if r["path"] == "/api/me/organizations"]
    assert len(asked) == 1, "asked once however many reads were refused"


def test_the_right_org_id_gets_no_such_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = Emulator()
    member = "emulator-member-token"  # a standard member: may not define custom-field keys
    monkeypatch.setenv(TOKEN_ENV, member)
    with EmulatorServer(emulator) as server:
        result = run_cli(
            "-C", str(_project(tmp_path, _org(emulator.org_id, server.url))), "apply", "--yes"
        )
    assert result.exit_code == 1
    assert "These credentials belong to" not in result.output


def test_an_api_url_without_api_says_where_the_api_is(
    served: tuple[Emulator, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator, url = served
    monkeypatch.setenv(TOKEN_ENV, DEFAULT_TOKEN)
    root = _project(tmp_path, _org(emulator.org_id, url.removesuffix("/api")))
    result = run_cli("-C", str(root), "plan")
    assert result.exit_code == 1
    assert "GET /me answered 404" in result.output
    assert "is `api_url` (" in result.output and "its path ends in /api" in result.output


class Refusing(httpx.BaseTransport):
    """A host where nothing listens, until ``listening`` is set."""

    def __init__(self) -> None:
        self.tries = 0
        self.listening = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.tries += 1
        if self.listening:
            return httpx.Response(200, json={"data": {"id": 1}})
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def _client(transport: Refusing, clock: FakeTime) -> TallyfyClient:
    return TallyfyClient(
        org_id=OTHER_ORG,
        base_url="http://127.0.0.1:9/api",
        credentials=StaticToken("t", source=TOKEN_ENV),
        transport=transport,
        retry=RetryPolicy(attempts=5),
        sleep=clock.sleep,
        seed=1,
    )


def test_a_refused_first_connection_is_tried_twice_not_five_times() -> None:
    transport, clock = Refusing(), FakeTime()
    with _client(transport, clock) as client, pytest.raises(Unavailable) as raised:
        client.check_credentials()
    assert transport.tries == 2
    assert clock.slept < 2.0
    assert "cannot connect to http://127.0.0.1:9/api" in str(raised.value)


def test_once_the_api_has_answered_a_lost_connection_gets_every_retry() -> None:
    transport, clock = Refusing(), FakeTime()
    with _client(transport, clock) as client:
        transport.listening = True
        client.check_credentials()
        transport.listening, transport.tries = False, 0
        with pytest.raises(Unavailable):
            client.check_credentials()
    assert transport.tries == 5
