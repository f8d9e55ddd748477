"""Every plan format of a small project against an empty org, compared with golden files.

Regenerate after an intended change with TALLYFORM_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tallyform.model.changes import AttrChange, Change, Plan
from tallyform.render import render_markdown
from tallyform.render.markdown import FULL_TEMPLATES
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


def _big_plan(templates: int, steps: int, title: str = "x" * 200) -> Plan:
    """A plan creating ``steps`` steps in each of ``templates`` templates (updating every
    third template's title too), and one tag."""
    plan = Plan(org="big", org_id="0" * 32)
    plan.changes.append(Change("create", "tag", ("finance",)))
    for number in range(templates):
        key = f"t{number:04d}"
        if number % 3 == 0:
            plan.changes.append(
                Change("update", "template", (key,), [AttrChange("title", "Old", "New")])
            )
        plan.changes += [
            Change("create", "step", (key, f"s{i}"), [AttrChange("title", None, title)])
            for i in range(steps)
        ]
    return plan


def test_markdown_summary_counts_templates_and_objects_per_action() -> None:
    text = render_markdown(_big_plan(6, 2))
    assert "**6 templates** with changes, and 1 org-wide change" in text
    assert "| Create | 13 | 6 |" in text, "12 steps and a tag, in 6 templates"
    assert "| Update | 2 | 2 |" in text
    assert "| Delete | 0 | 0 |" in text


def test_a_big_plan_shows_the_first_templates_and_a_table_of_the_rest() -> None:
    text = render_markdown(_big_plan(300, 2, title="Step"))
    assert FULL_TEMPLATES == 20
    sections = re.findall(r"<summary><code>(t\d+)</code>", text)
    assert sections == [f"t{n:04d}" for n in range(20)], "the first 20 in plan order, in full"
    assert "<summary>280 more templates with changes (counts only)</summary>" in text
    assert "| Template | Create | Update | Delete | Reorder |" in text
    assert "| `t0020` | 2 | 0 | 0 | 0 |" in text and "| `t0021` | 2 | 1 | 0 | 0 |" in text
    assert "| `t0297` | 2 | 1 | 0 | 0 |" in text and "| `t0299` | 2 | 0 | 0 | 0 |" in text
    assert "Shortened" not in text


def test_markdown_is_cut_to_stay_under_the_limit() -> None:
    text = render_markdown(_big_plan(40, 30), limit=60_000)
    assert len(text) <= 60_000
    assert "Details left out to keep this comment short (31 changes)" in text
    assert "Shortened to stay under 60,000 characters" in text and "without details" in text
    assert text.count("<details>") == 1 + 20 + 1, "the org, 20 templates, the table of the rest"


def test_a_huge_plan_fits_a_github_comment_and_says_what_was_left_out() -> None:
    text = render_markdown(_big_plan(5000, 3))
    assert len(text) <= 60_000 < 65_536
    assert "**5000 templates** with changes" in text
    assert re.search(r"and \d+ templates not listed", text)
    assert text.endswith("to see everything._\n")
    assert text.count("<details>") == text.count("</details>")


def test_no_value_ends_a_diff_block_early() -> None:
    plan = _big_plan(1, 1, title="```\n</details>\n# injected")
    text = render_markdown(plan)
    assert "````diff\n" in text and "\n````\n" in text
