"""`tallyform check`: each of the twelve checks fails on a template that has its defect, at
the right line, and stays quiet on the same template without it; the output formats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tallyform.logic import CHECKS, DEFAULT_SEVERITY, check_template
from tallyform.model import Action, Assignees, Condition, Rule, Step, Template
from tests.check_helpers import CASES, HEAD
from tests.conftest import PROJECT_YAML, REPO, run_cli


def _check(project: Callable[..., Path], text: str, *args: str) -> tuple[int, dict[str, Any]]:
    root = project({"claim.yaml": text})
    result = run_cli("-C", str(root), "check", "--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def _found(document: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in document["findings"] if f["check"] == check]


def _line(text: str, needle: str, nth: int = 1) -> int:
    """The line (from 1) of the nth line holding ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


@pytest.mark.parametrize("check", sorted(CASES))
def test_each_check_fails_at_its_line_and_passes_without_the_defect(
    project: Callable[..., Path], check: str
) -> None:
    failing, needle, passing = CASES[check]
    code, document = _check(project, failing)
    found = _found(document, check)
    assert found, document["findings"]
    assert found[0]["line"] == _line(failing, needle), found[0]
    assert "on any path" not in found[0]["message"]
    assert code == (1 if DEFAULT_SEVERITY[check] == "error" else code)
    code, document = _check(project, passing)
    assert not _found(document, check), document["findings"]
    assert document["problems"] == []


def _model(rules: list[Rule]) -> Template:
    people = Assignees(users=("ann@example.com",))
    return Template(
        key="claim",
        title="Claim",
        steps=[Step("ask", "Ask", assignees=people), Step("file", "File", assignees=people)],
        rules=rules,
    )


def test_an_empty_rule_is_found_in_a_template_read_from_an_org() -> None:
    # The schema refuses a rule without `when:` or `then:`, so only a live template has one.
    done = Condition("step", "ask", "completed")
    empty = _model([Rule("Nothing to do", "all", (done,), ())])
    found = [f for f in check_template(empty).findings if f.check == "empty_rule"]
    assert [f.message for f in found] == [
        "rule 'Nothing to do' has no actions, so Tallyfy skips it; complete it or remove it"
    ]
    assert found[0].location is None
    working = _model([Rule("Reopen", "all", (done,), (Action("reopen", "file"),))])
    assert not [f for f in check_template(working).findings if f.check == "empty_rule"]


def test_a_rule_on_nothing_of_the_template_is_never_evaluated() -> None:
    gone = Condition("field", "deleted-field", "is_empty")
    rule = Rule("Orphan", "all", (gone,), (Action("hide", "file"),))
    checks = {f.check for f in check_template(_model([rule])).findings}
    assert {"never_evaluated_automation", "dangling_reference"} <= checks


def test_every_check_has_a_case_and_a_default() -> None:
    assert set(CASES) | {"empty_rule"} == set(CHECKS) == set(DEFAULT_SEVERITY)
    schema = json.loads((REPO / "schemas/project.schema.json").read_text())
    listed = schema["properties"]["checks"]["properties"]
    assert {name: value["default"] for name, value in listed.items()} == DEFAULT_SEVERITY


HIDDEN_STEP = (
    HEAD
    + """\
rules:
  - name: Every claim skips approval
    when: [{field: size, is: is_not_empty}]
    then: [{hide: approve}]
"""
)


def test_a_step_a_rule_always_hides_fails_check_at_the_step(
    project: Callable[..., Path],
) -> None:
    code, document = _check(project, HIDDEN_STEP)
    assert code == 1
    (found,) = _found(document, "unreachable_step")
    assert found["line"] == _line(HIDDEN_STEP, "- key: approve")
    assert "hides it at launch on every path" in found["message"]
    assert (found["step"], found["rule"], found["template"]) == ("approve", None, "claim")
    assert found["coverage"] == {"kind": "exhaustive", "paths": 1, "of": 1}


def test_checks_can_be_warnings_or_off_in_tallyform_yaml(project: Callable[..., Path]) -> None:
    failing = CASES["unreachable_step"][0]
    config = PROJECT_YAML + "checks:\n  unreachable_step: warning\n  inert_rule: 'off'\n"
    root = project({"claim.yaml": failing}, config=config)
    result = run_cli("-C", str(root), "check", "--format", "json")
    document = json.loads(result.stdout)
    assert result.exit_code == 0
    assert {f["check"]: f["severity"] for f in document["findings"]} == {
        "unreachable_step": "warning"
    }
    bad = project({"claim.yaml": failing}, config=PROJECT_YAML + "checks:\n  unreachable: off\n")
    result = run_cli("-C", str(bad), "check")
    assert result.exit_code == 1
    assert "tallyform.yaml:" in result.stderr


