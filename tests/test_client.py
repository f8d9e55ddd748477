"""The API client against the emulator: headers, pages, parallel reads, pacing, retries, errors."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from tallyform.client import (
    AuthError,
    ClientCredentials,
    NotFound,
    OutcomeUnknown,
    Pacer,
    RetryPolicy,
    Session,
    StaticToken,
    TallyfyClient,
    Unavailable,
    ValidationFailed,
)
from tallyform.client.retry import parse_retry_after
from tallyform.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorTransport,
    FaultSettings,
)
from tallyform.parallel import in_parallel
from tallyform.tallyfy.read import get_template
from tests.client_helpers import DropFirstAnswer, FakeTime, Recording, client_for

NO_WAIT = RetryPolicy(attempts=6, base=0.0, cap=0.0, jitter=0.0)


def _template(client: TallyfyClient, title: str) -> dict[str, Any]:
    found: dict[str, Any] = client.create("/checklists", {"title": title, "type": "procedure"})
    return found


def _titles(emulator: Emulator) -> list[str]:
    return sorted(t["title"] for t in emulator.state["checklists"].values())


def test_every_request_carries_the_required_headers(mode: str) -> None:
    with client_for(Emulator(), mode, recording=True) as client:
        client.check_credentials()
        _template(client, "T")
        recorded = client.session.transport
        assert isinstance(recorded, Recording)
        for request in recorded.requests:
            assert request.headers["authorization"] == "Bearer emulator-admin-token"
            assert request.headers["accept"] == "application/json"
            assert request.headers["x-tallyfy-client"] == "APIClient"
        assert recorded.requests[1].headers["content-type"] == "application/json"
        assert recorded.requests[1].url.path.endswith(f"/organizations/{client.org_id}/checklists")


def test_list_all_walks_every_page_at_100(mode: str) -> None:
    emulator = Emulator()
    with client_for(emulator, mode) as client:
        for number in range(250):
            client.call("POST", "/checklists", json={"title": f"T{number:03d}", "type": "form"})
        before = len(emulator.requests)
        rows = client.list_all("/checklists")
    assert len(rows) == 250 and len({r["id"] for r in rows}) == 250
    pages = emulator.requests[before:]
    assert len(pages) == 3, "250 items at 100 a page"


def test_reads_run_in_parallel_under_the_bound() -> None:
    emulator = Emulator(faults=FaultSettings(latency_ms=20))
    with client_for(emulator, recording=True) as client:
        ids = [_template(client, f"T{n}")["id"] for n in range(16)]
        recorded = client.session.transport
        assert isinstance(recorded, Recording)
        recorded.most_in_flight = 0
        templates = in_parallel(lambda i: get_template(client, i), ids, 4)
    assert [t["id"] for t in templates] == ids
    assert 2 <= recorded.most_in_flight <= 4


def test_a_template_comes_whole_in_one_request(mode: str) -> None:
    emulator = Emulator()
    with client_for(emulator, mode) as client:
        made = client.create(
            "/checklists",
            {
                "title": "T",
                "type": "procedure",
                "prerun": [
                    {"label": "B", "field_type": "text", "required": False, "position": 2},
                    {"label": "A", "field_type": "text", "required": False, "position": 1},
                ],
            },
        )
        base = f"/checklists/{made['id']}"
        step = client.create(f"{base}/steps", {"checklist_id": made["id"], "title": "S"})
        for label in ("x", "y"):
            client.create(
                f"{base}/steps/{step['id']}/captures",
                {"label": label, "field_type": "text", "required": False},
            )
        tag = client.create("/tags", {"title": "ops"})
        client.create(
            "/checklists/tags",
            {
                "subject_id": made["id"],
                "subject_type": "Checklist",
                "tag_id": tag["id"],
                "tag_type": "private",
            },
        )
        before = len(emulator.requests)
        template = get_template(client, made["id"])
    assert len(emulator.requests) == before + 1
    assert [p["label"] for p in template["prerun"]] == ["A", "B"]
    assert [c["label"] for c in template["steps"][0]["captures"]] == ["x", "y"]
    assert template["tags"][0]["tag_id"] == tag["id"]
    assert template["automated_actions"] == []


def test_pacing_stays_under_the_rate_limit_at_default_settings() -> None:
    clock = FakeTime()
    emulator = Emulator(rate_limit=600, rate_window=60.0, clock=clock)
    pacer = Pacer(600, clock=clock, sleep=clock.sleep)
    with client_for(emulator, pacer=pacer, sleep=clock.sleep) as client:
        for _ in range(1500):
            client.call("GET", "/users")
    statuses = {r["status"] for r in emulator.requests}
    assert statuses == {200}, "no 429 at all"
    assert client.stats.rate_limited == 0
    floor = (1500 - 600) / 10.0  # what the limit allows after the first minute's budget
    assert clock.now - 1000.0 >= floor
    assert pacer.waited == pytest.approx(clock.slept)


@pytest.mark.parametrize("commands", [(580, 50), (17, 555, 30), (14, 14, 600)])
def test_commands_run_back_to_back_stay_under_the_rate_limit(commands: tuple[int, ...]) -> None:
    """A plan, its apply, a plan to check: each command starts with a full bucket."""
    clock = FakeTime()
    emulator = Emulator(rate_limit=600, rate_window=60.0, clock=clock)
    for requests in commands:
        pacer = Pacer(600, clock=clock, sleep=clock.sleep)
        with client_for(emulator, pacer=pacer, sleep=clock.sleep) as client:
            for _ in range(requests):
                client.call("GET", "/users")
        assert client.stats.rate_limited == 0
    assert {r["status"] for r in emulator.requests} == {200}, "no 429 at all"


def test_a_plan_sized_burst_goes_without_waiting() -> None:
    clock = FakeTime()
    pacer = Pacer(600, clock=clock, sleep=clock.sleep)
    waits = [pacer.acquire() for _ in range(17)]
    assert waits[:14] == [0.0] * 14
    assert 0 < sum(waits) < 17 / 10.0


def test_429_waits_as_retry_after_says(mode: str) -> None:
    clock = FakeTime()
    emulator = Emulator(rate_limit=2, rate_window=30.0, clock=clock)
    with client_for(
        emulator, mode, pacer=Pacer(None, clock=clock, sleep=clock.sleep), sleep=clock.sleep
    ) as client:
        for _ in range(3):
            client.get("/users")
    assert [r["status"] for r in emulator.requests] == [200, 200, 429, 200]
    assert client.stats.rate_limited == 1
    assert clock.slept >= 30.0
    assert client.stats.waited >= 30.0


def test_creates_under_faults_never_duplicate(mode: str) -> None:
    emulator = Emulator(faults=FaultSettings(fail_rate=0.35, seed=11))
    clock = FakeTime()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    with client_for(emulator, mode, retry=NO_WAIT, sleep=clock.sleep, pacer=pacer) as client:

        def create(title: str) -> dict[str, Any]:
            def lookup() -> dict[str, Any] | None:
                found = [
                    t for t in client.list_all("/checklists", {"q": title}) if t["title"] == title
                ]
                return found[0] if found else None

            result: dict[str, Any] = client.create(
                "/checklists", {"title": title, "type": "form"}, lookup
            )
            return result

        made = [create(f"Template {n:02d}") for n in range(30)]
    assert _titles(emulator) == sorted(f"Template {n:02d}" for n in range(30))
    assert sorted(m["title"] for m in made) == _titles(emulator)
    failures = [r for r in emulator.requests if r["status"] != 200 and r["status"] != 201]
    assert failures, "the seed must have produced faults"
    assert client.stats.retries > 0
    assert client.stats.rate_limited > 0 and clock.slept >= client.stats.rate_limited


def test_a_create_with_unknown_outcome_is_not_repeated_blindly(mode: str) -> None:
    emulator = Emulator(faults=FaultSettings(fail_rate=1.0, kinds=("error_after",)))
    with (
        client_for(emulator, mode, retry=NO_WAIT, sleep=lambda s: None) as client,
        pytest.raises(OutcomeUnknown) as raised,
    ):
        _template(client, "Once")
    assert _titles(emulator) == ["Once"]
    assert "may or may not have been made" in str(raised.value)
    assert raised.value.method == "POST" and raised.value.status == 500


def test_a_dropped_create_is_found_not_resent(mode: str) -> None:
    emulator = Emulator(faults=FaultSettings(fail_rate=1.0, kinds=("drop_after",)))
    with client_for(emulator, mode, retry=NO_WAIT, sleep=lambda s: None) as client:
        calls: list[int] = []

        def lookup() -> dict[str, Any] | None:
            calls.append(1)
            rows = list(emulator.state["checklists"].values())
            return rows[0] if rows else None

        found = client.create("/checklists", {"title": "Dropped", "type": "form"}, lookup)
    assert found["title"] == "Dropped" and calls == [1]
    assert _titles(emulator) == ["Dropped"]


def test_reads_recover_from_5xx_and_drops(mode: str) -> None:
    emulator = Emulator(
        faults=FaultSettings(
            fail_rate=0.5, seed=3, kinds=("error", "drop", "error_after", "drop_after")
        )
    )
    with client_for(emulator, mode, retry=NO_WAIT, sleep=lambda s: None) as client:
        for _ in range(20):
            assert len(client.list_all("/users")) == 5
    assert client.stats.retries > 0


def test_retries_run_out_with_a_clear_error(mode: str) -> None:
    emulator = Emulator(faults=FaultSettings(fail_rate=1.0, kinds=("error",)))
    policy = RetryPolicy(attempts=3, base=0.0, cap=0.0, jitter=0.0)
    with (
        client_for(emulator, mode, retry=policy, sleep=lambda s: None) as client,
        pytest.raises(Unavailable) as raised,
    ):
        client.get("/users")
    assert raised.value.status == 503 and raised.value.method == "GET"
    assert str(raised.value).startswith(
        f"GET /organizations/{emulator.org_id}/users answered 503: "
    )
    assert len(emulator.requests) == 3


def test_backoff_grows_and_is_capped() -> None:
    import random

    policy = RetryPolicy(base=0.5, cap=8.0, jitter=0.2)
    rng = random.Random(0)
    delays = [policy.backoff(n, rng) for n in range(1, 8)]
    assert 0.4 <= delays[0] <= 0.6 and 0.8 <= delays[1] <= 1.2
    assert all(d <= 8.0 * 1.2 for d in delays) and delays[-1] >= 8.0 * 0.8


def test_a_retried_delete_that_finds_nothing_succeeds() -> None:
    emulator = Emulator()
    transport = DropFirstAnswer(EmulatorTransport(emulator), "DELETE")
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=transport,
        credentials=StaticToken(DEFAULT_TOKEN, "TEST_TOKEN"),
        retry=NO_WAIT,
        sleep=lambda s: None,
    )
    made = _template(client, "Gone")
    client.delete(f"/checklists/{made['id']}")
    assert transport.dropped
    assert [r["status"] for r in emulator.requests[-2:]] == [200, 404], (
        "archived, then already gone"
    )
    with pytest.raises(NotFound):
        client.delete(f"/checklists/{made['id']}")


def test_application_credentials_are_fetched_and_renewed() -> None:
    wall = FakeTime(start=5_000_000.0)
    emulator = Emulator(wall_clock=wall, app_token_lifetime=1000)
    transport = EmulatorTransport(emulator)
    token_url = IN_PROCESS_URL.removesuffix("/api") + "/oauth/token"
    credentials = ClientCredentials(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        token_url,
        Session(transport),
        "APP_ID/APP_SECRET",
        clock=wall,
    )
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        credentials=credentials,
        transport=transport,
    )
    assert client.check_credentials()["email"] == "alice@example.com"
    assert credentials.fetched == 1
    client.get("/users")
    assert credentials.fetched == 1, "a fresh token is reused"
    wall.sleep(800)  # within five minutes of expiry
    client.get("/users")
    assert credentials.fetched == 2, "renewed before it expires"
    emulator.state["tokens"].clear()  # revoked on the server
    client.get("/users")
    assert credentials.fetched == 3, "renewed once after a 401"


def test_bad_application_secret_is_a_clear_error() -> None:
    emulator = Emulator()
    transport = EmulatorTransport(emulator)
    token_url = IN_PROCESS_URL.removesuffix("/api") + "/oauth/token"
    credentials = ClientCredentials(
        DEFAULT_CLIENT_ID, "wrong-secret-value", token_url, Session(transport), "APP_ID/APP_SECRET"
    )
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        credentials=credentials,
        transport=transport,
    )
    with pytest.raises(AuthError) as raised:
        client.check_credentials()
    assert "APP_ID/APP_SECRET" in str(raised.value) and "wrong-secret-value" not in str(
        raised.value
    )


def test_open_client_reads_secrets_from_the_environment_only(tmp_path: Any) -> None:
    from tallyform.cli.connect import open_client, token_url_for
    from tallyform.config import OrgSettings

    emulator = Emulator()
    transport = EmulatorTransport(emulator)
    prod = OrgSettings(
        name="prod",
        org_id=emulator.org_id,
        api_url="https://go.tallyfy.com/api",
        token_env="MY_TOKEN",
    )
    with pytest.raises(AuthError, match="set MY_TOKEN in the environment"):
        open_client(prod, env={})
    client = open_client(prod, env={"MY_TOKEN": DEFAULT_TOKEN}, transport=transport)
    assert client.check_credentials()["id"] == 1
    assert client.pacer.rate is not None
    app = OrgSettings(
        name="app",
        org_id=emulator.org_id,
        api_url="https://go.tallyfy.com/api",
        client_id_env="ID",
        client_secret_env="SECRET",
    )
    # Beside the API first, then the account host: Tallyfy's pages name both.
    assert token_url_for(app) == [
        "https://go.tallyfy.com/oauth/token",
        "https://account.tallyfy.com/oauth/token",
    ]
    with pytest.raises(AuthError, match="set SECRET in the environment"):
        open_client(app, env={"ID": "1"})
    app_client = open_client(
        app, env={"ID": DEFAULT_CLIENT_ID, "SECRET": DEFAULT_CLIENT_SECRET}, transport=transport
    )
    assert app_client.check_credentials()["email"] == "alice@example.com"
    local = OrgSettings(name="local", emulator=tmp_path / "org.json")
    with open_client(local) as embedded:
        assert embedded.check_credentials()["email"] == "alice@example.com"
    assert (tmp_path / "org.json").is_file()


def test_errors_name_method_path_status_and_message(mode: str) -> None:
    with client_for(Emulator(), mode) as client:
        with pytest.raises(NotFound) as missing:
            client.get("/checklists/" + "0" * 32)
        assert (
            str(missing.value)
            == f"GET /organizations/{client.org_id}/checklists/{'0' * 32} answered 404: Resource not found"
        )
        with pytest.raises(ValidationFailed) as invalid:
            client.create("/checklists", {"title": "No type"})
        assert invalid.value.field_errors == {"type": ["The type field is required."]}
        assert "type: The type field is required." in str(invalid.value)


def test_refused_token_says_which_org_and_variable(mode: str) -> None:
    with (
        client_for(Emulator(), mode, token="expired-token-123") as client,
        pytest.raises(AuthError) as raised,
    ):
        client.check_credentials()
    message = str(raised.value)
    assert "org 'test'" in message and "TEST_TOKEN" in message
    if mode == "in_process":  # as Tallyfy's own host: how to get a new personal token
        assert "Settings > Integrations > REST API" in message
    else:  # on this machine, an emulator: its own token, not Tallyfy's settings page
        assert "emulator serve --help" in message and "Settings >" not in message
    assert "expired-token-123" not in message


def test_no_httpx_exception_leaves_the_client() -> None:
    client = TallyfyClient(
        org_id="0" * 32,
        base_url="http://127.0.0.1:9/api",
        credentials=StaticToken("tok-abcdef", "X"),
        retry=RetryPolicy(attempts=2, base=0.0, cap=0.0),
        sleep=lambda s: None,
    )
    with pytest.raises(Unavailable) as raised:
        client.get("/users")
    assert not isinstance(raised.value, httpx.HTTPError)
    assert "cannot connect to http://127.0.0.1:9/api (tried twice)" in str(raised.value)
    assert "api_url" in str(raised.value) and "emulator serve" in str(raised.value)


def test_retry_after_accepts_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_verbose_log_shows_requests_without_secrets(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tallyform.client import install_log_redaction

    install_log_redaction()
    caplog.set_level(logging.INFO, logger="tallyform")
    with client_for(Emulator(), mode) as client:
        client.get("/users", {"per_page": 5})
        logging.getLogger("tallyform.client").info("oops: Bearer emulator-admin-token")
    lines = [r.getMessage() for r in caplog.records]
    assert any(
        f"GET /organizations/{client.org_id}/users?per_page=5 -> 200" in line for line in lines
    )
    assert all("emulator-admin-token" not in line for line in lines)
    assert "oops: Bearer ***" in lines
