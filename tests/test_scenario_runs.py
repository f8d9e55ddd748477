"""`tallyform test --org NAME`: the scenarios as real processes in an org (here the embedded
emulator), held to the same expectations as offline; the offline and emulated runs agree
on every scenario of the examples, step by step; templates missing or different are
named with what to run; every process launched is archived, after a failure or Ctrl-C too."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyform.client import StaticToken, TallyfyClient
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport
from tallyform.engine.scenario_runs import OrgRun
from tallyform.engine.scenario_runs import play_in_org as run_in_org
from tallyform.logic import Engine, run_scenarios
from tallyform.logic.engine import as_assignees
from tallyform.model import Expectations, Scenario, Template
from tests.client_helpers import DropFirstAnswer, client_for
from tests.conftest import project_templates, run_cli
from tests.project_helpers import apply, edit, embedded_state


def _everything_offline(template: Template, scenario: Scenario) -> Scenario:
    """The scenario expecting every step's visibility, assignees and deadline exactly as
    the offline engine has them at its end (webhooks and rules fired as it says)."""
    engine = Engine(template)
    process = engine.launch(dict(scenario.kickoff))
    for event in scenario.events:
        if event.outcome == "reopened":
            engine.reopen(process, event.step)
        else:
            engine.complete(
                process, event.step, {event.outcome} - {"completed"}, dict(event.values)
            )
    steps = [s.key for s in template.steps]
    expect = Expectations(
        shown=tuple(s for s in steps if s in process.visible),
        hidden=tuple(s for s in steps if s not in process.visible),
        assignees=tuple((s, as_assignees(process.assignees[s])) for s in steps),
        deadlines=tuple((s, process.deadlines[s]) for s in steps),
        webhooks=scenario.expect.webhooks,
        fired=scenario.expect.fired,
    )
    return dataclasses.replace(scenario, expect=expect)


def _runs(root: Path) -> list[dict[str, Any]]:
    """The processes of the project's embedded org, as its state file keeps them."""
    emulator = Emulator(state_file=embedded_state(root))
    return list((emulator.state.get("runs") or {}).values())


def test_offline_and_emulated_runs_agree_on_every_example_scenario(examples_copy: Path) -> None:
    apply(examples_copy)
    templates = [
        dataclasses.replace(t, tests=[_everything_offline(t, s) for s in t.tests])
        for t in project_templates(examples_copy)
    ]
    offline = {
        (o.template.key, o.scenario.name): o.failures for t in templates for o in run_scenarios(t)
    }
    assert len(offline) == 11 and not any(offline.values())
    emulator = Emulator(state_file=embedded_state(examples_copy))
    with client_for(emulator) as client:
        found = run_in_org(client, "local", templates, working_time=False)
    assert not found.unplaced and not found.problems and not found.unarchived
    emulated = {(o.template.key, o.scenario.name): o.failures for o in found.outcomes}
    assert emulated == offline, "every step shown, hidden, assigned and due alike"
    steps = sum(len(t.steps) for t in templates for _ in t.tests)
    assert sum(len(o.scenario.expect.deadlines) for o in found.outcomes) == steps
    runs = emulator.state["runs"].values()
    assert len(runs) == 11 and all(r["archived_at"] for r in runs)


def _failures(document: dict[str, Any]) -> dict[str, list[tuple[int, str]]]:
    return {
        s["name"]: [(f["line"], f["message"]) for f in s["failures"]] for s in document["scenarios"]
    }


def test_a_broken_rule_fails_in_the_org_where_it_fails_offline(examples_copy: Path) -> None:
    path = examples_copy / "templates" / "purchase-request.yaml"
    edit(path, "is: less_than, value: 100", "is: greater_than, value: 100")
    apply(examples_copy)
    args = ("-C", str(examples_copy), "test", "purchase-request", "--format", "json")
    offline = json.loads(run_cli(*args).stdout)
    result = run_cli(*args, "--org", "local")
    assert result.exit_code == 1
    emulated = json.loads(result.stdout)
    expected = {
        name: [(line, message) for line, message in found if message != "other rules fired"]
        for name, found in _failures(offline).items()
    }
    assert _failures(emulated) == expected
    assert expected["Small purchases skip the manager"][0][1] == "step 'approve' should be hidden"
    assert "Archived 2 of 2 processes launched in org 'local'." in result.stderr
    assert "2 scenario(s) also expect webhooks or fired rules" in result.stderr
    assert [r["archived_at"] is not None for r in _runs(examples_copy)] == [True, True]
    text = run_cli("-C", str(examples_copy), "test", "--org", "local", "purchase-request")
    line = next(
        n for n, t in enumerate(path.read_text().splitlines(), 1) if "hidden: [approve]" in t
    )
    assert (
        f"templates/purchase-request.yaml:{line}:16: error: test 'Small purchases skip the "
        "manager': step 'approve' should be hidden: expected hidden, got shown"
    ) in text.stderr


