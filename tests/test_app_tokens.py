"""An application acting as a user: ``act_as`` mints that user's token with the app's token.

Tallyfy documents the mint (``POST /applications/{org}/users/{email}/token``, reference
2.4) but not whether an application's own token may act (10.7); the emulator's
``app_tokens_cannot_act`` quirk takes the pessimistic answer, and ``act_as`` works either way.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tallyform.client import (
    ActAsUser,
    AuthError,
    ClientCredentials,
    Session,
    TallyfyClient,
    install_log_redaction,
    redact,
)
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
from tests.client_helpers import FakeTime, Recording
from tests.conftest import EXAMPLES, run_cli
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


# The client ------------------------------------------------------------------------------

SOURCE = "APP_ID/APP_SECRET"


@contextmanager
def _acting(
    emulator: Emulator,
    mode: str,
    email: str = "bob@example.com",
    clock: Callable[[], float] | None = None,
    secret: str = DEFAULT_CLIENT_SECRET,
) -> Iterator[tuple[TallyfyClient, ActAsUser, Recording]]:
    """A TallyfyClient acting as ``email`` through the application, in-process or served."""
    with _api_root(emulator, mode) as raw:
        inner = raw._transport
        recording = Recording(inner)
        base = str(raw.base_url).rstrip("/")
        http = Session(recording, timeout=10)
        timing = {"clock": clock} if clock is not None else {}
        app = ClientCredentials(
            DEFAULT_CLIENT_ID,
            secret,
            token_urls(base),
            http,
            SOURCE,
            **timing,
        )
        credentials = ActAsUser(app, base, emulator.org_id, email, http, **timing)
        with TallyfyClient(
            org_id=emulator.org_id,
            org_name="prod",
            base_url=base,
            credentials=credentials,
            transport=recording,
        ) as client:
            yield client, credentials, recording


def test_act_as_mints_a_member_token_and_acts_with_it_where_app_tokens_cannot(
    mode: str,
) -> None:
    emulator = Emulator(quirks=Quirks.named(["app_tokens_cannot_act"]))
    with _acting(emulator, mode) as (client, credentials, recording):
        assert client.check_credentials()["email"] == "bob@example.com"
        made = client.create("/checklists", {"title": "Acted", "type": "form"})
        assert client.get(f"/checklists/{made['id']}")["title"] == "Acted"
        assert credentials.minted == 1 and credentials.app.fetched == 1
        assert credentials.source == "APP_ID/APP_SECRET acting as bob@example.com"
        grant, mint, *rest = recording.requests
    assert grant.url.path == "/oauth/token"
    assert mint.method == "POST"
    assert mint.url.path == f"/api/applications/{emulator.org_id}/users/bob@example.com/token"
    assert mint.headers["accept"] == "application/json"
    assert mint.headers["x-tallyfy-client"] == "APIClient"
    app_token = mint.headers["authorization"].removeprefix("Bearer ")
    assert emulator.state["app_tokens"].get(app_token) == DEFAULT_CLIENT_ID
    used = {r.headers["authorization"] for r in rest}
    assert len(used) == 1 and app_token not in used.pop(), "the API sees only the member token"


def token_urls(base: str) -> list[str]:
    """Where tallyform asks for an application's token (see ``token_url_for``): beside the
    API, then on the account host, which strict's ``oauth_account_host`` leaves alone."""
    root = base.removesuffix("/api")
    return [f"{root}/oauth/token", f"{root}/account/oauth/token"]


def test_the_bare_application_token_is_refused_under_the_quirk(mode: str) -> None:
    emulator = Emulator(quirks=Quirks.strict())
    with _api_root(emulator, mode) as raw:
        base = str(raw.base_url).rstrip("/")
        app = ClientCredentials(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            token_urls(base),
            Session(raw._transport, timeout=10),
            SOURCE,
        )
        client = TallyfyClient(
            org_id=emulator.org_id,
            org_name="prod",
            base_url=base,
            credentials=app,
            transport=raw._transport,
        )
        with pytest.raises(AuthError) as raised:
            client.get("/checklists")
    assert raised.value.status == 403
    assert "credentials from APP_ID/APP_SECRET are not allowed" in str(raised.value)
    assert "for this organization. An application may need to act as a member" in str(raised.value)
    assert "!." not in str(raised.value)