def test_text_and_github_formats(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = CASES["stale_condition_value"][0]
    root = project({"claim.yaml": failing})
    monkeypatch.chdir(root)
    line = _line(failing, "is: greater_than")
    text = run_cli("check")
    assert text.exit_code == 1
    assert f"templates/claim.yaml:{line}:" in text.stderr
    assert "error: rule 'Big claims need no approval' (line" in text.stderr
    assert "[stale_condition_value; from the template's text]" in text.stderr
    assert text.stdout.startswith("1 template checked (")
    github = run_cli("check", "--format", "github")
    assert f"::error file=templates/claim.yaml,line={line}," in github.stdout
    assert "title=tallyform check%3A stale_condition_value::" in github.stdout


def test_check_names_files_or_keys_and_reports_validate_problems(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project({"claim.yaml": CASES["stale_condition_value"][0], "broken.yaml": "title: 5\n"})
    monkeypatch.chdir(root)
    only = run_cli("check", "templates/claim.yaml", "--format", "json")
    assert json.loads(only.stdout)["problems"] == []
    by_key = run_cli("check", "claim", "--format", "json")
    assert json.loads(by_key.stdout)["templates"] == [
        {"key": "claim", "paths": 1, "sampled": False}
    ]
    everything = run_cli("check", "--format", "json")
    problems = json.loads(everything.stdout)["problems"]
    assert [p["file"] for p in problems] == ["templates/broken.yaml"]
    unknown = run_cli("check", "nothing-here")
    assert unknown.exit_code == 1
    assert "no template file or key 'nothing-here'" in unknown.stderr


def test_the_examples_have_no_errors() -> None:
    result = run_cli("-C", str(REPO / "examples"), "check", "--format", "json")
    document = json.loads(result.stdout)
    assert result.exit_code == 0, document
    assert document["summary"]["errors"] == 0


def test_a_large_template_is_sampled_and_says_so() -> None:
    people = Assignees(users=("ann@example.com",))
    steps = [Step(f"s{i}", f"Step {i}", assignees=people) for i in range(14)]
    from tallyform.model import Field, Option

    kickoff = [
        Field(f"f{i}", f"F{i}", "dropdown", True, (Option("A"), Option("B"), Option("C")))
        for i in range(8)
    ]
    rules = [
        Rule(
            f"r{i}",
            "all",
            (
                Condition("field", f"f{i}", "equals", "A"),
                Condition("field", f"f{i + 1}", "equals", "B"),
            ),
            (Action("hide", f"s{i}"),),
        )
        for i in range(7)
    ]
    analysis = check_template(Template("big", "Big", kickoff=kickoff, steps=steps, rules=rules))
    assert analysis.sampled
    assert analysis.paths == 2048
    contrary = (Condition("field", "f0", "equals", "A"), Condition("field", "f0", "equals", "B"))
    rules.append(Rule("never", "all", contrary, (Action("hide", "s13"),)))
    analysis = check_template(Template("big", "Big", kickoff=kickoff, steps=steps, rules=rules))
    (finding,) = analysis.findings
    assert str(finding.coverage) == "sampled: 1460 of 4374 paths"
    assert finding.message == (
        "rule 'never' never fires: its conditions (all together) hold on none of the 1460 "
        "paths walked (a sample); fix the conditions or remove the rule"
    )


def test_generated_templates_are_checked_and_tested_without_a_hitch(tmp_path: Path) -> None:
    """The benchmark's templates (random field types under fixed rules) load, check and
    run their scenarios; its report names what each command found (nothing is timed)."""
    from benchmarks import check_files

    check_files.make_project(tmp_path, 12)
    result = run_cli("-C", str(tmp_path), "check", "--format", "json")
    document = json.loads(result.stdout)
    assert document["problems"] == [] and len(document["templates"]) == 12
    tested = json.loads(run_cli("-C", str(tmp_path), "test", "--format", "json").stdout)
    assert tested["summary"]["scenarios"] == 24
    # The generated scenarios answer no required field, which Tallyfy refuses: a launch
    # without each required kick-off answer, or a task completed without its values.
    refusals = [f["message"] for s in tested["scenarios"] for f in s["failures"]]
    assert refusals and all(
        m.startswith("the process cannot be launched") or "requires a value" in m for m in refusals
    ), refusals
    assert check_files._found("check", document).startswith(f"{document['summary']['paths']} paths")


SHOW_AND_HIDE = (
    HEAD
    + """\
rules:
  - name: Large claims need approval
    when: [{field: size, is: equals, value: Large}]
    then: [{show: approve}]
  - name: Asked claims skip approval
    when: [{step: ask, is: completed}]
    then: [{hide: approve}]
"""
)


def test_a_step_two_rules_show_and_hide_fails_check_at_the_later_rule(
    project: Callable[..., Path],
) -> None:
    code, document = _check(project, SHOW_AND_HIDE)
    assert code == 1
    (found,) = _found(document, "conflicting_rules")
    assert found["line"] == _line(SHOW_AND_HIDE, "then: [{hide: approve}]")
    assert found["column"] == SHOW_AND_HIDE.splitlines()[found["line"] - 1].index("approve") + 1
    assert (found["step"], found["rule"]) == ("approve", "Asked claims skip approval")
    assert "('show' and 'hide') when size = 'Large'" in found["message"]
