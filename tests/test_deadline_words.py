"""One deadline vocabulary: `before` and `prior_to` are accepted in step deadlines and in
rule deadline actions alike, and what is sent to the API does not change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import project_templates, run_cli

API_WORDS = """\
title: Leave request
steps:
  - key: submit
    title: Submit
  - key: approve
    title: Approve
    deadline: {value: 2, unit: days, option: prior_to, step: submit}
rules:
  - name: Urgent
    when: [{step: submit, is: completed}]
    then: [{deadline: approve, value: 1, unit: days, option: before}]
"""
SWAPPED = (
    API_WORDS.replace("option: prior_to", "option: X")
    .replace("option: before", "option: prior_to")
    .replace("option: X", "option: before")
)


def test_either_word_means_the_same_in_both_places(project: Callable[..., Path]) -> None:
    root = project({"leave.yaml": API_WORDS})
    applied = run_cli("-C", str(root), "apply", "--yes")
    assert applied.exit_code == 0, applied.output
    (root / "templates/leave.yaml").write_text(SWAPPED)
    assert run_cli("-C", str(root), "validate").exit_code == 0
    [template] = project_templates(root)
    assert template.steps[1].deadline is not None
    assert template.steps[1].deadline.option == "prior_to"  # the API's word for steps
    assert template.rules[0].then[0].deadline == (1, "days", "before")  # and for rules
    plan = run_cli("-C", str(root), "plan")
    assert "No changes." in plan.stdout, plan.output


def test_another_word_is_refused_with_both_spellings_listed(project: Callable[..., Path]) -> None:
    root = project({"leave.yaml": API_WORDS.replace("option: prior_to", "option: piror_to")})
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert (
        "templates/leave.yaml:7:46: error: 'piror_to' is not allowed here; did you mean "
        "'prior_to'? use one of: from, prior_to, before"
    ) in result.output, result.output