def test_the_member_token_is_minted_again_before_it_expires_and_after_a_401() -> None:
    wall = FakeTime(start=5_000_000.0)
    emulator = Emulator(wall_clock=wall, user_token_lifetime=1000, app_token_lifetime=100_000)
    with _acting(emulator, "in_process", clock=wall) as (client, credentials, _):
        client.get("/users")
        client.get("/users")
        assert (credentials.minted, credentials.app.fetched) == (1, 1), "a fresh token is reused"
        wall.sleep(800)  # within five minutes of expiry
        client.get("/users")
        assert (credentials.minted, credentials.app.fetched) == (2, 1), "minted again in time"
        wall.sleep(2000)  # expired: minted again, the application's token is still good
        client.get("/users")
        assert (credentials.minted, credentials.app.fetched) == (3, 1)
        user_tokens = [t for t in emulator.state["tokens"] if t.startswith("user-")]
        for token in user_tokens:
            del emulator.state["tokens"][token]  # revoked on the server
        client.get("/users")
        assert (credentials.minted, credentials.app.fetched) == (4, 1), "minted after a 401"
        emulator.state["tokens"].clear()  # both revoked: the mint's 401 renews the app token
        client.get("/users")
        assert (credentials.minted, credentials.app.fetched) == (5, 2)
    statuses = [r["status"] for r in emulator.requests]
    assert statuses.count(401) == 3, "the API's 401 twice, and the mint's once"


def test_a_stranger_or_a_bad_secret_is_a_clear_error_without_secrets(mode: str) -> None:
    emulator = Emulator()
    with (
        _acting(emulator, mode, email="mallory@example.com") as (client, _, _),
        pytest.raises(AuthError) as stranger,
    ):
        client.check_credentials()
    message = str(stranger.value)
    assert stranger.value.status == 404
    assert "no member mallory@example.com in org" in message and SOURCE in message
    assert "`act_as` must be the email of a member" in message
    with (
        _acting(emulator, mode, secret="wrong-secret-value") as (client, _, _),
        pytest.raises(AuthError) as refused,
    ):
        client.check_credentials()
    assert SOURCE in str(refused.value) and "wrong-secret-value" not in str(refused.value)
    minted = [t for t in emulator.state["tokens"] if t.startswith(("app-", "user-"))]
    assert all(token not in message for token in [*minted, DEFAULT_CLIENT_SECRET])


def test_minted_tokens_are_masked_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    caplog.set_level(logging.INFO, logger="tallyform")
    emulator = Emulator()
    with _acting(emulator, "in_process") as (client, _, recording):
        client.get("/users")
        member = recording.requests[-1].headers["authorization"].removeprefix("Bearer ")
        logging.getLogger("tallyform.client").info("oops: %s", member)
    assert member.startswith("user-") and redact(f"token {member}") == "token ***"
    lines = [r.getMessage() for r in caplog.records]
    assert "oops: ***" in lines and all(member not in line for line in lines)


def test_open_client_acts_as_the_configured_member() -> None:
    from tallyform.cli.connect import open_client
    from tallyform.config import OrgSettings

    emulator = Emulator(quirks=Quirks.named(["app_tokens_cannot_act"]))
    org = OrgSettings(
        name="app",
        org_id=emulator.org_id,
        api_url="https://go.tallyfy.com/api",
        client_id_env="ID",
        client_secret_env="SECRET",
        act_as="carol@example.com",
    )
    env = {"ID": DEFAULT_CLIENT_ID, "SECRET": DEFAULT_CLIENT_SECRET}
    with open_client(org, env=env, transport=EmulatorTransport(emulator)) as client:
        assert isinstance(client.credentials, ActAsUser)
        assert client.check_credentials()["email"] == "carol@example.com"
    with pytest.raises(AuthError, match="set SECRET in the environment"):
        open_client(org, env={"ID": DEFAULT_CLIENT_ID})


# End to end: the CLI against a served emulator ---------------------------------------------

ID_ENV = "TALLYFORM_E2E_APP_ID"
SECRET_ENV = "TALLYFORM_E2E_APP_SECRET"


