"""Every plan format of a small project against an empty org, compared with golden files.

Regenerate after an intended change with TALLYFORM_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli

GOLDEN = Path(__file__).parent / "golden"
TEMPLATE = """\
title: Expense claim
summary: Claim back money spent for work.
kickoff:
  - key: amount
    label: Amount (USD)
    required: true
    validation: [numeric]
steps:
  - key: submit
    title: Submit receipts
    assignees: {users: [bob@example.com], groups: [Finance]}
    fields:
      - label: Receipts
        type: file
        required: true
  - key: approve
    title: Manager approval
    type: approval
    deadline: {value: 2, unit: days, step: submit}
tags: [finance]
rules:
  - name: Small claims need no approval
    when: [{field: amount, is: less_than, value: 20}]
    then: [{hide: approve}]
"""


@pytest.mark.parametrize("output", ["text", "json", "markdown"])
def test_plan_formats_match_golden_files(output: str, project: object) -> None:
    root = project({"expense-claim.yaml": TEMPLATE})  # type: ignore[operator]
    result = run_cli("--no-color", "-C", str(root), "plan", "--format", output)
    assert result.exit_code == 0, result.output
    golden = GOLDEN / f"plan.{output}"
    if os.environ.get("TALLYFORM_UPDATE_GOLDEN"):
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()


def test_markdown_is_cut_to_stay_under_the_limit() -> None:
    from tallyform.engine.changes import AttrChange, Change, Plan
    from tallyform.render import render_markdown

    plan = Plan(org="big", org_id="0" * 32)
    for number in range(40):
        plan.changes += [
            Change(
                "create",
                "step",
                (f"t{number:02d}", f"s{i}"),
                [AttrChange("title", None, "x" * 200)],
            )
            for i in range(30)
        ]
    text = render_markdown(plan, limit=60_000)
    assert len(text) <= 60_000
    assert "Details left out to keep this comment short" in text
    assert "shortened to stay under 60,000 characters" in text
    assert text.count("<details>") == 40