def test_a_wrong_deadline_and_a_missing_required_answer_fail_alike(examples_copy: Path) -> None:
    path = examples_copy / "templates" / "purchase-request.yaml"
    edit(path, "{value: 2, unit: days, step: submit}}", "{value: 3, unit: days, step: submit}}")
    edit(path, "          vendor: Acme\n", "")
    apply(examples_copy)
    args = ("-C", str(examples_copy), "test", "purchase-request", "--format", "json")
    offline = _failures(json.loads(run_cli(*args).stdout))
    emulated = _failures(json.loads(run_cli(*args, "--org", "local").stdout))
    assert [line for line, _ in emulated["Small purchases skip the manager"]] == [
        line for line, _ in offline["Small purchases skip the manager"]
    ]
    assert emulated["Small purchases skip the manager"][0][1] == (
        "step 'submit' cannot be completed: the org refused it"
    )
    line = next(n for n, t in enumerate(path.read_text().splitlines(), 1) if "deadlines: {" in t)
    assert (
        emulated["Software goes to IT too"]
        == offline["Software goes to IT too"]
        == [(line, "step 'approve' has another deadline")]
    )
    shown = run_cli("-C", str(examples_copy), "test", "--org", "local", "purchase-request")
    assert "expected 3 days from step 'submit', got due " in shown.stderr
    assert "(2 days after the launch)" in shown.stderr
    assert (
        "step 'submit' cannot be completed: the org refused it: expected step 'submit' can be "
        "completed, got Vendor is required"
    ) in shown.stderr


def test_templates_missing_from_the_org_or_different_are_not_run(examples_copy: Path) -> None:
    result = run_cli("-C", str(examples_copy), "test", "--org", "local", "content-review")
    assert result.exit_code == 1
    assert (
        "Error: template 'content-review' is not in org 'local', so its scenarios cannot run "
        "there; apply it first: tallyform apply --org local"
    ) in result.stderr
    assert "0 scenarios in 0 templates" in result.stdout
    apply(examples_copy)
    edit(
        examples_copy / "templates/content-review.yaml", "title: Legal review", "title: Legal check"
    )
    result = run_cli("-C", str(examples_copy), "test", "--org", "local")
    assert result.exit_code == 1
    assert (
        "template 'content-review' in org 'local' differs from the repository (1 change to "
        "make), so its scenarios would test what the org has; see how with `tallyform plan "
        "--org local`, then `tallyform apply --org local`"
    ) in result.stderr
    assert "9 scenarios in 5 templates: 9 passed, 0 failed." in result.stdout
    assert len(_runs(examples_copy)) == 9


class _InterruptAt(httpx.BaseTransport):
    """Ctrl-C at the first request to a path ending in ``suffix``."""

    def __init__(self, inner: httpx.BaseTransport, suffix: str) -> None:
        self.inner, self.suffix = inner, suffix

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith(self.suffix):
            self.suffix = "\0"  # once
            raise KeyboardInterrupt
        return self.inner.handle_request(request)


def test_every_process_launched_is_archived_after_ctrl_c(examples_copy: Path) -> None:
    apply(examples_copy)
    emulator = Emulator(state_file=embedded_state(examples_copy))
    templates = project_templates(examples_copy)
    interrupting = _InterruptAt(EmulatorTransport(emulator), "/completed-tasks")
    found = OrgRun()
    with (
        TallyfyClient(
            org_id=emulator.org_id,
            base_url=IN_PROCESS_URL,
            transport=interrupting,
            credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        ) as client,
        pytest.raises(KeyboardInterrupt),
    ):
        run_in_org(client, "local", templates, working_time=False, found=found)
    runs = list(emulator.state["runs"].values())
    assert runs and all(r["archived_at"] for r in runs)
    assert sorted(found.launched) == sorted(r["id"] for r in runs), "the caller can say so"
    assert found.unarchived == []


def test_a_launch_whose_answer_was_lost_is_found_not_launched_again(examples_copy: Path) -> None:
    apply(examples_copy)
    emulator = Emulator(state_file=embedded_state(examples_copy))
    templates = [t for t in project_templates(examples_copy) if t.key == "purchase-request"]
    losing = DropFirstAnswer(EmulatorTransport(emulator), "POST")
    with TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=losing,
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        sleep=lambda seconds: None,
    ) as client:
        found = run_in_org(client, "local", templates, working_time=False)
    runs = list(emulator.state["runs"].values())
    assert losing.dropped and len(runs) == len(templates[0].tests), "one process a scenario"
    assert sorted(found.launched) == sorted(r["id"] for r in runs)
    assert all(r["archived_at"] for r in runs) and all(o.passed for o in found.outcomes)


PICKER = """\
key: picker
title: Picker
kickoff:
  - key: owner
    label: Owner
    type: assignees_form
    required: true
  - key: tier
    label: Tier
    type: multiselect
    options: [Gold, Silver]
steps:
  - key: start
    title: Start
    assignees: {users: [alice@example.com]}
  - key: bob-only
    title: Bob only
    assignees: {users: [bob@example.com]}
  - key: gold
    title: Gold
    assignees: {groups: [Finance]}
    deadline: {value: 3, unit: hours}
rules:
  - name: Bob picked
    when: [{field: owner, is: contains, value: bob@example.com}]
    then: [{show: bob-only}]
  - name: Gold tier
    when: [{field: tier, is: equals, value: Gold}]
    then: [{show: gold}, {assign: gold, assignees: {users: [carol@example.com]}}]
tests:
  - name: Bob and gold
    kickoff: {owner: [bob@example.com], tier: [Gold, Silver]}
    expect:
      shown: [bob-only, gold]
      assignees: {gold: {users: [carol@example.com], groups: [Finance]}}
      deadlines: {gold: {value: 3, unit: hours}}
  - name: Carol and silver
    kickoff: {owner: [carol@example.com], tier: [Silver]}
    expect: {hidden: [bob-only, gold]}
"""


def test_pickers_and_checklists_are_answered_as_the_api_takes_them(
    project: Callable[..., Path],
) -> None:
    root = project({"picker.yaml": PICKER})
    apply(root)
    for extra in ((), ("--org", "local")):
        result = run_cli("-C", str(root), "test", *extra)
        assert result.exit_code == 0, result.output
        assert "2 scenarios in 1 template: 2 passed, 0 failed." in result.stdout
