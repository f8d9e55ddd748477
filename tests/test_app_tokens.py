"""An application acting as a user: ``act_as`` mints that user's token with the app's token.

Tallyfy documents the mint (``POST /applications/{org}/users/{email}/token``, reference
2.4) but not whether an application's own token may act (10.7); the emulator's
``app_tokens_cannot_act`` quirk takes the pessimistic answer, and ``act_as`` works either way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tallyform.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_MEMBER_TOKEN,
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
    Quirks,
)
from tests.client_helpers import FakeTime
from tests.conftest import run_cli
from tests.emulator_helpers import HEADERS

ORG_ID = "1505bb7b9ba5f8972ffd3fe1ca18ec0c"


# Configuration ---------------------------------------------------------------------------


def test_act_as_is_read_with_an_application(project: Callable[..., Path]) -> None:
    from tallyform.config.project import load_project

    config = (
        "version: 1\norgs:\n  prod:\n"
        f"    org_id: {ORG_ID}\n"
        "    client_id_env: APP_ID\n"
        "    client_secret_env: APP_SECRET\n"
        "    act_as: alice@example.com\n"
    )
    root = project(config=config)
    loaded, problems = load_project(root / "tallyform.yaml")
    assert problems == [] and loaded is not None
    assert loaded.orgs["prod"].act_as == "alice@example.com"
    assert run_cli("-C", str(root), "validate").exit_code == 0


def test_act_as_without_an_application_is_a_problem_at_its_line(
    project: Callable[..., Path],
) -> None:
    config = f"version: 1\norgs:\n  prod:\n    org_id: {ORG_ID}\n    act_as: alice@example.com\n"
    result = run_cli("-C", str(project(config=config)), "validate")
    assert result.exit_code == 1
    assert "tallyform.yaml:5:5: error: org 'prod' sets `act_as:` without an application" in (
        result.output
    )
    assert "client_id_env" in result.output


def test_act_as_must_be_an_email(project: Callable[..., Path]) -> None:
    config = (
        "version: 1\norgs:\n  prod:\n"
        f"    org_id: {ORG_ID}\n"
        "    client_id_env: APP_ID\n"
        "    act_as: alice\n"
    )
    result = run_cli("-C", str(project(config=config)), "validate")
    assert result.exit_code == 1
    assert "tallyform.yaml:6:13: error: 'alice' must be the email address of a member" in (
        result.output
    )


# The emulator's mint ----------------------------------------------------------------------


@contextmanager
def _api_root(emulator: Emulator, mode: str) -> Iterator[httpx.Client]:
    """An httpx client at the API root (``.../api``), no token of its own."""
    if mode == "in_process":
        with httpx.Client(transport=EmulatorTransport(emulator), base_url=IN_PROCESS_URL) as raw:
            yield raw
        return
    with EmulatorServer(emulator) as server, httpx.Client(base_url=server.url, timeout=10) as raw:
        yield raw


def _bearer(token: str) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {token}"}


def _app_token(raw: httpx.Client) -> str:
    granted = raw.post(
        str(raw.base_url).rstrip("/").removesuffix("/api") + "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
            "scope": "*",
        },
    )
    assert granted.status_code == 200, granted.text
    return str(granted.json()["access_token"])


def _mint(raw: httpx.Client, token: str, email: str, org: str) -> httpx.Response:
    return raw.post(f"/applications/{org}/users/{email}/token", headers=_bearer(token))


def test_an_application_mints_a_token_that_acts_as_the_member(mode: str) -> None:
    emulator = Emulator()
    with _api_root(emulator, mode) as raw:
        app = _app_token(raw)
        minted = _mint(raw, app, "Bob@Example.com", emulator.org_id)
        assert minted.status_code == 200, minted.text
        body = minted.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 7776000
        user_token = body["access_token"]
        assert user_token not in (app, DEFAULT_TOKEN, DEFAULT_MEMBER_TOKEN)
        me = raw.get("/me", headers=_bearer(user_token))
        assert me.json()["data"]["email"] == "bob@example.com"
        listed = raw.get(f"/organizations/{emulator.org_id}/users", headers=_bearer(user_token))
        assert listed.status_code == 200
        again = _mint(raw, app, "bob@example.com", emulator.org_id).json()["access_token"]
        assert again != user_token, "each mint is a new token"
        by_default = raw.get("/me", headers=_bearer(app))
        assert by_default.json()["data"]["email"] == "alice@example.com", (
            "by default the application's own token acts for its user"
        )


def test_only_an_application_mints_and_only_for_a_member_of_its_org(mode: str) -> None:
    emulator = Emulator()
    with _api_root(emulator, mode) as raw:
        app = _app_token(raw)
        user_token = _mint(raw, app, "carol@example.com", emulator.org_id).json()["access_token"]
        for token in (DEFAULT_TOKEN, DEFAULT_MEMBER_TOKEN, user_token):
            refused = _mint(raw, token, "carol@example.com", emulator.org_id)
            assert refused.status_code == 403, token
            assert "application" in refused.json()["message"]
        stranger = _mint(raw, app, "mallory@example.com", emulator.org_id)
        assert stranger.status_code == 404
        elsewhere = _mint(raw, app, "carol@example.com", "0" * 32)
        assert elsewhere.status_code == 403
        assert elsewhere.json()["message"] == (
            "You don't have application's permissions for this organization!"
        )
        anonymous = raw.post(
            f"/applications/{emulator.org_id}/users/carol@example.com/token", headers=HEADERS
        )
        assert anonymous.status_code == 401
    statuses = [r["status"] for r in emulator.requests if "/applications/" in r["path"]]
    assert statuses == [200, 403, 403, 403, 404, 403, 401]


def test_a_minted_token_expires_after_its_lifetime_and_is_kept_in_the_state_file(
    tmp_path: Path,
) -> None:
    wall = FakeTime(start=5_000_000.0)
    state = tmp_path / "org.json"
    emulator = Emulator(state_file=state, wall_clock=wall)
    with _api_root(emulator, "in_process") as raw:
        user_token = _mint(raw, _app_token(raw), "dave@example.com", emulator.org_id).json()[
            "access_token"
        ]
    reopened = Emulator(state_file=state, wall_clock=wall)
    with _api_root(reopened, "in_process") as raw:
        assert raw.get("/me", headers=_bearer(user_token)).status_code == 200
        wall.sleep(7776000)
        assert raw.get("/me", headers=_bearer(user_token)).status_code == 401


def test_the_quirk_refuses_an_application_token_but_not_the_tokens_it_mints(mode: str) -> None:
    emulator = Emulator(quirks=Quirks.named(["app_tokens_cannot_act"]))
    assert Quirks.strict().app_tokens_cannot_act
    org = f"/organizations/{emulator.org_id}"
    with _api_root(emulator, mode) as raw:
        app = _app_token(raw)
        refused = [
            raw.get("/me", headers=_bearer(app)),
            raw.get("/me/organizations", headers=_bearer(app)),
            raw.get(f"{org}/checklists", headers=_bearer(app)),
            raw.post(
                f"{org}/checklists", json={"title": "T", "type": "form"}, headers=_bearer(app)
            ),
            raw.post(
                f"{org}/custom-field-keys",
                json={"key": "k", "applies_to": "checklist"},
                headers=_bearer(app),
            ),
        ]
        for answer in refused:
            assert answer.status_code == 403, answer.request.url
            assert answer.json()["message"] == (
                "You don't have application's permissions for this organization!"
            )
        user_token = _mint(raw, app, "alice@example.com", emulator.org_id).json()["access_token"]
        assert raw.get("/me", headers=_bearer(user_token)).json()["data"]["id"] == 1
        made = raw.post(
            f"{org}/checklists", json={"title": "T", "type": "form"}, headers=_bearer(user_token)
        )
        assert made.status_code == 201
        assert raw.get("/me", headers=_bearer(DEFAULT_TOKEN)).status_code == 200
    assert [t["title"] for t in emulator.state["checklists"].values()] == ["T"]