def _served_project(tmp_path: Path, url: str, org_id: str, act_as: str | None) -> Path:
    root = tmp_path / "project"
    if not root.exists():
        shutil.copytree(EXAMPLES / "templates", root / "templates")
    (root / "tallyform.yaml").write_text(
        "version: 1\n"
        "default_org: served\n"
        "orgs:\n"
        "  served:\n"
        f"    org_id: {org_id}\n"
        f"    api_url: {url}\n"
        f"    client_id_env: {ID_ENV}\n"
        f"    client_secret_env: {SECRET_ENV}\n"
        + (f"    act_as: {act_as}\n" if act_as else "")
        + "    requests_per_minute: 0\n"
    )
    return root


def test_plan_and_apply_act_as_a_member_where_the_app_token_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tallyform")
    emulator = Emulator(quirks=Quirks.strict())
    monkeypatch.setenv(ID_ENV, DEFAULT_CLIENT_ID)
    monkeypatch.setenv(SECRET_ENV, DEFAULT_CLIENT_SECRET)
    with EmulatorServer(emulator) as server:
        bare = _served_project(tmp_path, server.url, emulator.org_id, act_as=None)
        refused = run_cli("-C", str(bare), "plan")
        root = _served_project(tmp_path, server.url, emulator.org_id, act_as="alice@example.com")
        saved = root / "plan.json"
        outputs = [
            run_cli("-v", "-C", str(root), "plan", "--out", str(saved)),
            run_cli("-v", "-C", str(root), "apply", str(saved)),
            run_cli("-v", "-C", str(root), "plan", "--detailed-exitcode"),
        ]
        stranger = _served_project(tmp_path, server.url, emulator.org_id, "zoe@example.com")
        unknown = run_cli("-C", str(stranger), "plan")
    assert refused.exit_code == 1
    assert "You don't have application's permissions for this organization. " in refused.output
    assert f"{ID_ENV}/{SECRET_ENV}" in refused.output
    assert [r.exit_code for r in outputs] == [0, 0, 0], [r.output for r in outputs]
    assert "No changes." in outputs[2].stdout
    assert unknown.exit_code == 1 and "no member zoe@example.com in org" in unknown.output
    titles = sorted(t["title"] for t in emulator.state["checklists"].values())
    assert len(titles) == 6 and len(set(titles)) == 6
    minted = [t for t in emulator.state["tokens"] if t.startswith("user-")]
    app_tokens = list(emulator.state["app_tokens"])
    assert minted and app_tokens
    texts = [r.output for r in [refused, *outputs, unknown]]
    texts += [saved.read_text(), *(record.getMessage() for record in caplog.records)]
    for secret in [*minted, *app_tokens, DEFAULT_CLIENT_SECRET]:
        assert all(secret not in text for text in texts)
    mints = [r for r in emulator.requests if "/applications/" in r["path"]]
    assert [r["status"] for r in mints] == [200, 200, 200, 404], "one mint a command"
    nulls = [r for r in emulator.requests if "body" in r and "null" in json.dumps(r["body"])]
    assert not nulls, nulls


def test_an_application_that_cannot_see_custom_fields_is_told_to_act_as_a_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ``custom_fields_null`` an application's own token sees every custom field as
    null: plan and apply stop before any write, saying what to do; with ``act_as`` the
    minted member token sees the values, and the examples converge."""
    emulator = Emulator(quirks=Quirks.named(["custom_fields_null"]))
    monkeypatch.setenv(ID_ENV, DEFAULT_CLIENT_ID)
    monkeypatch.setenv(SECRET_ENV, DEFAULT_CLIENT_SECRET)
    with EmulatorServer(emulator) as server:
        bare = _served_project(tmp_path, server.url, emulator.org_id, act_as=None)
        refused = [run_cli("-C", str(bare), "plan"), run_cli("-C", str(bare), "apply", "--yes")]
        written = [
            r for r in emulator.requests if r["method"] != "GET" and "/tags" not in r["path"]
        ]
        root = _served_project(tmp_path, server.url, emulator.org_id, act_as="alice@example.com")
        applied = run_cli("-C", str(root), "apply", "--yes")
        again = run_cli("-C", str(root), "plan", "--detailed-exitcode")
    for result in refused:
        assert result.exit_code == 1
        assert "these credentials cannot see custom-field values" in result.output
        assert "act_as: EMAIL" in result.output and "Nothing was changed." in result.output
        assert "Traceback" not in result.output
    assert [r["path"] for r in written] == ["/oauth/token"] * len(written), "no write to the org"
    assert applied.exit_code == 0, applied.output
    assert again.exit_code == 0, again.output
