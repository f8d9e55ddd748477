"""Where the org builds the steps nested in a template's create, a new template is one POST.

The org is probed first, as a first run should be; its answer ``nested_steps_built`` makes
each new template's create carry its steps and their form fields, which the plan still
lists, at no write of their own, their keys in the template's map. The plan is a promise
in this mode too (its writes are the writes sent, request by request); an answer gone
stale (the org ignores nested steps after all) and faults at every request of the
one-request create still converge, never with a duplicate.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.generate import write_project
from tallyform.client import RetryPolicy, StaticToken, TallyfyClient, TallyfyError
from tallyform.emulator import (
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
    Quirks,
)
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.model import Template
from tallyform.model.changes import Plan
from tallyform.model.kinds import Action, Kind
from tallyform.tallyfy.probe import Finding, Probe, Readings
from tests.client_helpers import client_for
from tests.conftest import EXAMPLES, project_templates, run_cli
from tests.fault_helpers import duplicates, example_templates

BUILT = Quirks(nested_steps_built=True)
ID = "[0-9a-f]+"
TEMPLATE_POST = re.compile(r"/checklists$")
CHILD_WRITES = re.compile(rf"/steps(/{ID})?(/captures(/{ID})?)?(/custom-fields)?$")


def probed(quirks: Quirks) -> Readings:
    """What a probe of an org answering as ``quirks`` say makes tallyform do."""
    with client_for(Emulator(quirks=quirks)) as client:
        return Readings.of(Probe(client).run())


def planned(client: TallyfyClient, templates: list[Template], nested: bool) -> Plan:
    """The plan, made with the reading ``nested`` (what the probe found, or not)."""
    result = make_plan(client, "nested", templates, builds_nested_steps=nested)
    assert result.plan is not None and result.org is not None, result.problems
    return result.plan


def writes_of(emulator: Emulator, since: int) -> list[dict[str, Any]]:
    return [r for r in emulator.requests[since:] if r["method"] != "GET"]


def path_of(request: dict[str, Any], emulator: Emulator) -> str:
    return str(request["path"]).removeprefix(f"/api/organizations/{emulator.org_id}")


def live_templates(emulator: Emulator) -> list[dict[str, Any]]:
    return [t for t in emulator.state["checklists"].values() if t["archived_at"] is None]


# -- the reading ------------------------------------------------------------------------


def test_the_probe_finds_whether_the_org_builds_nested_steps() -> None:
    assert probed(BUILT).builds_nested_steps
    assert not probed(Quirks()).builds_nested_steps
    built = Finding("nested_steps_built", "q", "s", "g", True, "d")
    assert Readings.of([built]).builds_nested_steps
    assert Readings.from_dict(Readings.of([built]).as_dict()) == Readings.of([built])
    assert not Readings.from_dict({"builds_nested_steps": "yes"}).builds_nested_steps


def test_apply_follows_the_probe_without_the_user_editing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tallyform probe`` keeps the answer; ``apply`` then makes each template in one POST,
    and ``plan`` after it has nothing to do."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    emulator = Emulator(quirks=BUILT)
    monkeypatch.setenv("SANDBOX_TOKEN", DEFAULT_TOKEN)
    with EmulatorServer(emulator) as server:
        config = root / "tallyform.yaml"
        config.write_text(
            config.read_text()
            + f"  sandbox:\n    org_id: {emulator.org_id}\n    api_url: {server.url}\n"
            "    token_env: SANDBOX_TOKEN\n    requests_per_minute: 0\n"
        )
        probe = run_cli("-C", str(root), "probe", "--org", "sandbox")
        assert probe.exit_code == 0, probe.output
        assert "nested_steps_built: pessimistic" in probe.stdout
        kept = root / ".tallyform" / "probe" / "sandbox.json"
        assert json.loads(kept.read_text())["readings"]["builds_nested_steps"] is True
        before = len(emulator.requests)
        applied = run_cli("-C", str(root), "apply", "--org", "sandbox", "--yes")
        assert applied.exit_code == 0, applied.output
        sent = [path_of(r, emulator) for r in writes_of(emulator, before)]
        posts = [p for p in sent if TEMPLATE_POST.search(p)]
        assert len(posts) == len(example_templates())
        assert not [p for p in sent if re.search(r"/(steps|captures)$", p)], "no child POST"
        again = run_cli("-C", str(root), "plan", "--org", "sandbox", "--detailed-exitcode")
        assert again.exit_code == 0, again.output
    assert duplicates(emulator.state) == []


# -- the promise ------------------------------------------------------------------------


def test_a_bootstrap_sends_one_post_per_template_with_its_steps_and_fields() -> None:
    templates = example_templates()
    emulator = Emulator(quirks=BUILT)
    reading = probed(BUILT)
    with client_for(emulator) as client:
        plan = planned(client, templates, reading.builds_nested_steps)
        children = [c for c in plan.changes if c.creates and c.kind in (Kind.STEP, Kind.FIELD)]
        assert len(children) == sum(
            len(t.steps) + sum(len(s.fields) for s in t.steps) for t in templates
        )
        assert all(c.built_by_template and c.keyed_by_map for c in children)
        assert all(c.writes == (1 if c.waits_for else 0) for c in children), "deadline PUTs"
        before = len(emulator.requests)
        report = apply_plan(client, plan)
        assert not report.failed, [o.error for o in report.failed]
        assert report.counts() == plan.summary()
        sent = [path_of(r, emulator) for r in writes_of(emulator, before)]
        assert len(sent) == plan.writes, "the plan's writes are the writes sent"
        posts = [p for p in sent if TEMPLATE_POST.search(p)]
        assert len(posts) == len(templates), "one POST a template"
        child_posts = [p for p in sent if CHILD_WRITES.search(p) and "custom-fields" in p]
        assert child_posts == [], "no key write of a step or field of its own"
        assert not [p for p in sent if re.search(r"/(steps|captures)$", p)], "no child POST"
        waits = [c for c in children if c.waits_for]
        assert len([p for p in sent if re.search(rf"/steps/{ID}$", p)]) == len(waits)
        assert planned(client, templates, True).empty
        assert planned(client, templates, False).empty, "the same, unprobed"
    assert duplicates(emulator.state) == []


def test_the_one_request_create_builds_what_the_one_by_one_creates_build() -> None:
    """The same org either way: the nested bodies are the ones the creates of each step
    and field send; each org's plan of the other's templates is empty."""
    templates = example_templates()
    orgs = {nested: Emulator(quirks=BUILT) for nested in (False, True)}
    for nested, emulator in orgs.items():
        with client_for(emulator) as client:
            apply_plan(client, planned(client, templates, nested))

    def shape(emulator: Emulator) -> list[Any]:
        drop = {"id", "checklist_id", "step_id", "created_at", "last_updated", "custom_fields"}
        drop |= {"alias", "timeline_id", "deadline"}

        def clean(record: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in record.items() if k not in drop}

        def deadline(step: dict[str, Any], titles: dict[str, str]) -> Any:
            """The step's deadline, the step it counts from named by title, not id."""
            found = step.get("deadline")
            if isinstance(found, dict) and found.get("step"):
                return {**found, "step": titles.get(str(found["step"]), "?")}
            return found

        def steps(template: dict[str, Any]) -> list[Any]:
            titles = {str(s["id"]): str(s["title"]) for s in template["steps"]}
            return [
                (
                    clean(s | {"captures": None}),
                    deadline(s, titles),
                    [clean(c) for c in s["captures"]],
                )
                for s in template["steps"]
            ]

        return sorted((t["title"], steps(t)) for t in live_templates(emulator))

    assert shape(orgs[True]) == shape(orgs[False])


