"""The client's layers one at a time: the retry layer and the auth flow driven by plain
functions that answer as the API would, and the public surface free of httpx and Any."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator

import pytest

import tallyform.client as client_package
from tallyform.client import OutcomeUnknown, RateLimited, Reply, RetryPolicy, TallyfyClient
from tallyform.client.auth import send_renewing
from tallyform.client.errors import ExchangeFailed, Unavailable
from tallyform.client.retry import Request, Retrying, Tally
from tallyform.client.stats import ClientStats

NO_WAIT = RetryPolicy(base=0.0, cap=0.0, jitter=0.0)
GET = Request("GET", "/organizations/o/users", repeatable=True)
POST = Request("POST", "/organizations/o/checklists", repeatable=False)


class Script:
    """One try after another: each answers the next reply, or raises the next failure."""

    def __init__(self, *answers: Reply | ExchangeFailed) -> None:
        self._answers: Iterator[Reply | ExchangeFailed] = iter(answers)
        self.tally = Tally()

    def __call__(self) -> Reply:
        self.tally.tries += 1
        answer = next(self._answers)
        if isinstance(answer, ExchangeFailed):
            raise answer
        return answer


def retrying(
    policy: RetryPolicy = NO_WAIT,
) -> tuple[Retrying, ClientStats, list[float], list[float]]:
    """A retry layer, its stats, and the waits it slept and held (for a 429)."""
    stats = ClientStats()
    slept: list[float] = []
    held: list[float] = []
    layer = Retrying(
        policy, stats, target="http://api.test/api", hold=held.append, sleep=slept.append, seed=1
    )
    return layer, stats, slept, held


def test_a_read_is_tried_again_after_a_server_error_until_it_answers() -> None:
    layer, stats, _, _ = retrying()
    script = Script(Reply(502), Reply(503), Reply(200, content=b"{}"))
    assert layer.send(script, GET, script.tally).status == 200
    assert script.tally.tries == 3 and stats.retries == 2


def test_a_write_whose_answer_is_a_server_error_is_never_sent_again() -> None:
    layer, _, _, _ = retrying()
    script = Script(Reply(500, content=b'{"message": "Boom."}'), Reply(201))
    with pytest.raises(OutcomeUnknown, match=r"server error \(Boom.\)"):
        layer.send(script, POST, script.tally)
    assert script.tally.tries == 1


def test_a_429_holds_every_request_for_its_retry_after() -> None:
    layer, stats, slept, held = retrying()
    script = Script(Reply(429, headers={"retry-after": "7"}), Reply(200))
    assert layer.send(script, POST, script.tally).status == 200, "a 429 is safe to repeat"
    assert held == [7.0] and slept == [], "the wait is the pacer's, for every thread"
    assert stats.rate_limited == 1 and script.tally.seconds >= 7.0


def test_a_retry_after_past_the_budget_ends_the_request_at_once_naming_the_wait() -> None:
    layer, _, _, held = retrying(RetryPolicy(budget=60.0, max_retry_after=600.0))
    script = Script(Reply(429, headers={"retry-after": "300"}))
    with pytest.raises(RateLimited, match="asks to wait 300 s more, past the retry budget"):
        layer.send(script, GET, script.tally)
    assert held == []


def test_until_the_api_has_answered_a_refused_connection_is_tried_twice() -> None:
    layer, _, _, _ = retrying()
    refused = ExchangeFailed("[Errno 111] Connection refused", sent=False, kind="ConnectError")
    script = Script(refused, refused, Reply(200))
    with pytest.raises(Unavailable, match="cannot connect to http://api.test/api"):
        layer.send(script, GET, script.tally)
    assert script.tally.tries == 2

    layer.answered = True  # once it has answered, a refusal is a blip worth retrying
    script = Script(refused, refused, Reply(200))
    assert layer.send(script, GET, script.tally).status == 200


def test_a_lost_answer_to_a_write_is_an_unknown_outcome() -> None:
    layer, _, _, _ = retrying()
    lost = ExchangeFailed("Server disconnected", sent=True, kind="RemoteProtocolError")
    script = Script(lost)
    with pytest.raises(OutcomeUnknown, match=r"no answer \(RemoteProtocolError\)"):
        layer.send(script, POST, script.tally)


class Renewable:
    """Credentials whose token can be renewed, counting renewals."""

    source = "TEST_TOKEN"

    def __init__(self, can_renew: bool = True) -> None:
        self.renewed = 0
        self.can_renew = can_renew

    def token(self) -> str:
        return f"token-{self.renewed}"

    def renew(self) -> bool:
        self.renewed += self.can_renew
        return self.can_renew


@pytest.mark.parametrize("can_renew", [True, False])
def test_a_401_renews_the_token_once_and_sends_again(can_renew: bool) -> None:
    credentials = Renewable(can_renew)
    sent: list[str] = []

    def send() -> Reply:
        sent.append(credentials.token())
        return Reply(401)

    assert send_renewing(credentials, send).status == 401
    assert sent == (["token-0", "token-1"] if can_renew else ["token-0"])


def _annotations(function: Callable[..., object]) -> list[str]:
    signature = inspect.signature(function)
    found = [str(p.annotation) for p in signature.parameters.values()]
    return [*found, str(signature.return_annotation)]


def test_no_httpx_type_and_no_any_in_the_clients_public_methods() -> None:
    public = [
        (name, member)
        for name, member in inspect.getmembers(TallyfyClient, inspect.isfunction)
        if not name.startswith("_")
    ]
    assert {"request", "call", "get", "list_all", "create", "put", "delete"} <= dict(public).keys()
    loose = {
        name: annotation
        for name, member in public
        for annotation in _annotations(member)
        if "httpx" in annotation or "Any" in annotation
    }
    assert not loose, loose


def test_no_name_the_client_offers_comes_from_httpx() -> None:
    from_httpx = [
        name
        for name in client_package.__all__
        if getattr(getattr(client_package, name), "__module__", "").startswith("httpx")
        and name != "Transport"  # the alias a test's transport subclasses
    ]
    assert not from_httpx
