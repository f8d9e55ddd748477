"""`tallyform graph KEY` draws a template's flow; the Markdown plan of a rule change folds in
the flow before and after."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tallyform.logic import render_mermaid
from tallyform.model import Action, Assignees, Condition, Deadline, Rule, Step, Template
from tests.check_helpers import CASES
from tests.conftest import EXAMPLES, run_cli


def test_graph_draws_steps_in_order_rules_and_deadlines() -> None:
    result = run_cli("-C", str(EXAMPLES), "graph", "purchase-request")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    s2["2. Manager approval<br/>approval, due 2 days after submit"]' in lines
    assert [line for line in lines if re.fullmatch(r"    \w+ --> s\d", line)] == [
        "    start --> s1",
        "    s1 --> s2",
        "    s2 --> s3",
        "    s3 --> s4",
    ]
    assert '    start -.->|"amount below 100: hide"| s2' in lines
    assert '    s1 ==>|"category = Software: assign IT"| s4' in lines


def test_graph_marks_hidden_and_unreachable_steps(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CASES["unreachable_step"][0]})
    result = run_cli("-C", str(root), "graph", "claim")
    assert "    s1 -.-> s2" in result.stdout, "approve starts hidden"
    assert "    class s2 hidden" in result.stdout
    assert "    class s2 dead" in result.stdout
    unknown = run_cli("-C", str(root), "graph", "nope")
    assert unknown.exit_code == 1 and "no template file or key 'nope'" in unknown.stderr
    misspelt = run_cli("-C", str(root), "graph", "clam")
    assert "did you mean 'claim'?" in misspelt.stderr, misspelt.stderr


def test_labels_cannot_break_the_diagram() -> None:
    people = Assignees(users=("a@example.com",))
    template = Template(
        "t",
        "T",
        steps=[
            Step("a", 'Say "hi" [now] {x} | #1; `y`', assignees=people),
            Step("b", "B", assignees=people, deadline=Deadline(1, "days", "from", "a")),
        ],
        rules=[
            Rule(
                "r",
                "any",
                (Condition("step", "a", "completed"), Condition("step", "a", "rejected")),
                (Action("webhook", "b", webhook=("https://x.example/in", 'He said "go"')),),
            )
        ],
    )
    text = render_mermaid(template)
    assert "[\"1. Say 'hi' (now) (x) / ＃1, 'y'\"]" in text
    assert "w1>\"webhook: He said 'go'\"]" in text
    assert '    s1 -->|"a completed or a rejected"| w1' in text


def test_the_markdown_plan_of_a_rule_change_shows_the_flow_before_and_after(
    examples_copy: Path,
) -> None:
    root = examples_copy
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    path = root / "templates" / "purchase-request.yaml"
    path.write_text(path.read_text().replace("value: 100}]", "value: 250}]"))
    saved = root / "plan.json"
    planned = run_cli("-C", str(root), "plan", "--format", "markdown", "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    text = planned.stdout
    assert "<details><summary>Flow before and after this plan</summary>" in text
    before, after = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    assert '"amount below 100: hide"' in before
    assert '"amount below 250: hide"' in after
    assert text.count("```mermaid") == 2, "only the template whose rules change"
    shown = run_cli("show", str(saved), "--format", "markdown")
    assert "```mermaid" not in shown.stdout, "a saved plan keeps no states to draw from"


def test_diagrams_are_the_first_thing_left_out_of_a_long_comment() -> None:
    from tallyform.model.changes import AttrChange, Change, Plan
    from tallyform.model.state import desired_state
    from tallyform.render.markdown import render_markdown

    people = Assignees(users=("ann@example.com",))
    steps = [Step(f"s{i}", f"Step number {i} " + "x" * 40, assignees=people) for i in range(30)]
    rule = Rule("r", "all", (Condition("step", "s0", "completed"),), (Action("hide", "s1"),))
    template = Template("t", "T", steps=steps, rules=[rule])
    plan = Plan(org="o", org_id="0" * 32)
    plan.changes.append(Change("create", "rule", ("t", "r"), [AttrChange("match", None, "all")]))
    states = {"t": (desired_state(template), None)}
    full = render_markdown(plan, states=states)
    assert "```mermaid" in full
    without = render_markdown(plan)
    limit = len(without) + 600  # room for the diff and the closing note, not the diagram
    short = render_markdown(plan, limit=limit, states=states)
    assert "```mermaid" not in short
    assert "Details left out" not in short, "the diff stays"
    assert "in a comment): 1 flow diagram left out. Run `tallyform plan`" in short
    assert len(short) <= limit
