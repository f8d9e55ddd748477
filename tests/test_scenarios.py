"""`tallyform test`: scenarios under `tests:` run offline through the rule engine; a failing
expectation is reported at its line with what was expected and what happened."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tallyform.logic import run_scenarios, uncovered_rules
from tests.conftest import EXAMPLES, project_templates, run_cli


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_examples_pass_and_every_rule_fires_in_some_scenario() -> None:
    result = run_cli("-C", str(EXAMPLES), "test")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "ok   content-review: Press releases get four days of editing"
    assert lines[11] == "11 scenarios in 6 templates: 11 passed, 0 failed."
    assert "fired in no scenario" not in result.stdout
    for template in project_templates():
        outcomes = run_scenarios(template)
        assert outcomes, f"{template.key} has no scenario"
        assert not uncovered_rules(template, outcomes), template.key


def test_a_broken_rule_fails_at_the_scenarios_line_with_expected_and_actual(
    examples_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = examples_copy / "templates" / "purchase-request.yaml"
    text = path.read_text().replace("is: less_than, value: 100", "is: greater_than, value: 100")
    path.write_text(text)
    monkeypatch.chdir(examples_copy)
    result = run_cli("test")
    assert result.exit_code == 1
    line = _line(text, "hidden: [approve]")
    assert (
        f"templates/purchase-request.yaml:{line}:16: error: test 'Small purchases skip the "
        "manager': step 'approve' should be hidden: expected hidden, got shown"
    ) in result.stderr
    fired = _line(text, "fired: [Skip approval for small amounts]")
    assert f"templates/purchase-request.yaml:{fired}:" in result.stderr
    assert "expected [Skip approval for small amounts], got none" in result.stderr
    assert "11 scenarios in 6 templates: 9 passed, 2 failed." in result.stdout
    assert "FAIL purchase-request: Small purchases skip the manager\n" in result.stdout
    github = run_cli("test", "--format", "github")
    assert github.exit_code == 1
    assert (
        f"::error file=templates/purchase-request.yaml,line={line},col=16,"
        "title=tallyform test%3A Small purchases skip the manager::"
    ) in github.stdout
    document = json.loads(run_cli("test", "purchase-request", "--format", "json").stdout)
    assert not document["passed"]
    failures = [f for s in document["scenarios"] for f in s["failures"]]
    assert failures[0] == {
        "file": "templates/purchase-request.yaml",
        "line": line,
        "column": 16,
        "message": "step 'approve' should be hidden",
        "expected": "hidden",
        "actual": "shown",
    }


FLOW = """\
key: flow
title: Flow
kickoff:
  - key: region
    label: Region
    type: radio
    required: true
    options: [EU, US]
steps:
  - key: draft
    title: Draft
    assignees: {users: [ann@example.com]}
    fields:
      - key: cost
        label: Cost
  - key: review
    title: Review
    type: approval
    assignees: {groups: [Legal]}
  - key: eu-check
    title: EU check
    assignees: {groups: [Compliance]}
  - key: ship
    title: Ship
    assignees: {users: [bob@example.com]}
    deadline: {value: 3, unit: days}
rules:
  - name: EU needs a check
    when: [{field: region, is: equals, value: EU}]
    then: [{show: eu-check}]
  - name: Costly drafts go to finance
    when: [{field: cost, is: greater_than, value: 1000}]
    then:
      - {unassign: review, assignees: {groups: [Legal]}}
      - {assign: review, assignees: {groups: [Finance]}}
      - {deadline: ship, value: 1, unit: days, option: from}
      - {webhook: review, url: 'https://erp.example.com/costly'}
  - name: Rejected reviews go back
    when: [{step: review, is: rejected}]
    then: [{reopen: draft}]
tests:
  - name: A costly EU draft rejected
    kickoff: {region: EU}
    steps:
      - step: draft
        fields: {cost: 5000}
      - {step: review, is: rejected}
    expect:
      shown: [eu-check]
      assignees: {review: {groups: [Finance]}}
      deadlines: {ship: {value: 1, unit: days}}
      webhooks: ['https://erp.example.com/costly']
      fired: [EU needs a check, Costly drafts go to finance, Rejected reviews go back]
  - name: A US step cannot be done
    kickoff: {region: US}
    steps:
      - step: eu-check
    expect:
      hidden: [eu-check]
  - name: Wrong expectations
    kickoff: {region: US}
    expect:
      shown: [eu-check]
      assignees: {review: {users: [cat@example.com]}}
      deadlines: {ship: null}
      webhooks: ['https://erp.example.com/costly']