def test_generated_templates_cost_a_fraction_of_a_write_per_object(tmp_path: Path) -> None:
    """The benchmark's templates (ten steps, thirty form fields, four kick-off fields,
    three rules, two tags): 1.8 writes per object made one at a time, a quarter of one
    where the org builds nested steps."""
    write_project(tmp_path, 4)
    templates = project_templates(tmp_path)
    per_object = {}
    for nested in (False, True):
        emulator = Emulator(quirks=BUILT)
        with client_for(emulator) as client:
            plan = planned(client, templates, nested)
            made = sum(1 for c in plan.changes if c.action is Action.CREATE)
            before = len(emulator.requests)
            apply_plan(client, plan)
            per_object[nested] = len(writes_of(emulator, before)) / made
            assert len(writes_of(emulator, before)) == plan.writes
    assert per_object[False] > 1.7
    assert per_object[True] < 0.3, per_object


# -- a stale answer ---------------------------------------------------------------------


@pytest.mark.parametrize("quirks", [Quirks(), Quirks.strict()], ids=["likeliest", "strict"])
def test_an_answer_gone_stale_still_converges_with_no_duplicate(quirks: Quirks) -> None:
    """The probe said the org builds nested steps, and it ignores them: each step and
    field is made on its own after the POST, and the next plan is empty."""
    templates = example_templates()
    emulator = Emulator(quirks=quirks)
    with client_for(emulator) as client:
        report = apply_plan(client, planned(client, templates, nested=True))
        assert not report.failed, [o.error for o in report.failed]
        again = planned(client, templates, nested=True)
        assert again.empty, [c.name for c in again.changes]
    assert duplicates(emulator.state) == []
    for template in live_templates(emulator):
        wanted = next(t for t in templates if t.title == template["title"])
        assert [s["title"] for s in template["steps"]] == [s.title for s in wanted.steps]


# -- faults -----------------------------------------------------------------------------


