"""A plan says a change as the template file says it: rules as written, numbers as
numbers, only the part of a mapping that changed, form fields under their step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tallyform.render.words import flow
from tests.conftest import run_cli

TEMPLATE = """\
key: onboarding
title: Onboarding
kickoff:
  - {key: seats, label: Seats, type: text}
steps:
  - key: configure
    title: Configure
    deadline: {value: 2, unit: days}
    fields:
      - {key: vendor, label: Vendor, type: text}
  - key: review
    title: Review
    fields:
      - {key: notes, label: Notes, type: text}
rules:
  - name: Big orders
    when: [{field: seats, is: greater_than, value: 100}]
    then: [{assign_only: configure, assignees: {users: [alice@example.com]}}]
"""
EDITS = (
    ("deadline: {value: 2, unit: days}", "deadline: {value: 3, unit: days}"),
    ("label: Vendor", "label: Supplier"),
    ("value: 100", "value: 250"),
    ("users: [alice@example.com]", "users: [erin@example.com]"),
    ("  - key: review\n", "  - key: check\n    title: Check\n  - key: review\n"),
)
PLAN = """\
  ~ template "onboarding" will be updated in place
      ~ step "configure"
          deadline.value = 2 -> 3
          ~ field "vendor"
              label = "Vendor" -> "Supplier"
      + step "check"
          title = "Check"
          type  = "task"
      ~ rule "Big orders"
          when = [{field: seats, is: greater_than, value: 100}] -> [{field: seats, is: greater_than, value: 250}]
          then = [{assign_only: configure, assignees: {users: [alice@example.com]}}] -> [{assign_only: configure, assignees: {users: [erin@example.com]}}]
      ~ steps will be reordered
          order = [configure, review] -> [configure, check, review]
"""


def _edited(project: Any) -> Path:
    root: Path = project({"onboarding.yaml": TEMPLATE})
    applied = run_cli("-C", str(root), "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    path = root / "templates" / "onboarding.yaml"
    text = path.read_text()
    for old, new in EDITS:
        text = text.replace(old, new)
    path.write_text(text)
    return root


def test_a_plan_says_rules_numbers_and_deadlines_as_the_file_does(project: Any) -> None:
    root = _edited(project)
    result = run_cli("--no-color", "-C", str(root), "plan")
    assert result.exit_code == 0, result.output
    body = result.stdout.split("\n\n", 1)[1]
    assert (
        body == PLAN + "\nPlan: 1 to create, 3 to update, 0 to delete, 1 to reorder (8 writes).\n"
    )

    markdown = run_cli("-C", str(root), "plan", "--format", "markdown").stdout
    assert (
        '!       step "configure"\n'
        "           deadline.value = 2 -> 3\n"
        '!           field "vendor"\n'
        '               label = "Vendor" -> "Supplier"\n'
    ) in markdown


def test_json_keeps_its_shape_in_the_files_words(project: Any) -> None:
    root = _edited(project)
    document = json.loads(run_cli("-C", str(root), "plan", "--format", "json").stdout)
    assert document["format_version"] == 1
    changes = {c["path"]: c for c in document["changes"]}
    assert changes["onboarding/configure"]["changes"] == [
        {"field": "deadline.value", "old": 2, "new": 3}
    ]
    assert changes["onboarding/vendor"]["step"] == "configure"
    rule = {a["field"]: a for a in changes["onboarding/Big orders"]["changes"]}
    assert rule["when"]["new"] == [{"field": "seats", "is": "greater_than", "value": 250}]
    assert rule["then"]["new"] == [
        {"assign_only": "configure", "assignees": {"users": ["erin@example.com"]}}
    ]


@pytest.mark.parametrize(
    "value",
    [
        "Vendor",
        "1e3",
        "0x10",
        "2026-01-01",
        "yes",
        "Off",
        "a: b",
        "a,b",
        "x #y",
        " pad",
        "é",
        "erin@example.com",
        "Jira (cloud)",
        "O'Brien",
        "[x]",
        "100",
        "-x",
        100,
        2.5,
        True,
        None,
    ],
)
def test_a_value_in_flow_style_reads_back_as_itself(value: object) -> None:
    assert yaml.safe_load(f"k: {flow([value])}")["k"] == [value]


def test_plain_where_yaml_would_write_it_plain() -> None:
    assert flow({"users": ["erin@example.com"], "groups": []}) == (
        "{users: [erin@example.com], groups: []}"
    )
    assert flow([{"field": "amount", "is": "less_than", "value": 100}]) == (
        "[{field: amount, is: less_than, value: 100}]"
    )


def test_a_plan_saved_before_fields_named_their_step_still_applies(project: Any) -> None:
    root = _edited(project)
    saved = root / "plan.json"
    assert run_cli("-C", str(root), "plan", "--out", str(saved)).exit_code == 0
    document = json.loads(saved.read_text())
    for change in document["changes"]:
        change.pop("step", None)
    saved.write_text(json.dumps(document))
    applied = run_cli("-C", str(root), "apply", str(saved))
    assert applied.exit_code == 0, applied.output
