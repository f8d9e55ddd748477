"""``variables:`` per org: one repository, several orgs, each with its own values.

``${name}`` in a template takes the value of the org planned against; ``validate``
checks every org, so a variable forgotten for one of them is an error at the line that
uses it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tallyform.emulator import Emulator
from tests.conftest import run_cli

TWO_ORGS = """\
version: 1
default_org: sandbox
orgs:
  sandbox:
    emulator: .tallyform/sandbox.json
    variables:
      intake_webhook: https://hooks.example.com/sandbox/intake
      approver: bob@example.com
      team: IT
  production:
    emulator: .tallyform/production.json
    variables:
      intake_webhook: https://hooks.example.com/prod/intake
      approver: carol@example.com
      team: Finance
"""

TEMPLATE = """\
key: intake
title: Intake
webhook: ${intake_webhook}
summary: Costs $${amount} per request.
steps:
  - key: review
    title: Review by ${team}
    webhook: ${intake_webhook}/review
    assignees: {users: ["${approver}"], groups: ["${team}"]}
"""


def _state(root: Path, org: str) -> dict[str, Any]:
    state: dict[str, Any] = Emulator(state_file=root / ".tallyform" / f"{org}.json").state
    return state


def _template(state: dict[str, Any]) -> dict[str, Any]:
    (template,) = state["checklists"].values()
    return dict(template)


def test_one_repository_applies_to_two_orgs_with_their_own_values(
    project: Callable[..., Path],
) -> None:
    root = project({"intake.yaml": TEMPLATE}, config=TWO_ORGS)
    assert run_cli("-C", str(root), "validate").exit_code == 0
    for org in ("sandbox", "production"):
        result = run_cli("-C", str(root), "apply", "--org", org, "--yes")
        assert result.exit_code == 0, result.output
    for org, hook, person, group in (
        ("sandbox", "https://hooks.example.com/sandbox/intake", 2, "IT"),
        ("production", "https://hooks.example.com/prod/intake", 3, "Finance"),
    ):
        state = _state(root, org)
        template = _template(state)
        assert template["webhook"] == hook
        assert template["summary"] == "Costs ${amount} per request."
        (step,) = template["steps"]
        assert step["title"] == f"Review by {group}"
        assert step["webhook"] == f"{hook}/review"
        assert step["assignees"] == [person]
        names = {g["id"]: g["name"] for g in state["groups"]}
        assert [names[g] for g in step["groups"]] == [group]
        again = run_cli("-C", str(root), "plan", "--org", org, "--detailed-exitcode")
        assert again.exit_code == 0, again.output


def test_a_variable_missing_for_one_org_is_an_error_at_its_line(
    project: Callable[..., Path],
) -> None:
    config = TWO_ORGS.replace("      team: Finance\n", "")
    root = project({"intake.yaml": TEMPLATE}, config=config)
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert (
        "templates/intake.yaml:7:12: error: `${team}` is not defined for org 'production' "
        "(its variables: approver, intake_webhook); add `team:` under "
        "`orgs: production: variables:` in tallyform.yaml"
    ) in result.output, result.output
    assert "'sandbox'" not in result.output
    assert run_cli("-C", str(root), "plan", "--org", "sandbox").exit_code == 0
    refused = run_cli("-C", str(root), "plan", "--org", "production")
    assert refused.exit_code == 1 and "`${team}` is not defined" in refused.output


def test_a_value_that_breaks_a_check_names_the_org(project: Callable[..., Path]) -> None:
    config = TWO_ORGS.replace("approver: carol@example.com", "approver: not-an-email")
    root = project({"intake.yaml": TEMPLATE}, config=config)
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "intake.yaml:9:" in line]
    assert lines and all("(with org 'production''s variables)" in line for line in lines), (
        result.output
    )


def test_a_malformed_reference_is_reported(project: Callable[..., Path]) -> None:
    template = TEMPLATE.replace("Review by ${team}", "Review by ${my team}")
    root = project({"intake.yaml": template}, config=TWO_ORGS)
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert "`${my team}` is not a variable reference" in result.output


def test_a_bad_variable_name_is_reported_in_the_project_file(
    project: Callable[..., Path],
) -> None:
    config = TWO_ORGS.replace("      team: IT\n", "      2team: IT\n")
    result = run_cli("-C", str(project(config=config)), "validate")
    assert result.exit_code == 1
    assert "tallyform.yaml:" in result.output and "2team" in result.output


def test_templates_without_variables_are_checked_once(project: Callable[..., Path]) -> None:
    plain = "key: plain\ntitle: Plain\nsteps:\n  - title: Only\n"
    root = project({"plain.yaml": plain}, config=TWO_ORGS)
    assert run_cli("-C", str(root), "validate").output.strip() == "1 template valid."