class FailOnce(httpx.BaseTransport):
    """Forwards every request; the ``nth`` one ``matches`` picks fails as ``kind`` says:
    ``drop_after`` (made, its answer lost), ``error_after`` (made, answered 500) or
    ``refused`` (503 and nothing made, for every request it picks from then on)."""

    def __init__(
        self, inner: httpx.BaseTransport, matches: Callable[[httpx.Request], bool], kind: str
    ) -> None:
        self.inner, self.matches, self.kind = inner, matches, kind
        self.seen = 0
        self.nth = 1
        self.failed = False
        self.lock = threading.Lock()  # templates are applied in parallel

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.matches(request):
            return self.inner.handle_request(request)
        with self.lock:
            self.seen += 1
            mine = self.seen
        if self.kind == "refused" and mine >= self.nth:
            self.failed = True
            return httpx.Response(503, json={"error": True, "message": "Unavailable"})
        response = self.inner.handle_request(request)
        if mine != self.nth or self.kind not in ("drop_after", "error_after"):
            return response
        self.failed = True
        if self.kind == "drop_after":
            raise httpx.RemoteProtocolError("Server disconnected.", request=request)
        return httpx.Response(500, json={"error": True, "message": "Server Error"})


def _request(method: str, pattern: str) -> Callable[[httpx.Request], bool]:
    found = re.compile(pattern)
    return lambda r: r.method == method and bool(found.search(r.url.path))


# Each request of a new template's making, in apply's order, and what follows it.
POINTS = {
    "the template's POST": _request("POST", r"/checklists$"),
    "the read of what it built": _request("GET", rf"/checklists/{ID}$"),
    "the kick-off form's PUT": _request("PUT", rf"/checklists/{ID}$"),
    "a step's deadline": _request("PUT", rf"/steps/{ID}$"),
    "a rule's POST": _request("POST", r"/automated-actions$"),
    "the template's key and map": _request("PUT", rf"/checklists/{ID}/custom-fields$"),
    "a tag's attachment": _request("POST", r"/checklists/tags$"),
}


@pytest.mark.parametrize("kind", ["drop_after", "error_after", "refused"])
@pytest.mark.parametrize("point", list(POINTS))
@pytest.mark.parametrize("org_builds", [True, False], ids=["built", "stale answer"])
def test_a_fault_at_any_request_of_the_one_request_create_converges(
    point: str, kind: str, org_builds: bool
) -> None:
    templates = example_templates()
    emulator = Emulator(quirks=BUILT if org_builds else Quirks())
    faulty = FailOnce(EmulatorTransport(emulator), POINTS[point], kind)
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=faulty,
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        retry=RetryPolicy(base=0, cap=0, jitter=0, attempts=2),
        sleep=lambda seconds: None,
    )
    with client:
        with contextlib.suppress(TallyfyError):
            apply_plan(client, planned(client, templates, nested=True))
        assert faulty.failed, "the fault was met"
        faulty.kind = "none"  # the org answers again
        for _ in range(2):
            plan = planned(client, templates, nested=True)
            assert not plan.conflicts, [c.message() for c in plan.conflicts]
            if plan.empty:
                break
            report = apply_plan(client, plan)
            assert not report.failed, [o.error for o in report.failed]
        final = planned(client, templates, nested=True)
        assert final.empty, [c.name for c in final.changes]
    assert duplicates(emulator.state) == []
    titles = Counter(t["title"] for t in live_templates(emulator))
    assert titles == Counter(t.title for t in templates)


TWIN_TITLES = """\
key: twice
title: Reviewed twice
steps:
  - key: review
    title: Review
  - key: approve
    title: Approve
    type: approval
  - key: review-again
    title: Review
"""


class BuildsAllButTheFirst(httpx.BaseTransport):
    """An org that builds only some of the nested steps it is sent: the first is dropped
    from each template's create before the emulator (which builds them) sees it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/checklists"):
            body = json.loads(request.content)
            if body.get("steps"):
                body["steps"] = body["steps"][1:]
                request = httpx.Request("POST", request.url, headers=request.headers, json=body)
        return self.inner.handle_request(request)


def test_steps_built_otherwise_than_sent_stop_the_template_and_the_next_apply_mends_it(
    tmp_path: Path,
) -> None:
    """Sent Review, Approve, Review; built Approve, Review. Matching in order would take the
    built Review for the first and send the other two again (a duplicate, and more writes
    than planned): apply stops that template instead, and the next apply adopts by title."""
    shutil.copy(EXAMPLES / "tallyform.yaml", tmp_path / "tallyform.yaml")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "twice.yaml").write_text(TWIN_TITLES)
    templates = project_templates(tmp_path)
    emulator = Emulator(quirks=BUILT)
    with TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=BuildsAllButTheFirst(EmulatorTransport(emulator)),
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
    ) as client:
        report = apply_plan(client, planned(client, templates, nested=True))
    assert [str(o.error) for o in report.failed] and all(
        "otherwise than sent" in str(o.error) and "not built: review-again" in str(o.error)
        for o in report.failed
    ), [str(o.error) for o in report.failed]
    (made,) = live_templates(emulator)
    titles = lambda: [s["title"] for s in emulator.state["checklists"][made["id"]]["steps"]]  # noqa: E731
    assert sorted(titles()) == ["Approve", "Review"], "nothing sent again"
    with client_for(emulator) as client:
        apply_plan(client, planned(client, templates, nested=True))
        assert planned(client, templates, nested=True).empty
    assert titles() == ["Review", "Approve", "Review"]