"""


def test_show_assign_deadline_webhook_and_reopen(project: Callable[..., Path]) -> None:
    root = project({"flow.yaml": FLOW})
    document = json.loads(run_cli("-C", str(root), "test", "--format", "json").stdout)
    first, hidden_step, wrong = document["scenarios"]
    assert first["passed"], first["failures"]
    assert first["fired"] == [
        "EU needs a check",
        "Costly drafts go to finance",
        "Rejected reviews go back",
    ]
    (failure,) = hidden_step["failures"]
    assert failure["line"] == _line(FLOW, "      - step: eu-check")
    assert (
        failure["message"] == "step 'eu-check' is hidden at this point, so nobody can complete it"
    )
    assert failure["actual"] == "hidden: it starts hidden, and rule 'EU needs a check' did not fire"
    found = {f["message"]: (f["expected"], f["actual"]) for f in wrong["failures"]}
    assert found == {
        "step 'eu-check' should be shown": (
            "shown",
            "hidden: it starts hidden, and rule 'EU needs a check' did not fire",
        ),
        "step 'review' has other assignees": ("{users: [cat@example.com]}", "{groups: [Legal]}"),
        "step 'ship' has another deadline": ("no deadline", "3 days from its start"),
        "other webhooks were sent": ("[https://erp.example.com/costly]", "none"),
    }


def test_scenarios_naming_what_is_not_there_fail_test_but_not_validate(
    project: Callable[..., Path],
) -> None:
    bad = FLOW.replace(
        "shown: [eu-check]\n      assignees: {review: {groups",
        "shown: [eu-chek]\n      assignees: {review: {groups",
    )
    bad = bad.replace("fields: {cost: 5000}", "fields: {costs: 5000}")
    bad = bad.replace("kickoff: {region: US}\n    steps:", "kickoff: {place: US}\n    steps:")
    root = project({"flow.yaml": bad})
    assert run_cli("-C", str(root), "validate").exit_code == 0, "a stale test stops no plan"
    result = run_cli("-C", str(root), "test")
    assert result.exit_code == 1
    assert (
        f"flow.yaml:{_line(bad, 'shown: [eu-chek]')}:15: error: no step has the key 'eu-chek'"
        in result.stderr
    )
    assert "step 'draft' has no form field 'costs'; its fields: cost" in result.stderr
    assert "no kick-off field has the key 'place'; kick-off fields: region" in result.stderr
    choice = FLOW.replace("kickoff: {region: EU}", "kickoff: {region: [EU, Mars]}")
    root = project({"flow.yaml": choice})
    result = run_cli("-C", str(root), "test")
    line = _line(choice, "region: [EU, Mars]")
    column = choice.splitlines()[line - 1].index("Mars") + 1
    assert (
        f"flow.yaml:{line}:{column}: error: 'Mars' is not an option of field 'region' (EU, US)"
        in result.stderr
    )
    assert "a radio field takes one answer, not a list" in result.stderr
    assert "0 scenarios in 0 templates" in result.stdout


def test_only_approval_steps_are_approved(project: Callable[..., Path]) -> None:
    bad = FLOW.replace(
        "- {step: review, is: rejected}",
        "- {step: review, is: rejected}\n      - {step: ship, is: approved}",
    )
    root = project({"flow.yaml": bad})
    result = run_cli("-C", str(root), "test")
    assert "only approval steps are approved; 'ship' is a task step" in result.stderr


def test_export_keeps_the_scenarios_of_the_file_it_rewrites(project: Callable[..., Path]) -> None:
    source = (EXAMPLES / "templates" / "purchase-request.yaml").read_text()
    text = source.split("\n", 1)[1]  # without the schema modeline, as export writes it here
    root = project({"purchase-request.yaml": text})
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    exported = run_cli("-C", str(root), "export")
    assert exported.exit_code == 0, exported.output
    assert "0 new, 0 overwritten, 1 unchanged" in exported.stdout
    assert (root / "templates" / "purchase-request.yaml").read_text() == text
    forced = run_cli("-C", str(root), "export", "--force")
    assert (
        forced.exit_code == 0 and "tests:" in (root / "templates/purchase-request.yaml").read_text()
    )
    assert run_cli("-C", str(root), "test").exit_code == 0
