"""What a plan reads: the template list, asked for whole rows, instead of one read a template.

Against a 1,000-template org the request count is the plan's cost; a list page carries
100 templates with their steps, fields, kick-off fields, rules and tags, so a plan needs
a few pages rather than a thousand reads. Where the list leaves the includes out (the
``list_without_includes`` quirk) each template is read on its own, and the plan is the same.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import httpx
import pytest

from tallyform.client import StaticToken, TallyfyClient
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport, Quirks
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tests.client_helpers import client_for
from tests.conftest import EXAMPLES, project_templates


def _client(emulator: Emulator) -> TallyfyClient:
    return TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=EmulatorTransport(emulator),
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
    )


def _template_reads(emulator: Emulator, since: int) -> list[str]:
    return [
        r["path"]
        for r in emulator.requests[since:]
        if r["method"] == "GET" and "/checklists/" in r["path"]
    ]


@pytest.mark.parametrize("quirks", [[], ["list_without_includes"], ["strict"]])
def test_a_replan_reads_whole_rows_or_falls_back_to_one_read_each(
    tmp_path: Path, quirks: list[str]
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "project")
    templates = project_templates(tmp_path / "project")
    emulator = Emulator(quirks=Quirks.named(quirks))
    with _client(emulator) as client:
        first = make_plan(client, "local", templates)
        assert first.plan is not None and first.org is not None
        report = apply_plan(client, first.plan)
        assert not report.failed
        before = len(emulator.requests)
        again = make_plan(client, "local", templates)
    assert again.plan is not None and again.plan.empty
    reads = _template_reads(emulator, before)
    if not quirks:
        assert reads == [], "whole list rows need no read of their own"
    else:
        read_ids = {path.split("/checklists/")[1].split("/")[0] for path in reads}
        assert read_ids == set(emulator.state["checklists"]), "each template read once at least"


class _Together(httpx.BaseTransport):
    """Holds each of the first ``parties`` requests until all of them are in flight."""

    def __init__(self, inner: httpx.BaseTransport, parties: int) -> None:
        self.inner = inner
        self.barrier = threading.Barrier(parties, timeout=5)
        self.together: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.barrier.broken and len(self.together) < self.barrier.parties:
            try:
                self.barrier.wait()
                self.together.append(request.url.path.rsplit("/", 1)[-1])
            except threading.BrokenBarrierError:
                pass
        return self.inner.handle_request(request)


def test_the_org_and_its_template_lists_are_read_in_one_round_trip(tmp_path: Path) -> None:
    """Each round trip costs a plan the API's latency: the template lists do not wait for
    the people, tags, folders and keys, which they do not need."""
    shutil.copytree(EXAMPLES, tmp_path / "project")
    emulator = Emulator()
    transport = _Together(EmulatorTransport(emulator), 7)
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=transport,
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
    )
    with client:
        result = make_plan(client, "local", project_templates(tmp_path / "project"))
    assert result.plan is not None and len(emulator.requests) == 7
    assert sorted(transport.together) == sorted(
        ["users", "groups", "tags", "folders", "custom-field-keys", "checklists", "checklists"]
    )


def test_a_bootstrap_asks_who_the_token_is_once(tmp_path: Path) -> None:
    """The command checks the credentials (GET /me); apply needs the same answer to own
    the templates it creates, and reuses it."""
    shutil.copytree(EXAMPLES, tmp_path / "project")
    templates = project_templates(tmp_path / "project")
    emulator = Emulator()
    with _client(emulator) as client:
        me = client.check_credentials()
        result = make_plan(client, "local", templates)
        assert result.plan is not None and result.org is not None
        assert any(c.kind == "template" and c.action == "create" for c in result.plan.changes)
        report = apply_plan(client, result.plan)
    assert not report.failed
    asked = [r for r in emulator.requests if r["path"].endswith("/me")]
    assert len(asked) == 1
    owners = {t["owner_id"] for t in emulator.state["checklists"].values()}
    assert owners == {me["id"]}


def test_apply_takes_the_plan_alone_and_refuses_one_without_its_reading() -> None:
    """A plan holds what apply needs (the states it compared, the org as read); a plan
    rebuilt without them (as one loaded from a file would be) is refused, not guessed at."""
    from tallyform.engine.apply import NotPlannedHere
    from tallyform.model.changes import Plan

    emulator = Emulator()
    with client_for(emulator) as client:
        result = make_plan(client, "reads", project_templates())
        assert result.plan is not None and result.plan.states and result.plan.reading
        bare = Plan(org=result.plan.org, org_id=result.plan.org_id, changes=result.plan.changes)
        with pytest.raises(NotPlannedHere, match="plan again"):
            apply_plan(client, bare)
        report = apply_plan(client, result.plan)
    assert not report.failed and report.counts()["create"] == len(result.plan.changes)
