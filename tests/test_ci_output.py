"""What CI reads: validate's GitHub annotations and JSON, apply's progress on stderr, colour
forced with FORCE_COLOR, and `show PLANFILE` printing a saved plan offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tallyform.config import Location, Problem
from tallyform.render.problems import annotation, escape_data, escape_property
from tests.conftest import PROJECT_YAML, run_cli

CLAIM = "title: Claim\nsteps:\n  - key: submit\n    title: Submit\n"
BAD = "key: claim\ntitle: 5\nsteps: 3\n"
ESC = "\x1b["


# -- validate --format github ----------------------------------------------------------------


def test_annotations_escape_as_github_toolkit_does() -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    problem = Problem(Location("templates/odd,name:1.yaml", 3, 7), "bad\nvalue: 50%")
    assert annotation(problem) == (
        "::error file=templates/odd%2Cname%3A1.yaml,line=3,col=7::bad%0Avalue: 50%25"
    )


def test_validate_github_annotates_each_problem_from_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    repo = tmp_path / "repo"
    root = repo / "infra" / "tallyfy"
    (root / "templates").mkdir(parents=True)
    (repo / ".git").mkdir()
    (root / "tallyform.yaml").write_text(PROJECT_YAML)
    (root / "templates/claim.yaml").write_text(BAD)
    (root / "templates/ok.yaml").write_text(CLAIM.replace("Claim", "Fine"))
    monkeypatch.chdir(root / "templates")
    result = run_cli("validate", "--format", "github")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "::error file=infra/tallyfy/templates/claim.yaml,line=2,col=8::expected text, got the number 5",
        "::error file=infra/tallyfy/templates/claim.yaml,line=3,col=8::expected a list, got the number 3",
    ]
    assert "2 problems in 1 file." in result.stderr
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo / "infra"))
    inside = run_cli("validate", "--format", "github")
    assert "file=tallyfy/templates/claim.yaml,line=2" in inside.stdout, "GitHub's checkout wins"


def test_validate_github_without_a_project_is_one_annotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("validate", "--format", "github")
    assert result.exit_code == 1
    assert result.stdout.startswith("::error title=tallyform validate::no tallyform.yaml in ")
    assert "Traceback" not in result.output


def test_validate_github_when_valid_prints_no_annotation(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    result = run_cli("-C", str(root), "validate", "--format", "github")
    assert result.exit_code == 0
    assert "::" not in result.output and "1 template valid." in result.stdout


# -- validate --format json ------------------------------------------------------------------


def test_validate_json_lists_every_problem_and_a_summary(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": BAD, "ok.yaml": CLAIM.replace("Claim", "Fine")})
    result = run_cli("-C", str(root), "validate", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["format_version"] == 1 and document["valid"] is False
    assert [(p["line"], p["column"], p["severity"]) for p in document["problems"]] == [
        (2, 8, "error"),
        (3, 8, "error"),
    ]
    assert all(p["file"].endswith("templates/claim.yaml") for p in document["problems"])
    assert document["problems"][0]["message"] == "expected text, got the number 5"
    assert document["summary"] == {
        "errors": 2,
        "warnings": 0,
        "files_with_problems": 1,
        "templates": 2,
    }
    assert result.stderr == "", "one document, nothing else"


def test_validate_json_of_a_valid_project(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    result = run_cli("-C", str(root), "validate", "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["valid"] is True and document["problems"] == []
    assert document["summary"]["templates"] == 1


def test_validate_json_of_a_broken_tallyform_yaml(project: Callable[..., Path]) -> None:
    root = project(config="version: 1\norgs: 3\n")
    result = run_cli("-C", str(root), "validate", "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    assert problems and all(p["file"].endswith("tallyform.yaml") for p in problems)


def test_validate_text_is_unchanged(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": BAD})
    result = run_cli("-C", str(root), "--no-color", "validate")
    assert result.exit_code == 1
    assert "templates/claim.yaml:2:8: error: expected text, got the number 5" in result.stderr
    assert "2 problems in 1 file." in result.stderr


# -- colour ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "flags", "coloured"),
    [
        ({}, (), False),
        ({"FORCE_COLOR": "1"}, (), True),
        ({"FORCE_COLOR": "true"}, (), True),
        ({"FORCE_COLOR": "0"}, (), False),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, (), False),
        ({"FORCE_COLOR": "1"}, ("--no-color",), False),
    ],
    ids=[
        "no terminal",
        "FORCE_COLOR=1",
        "FORCE_COLOR=true",
        "FORCE_COLOR=0",
        "NO_COLOR wins",
        "--no-color wins",
    ],
)
def test_force_color_colours_output_without_a_terminal(
    project: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    flags: tuple[str, ...],
    coloured: bool,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    root = project({"claim.yaml": CLAIM})
    planned = run_cli("-C", str(root), "plan", *flags)
    assert planned.exit_code == 0, planned.output
    assert (ESC in planned.stdout) is coloured
    applied = run_cli("-C", str(root), "apply", "--yes", *flags)
    assert applied.exit_code == 0, applied.output
    assert (ESC in applied.stderr) is coloured, "progress lines, printed from worker threads"


# -- apply's progress ------------------------------------------------------------------------


def test_apply_prints_one_line_per_change_on_stderr(examples_copy: Path) -> None:
    root = str(examples_copy)
    planned = json.loads(run_cli("-C", root, "plan", "--format", "json").stdout)
    saved = examples_copy / "plan.json"
    assert run_cli("-C", root, "plan", "--out", str(saved)).exit_code == 0
    result = run_cli("-C", root, "--no-color", "apply", str(saved))
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    assert len(progress) == len(planned["changes"]) == sum(planned["summary"].values())
    assert "  + template purchase-request created" in progress
    assert result.stdout.splitlines() == [result.stdout.strip()], "stdout: the closing line"
    assert result.stdout.startswith("Applied: ")


def test_apply_without_a_plan_file_keeps_the_plan_on_stdout(examples_copy: Path) -> None:
    result = run_cli("-C", str(examples_copy), "--no-color", "apply", "--yes")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith('tallyform plan for org "local"')
    assert "Plan: 107 to create" in result.stdout and "Applied: 107 created" in result.stdout
    assert "+ template purchase-request created" not in result.stdout
    assert "  + template purchase-request created\n" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("  + ")]) == 107
