"""What CI reads: validate's GitHub annotations and JSON, apply's progress on stderr, colour
forced with FORCE_COLOR, and `show PLANFILE` printing a saved plan offline."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyform.config import Location, Problem
from tallyform.engine.planfile import CARRIED_OUT, path_parts, save_plan
from tallyform.model.changes import AttrChange, Change, ItemChange, Plan
from tallyform.model.kinds import ACTIONS, KINDS
from tallyform.render.problems import annotation, escape_data, escape_property
from tests.conftest import PROJECT_YAML, REPO, run_cli

# The purchase-request example's summary line, as written.
SUMMARY_LINE = "summary: Ask to buy something; a manager approves any purchase of 100 USD or more."

FLOW = r"\n\n<details><summary>Flow before and after this plan</summary>.*?</details>"
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
    assert "Plan: 108 to create" in result.stdout and "Applied: 108 created" in result.stdout
    assert "+ template purchase-request created" not in result.stdout
    assert "  + template purchase-request created\n" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("  + ")]) == 108


# -- show PLANFILE ---------------------------------------------------------------------------

EDITS = [  # every kind of change, and names holding a '/'
    (SUMMARY_LINE, "summary: Ask first."),
    (
        "options: [Hardware, Software, Services]",
        "options: [Hardware, Software, Services/consulting, Other]",
    ),
    ("      - key: quote\n        label: Quote or invoice\n        type: file\n", ""),
    ("name: Skip approval for small amounts", "name: Skip approval for A/B amounts"),
    ("tags: [finance]", "tags: [finance, it/ops]"),
    ("folder: Finance/Purchasing", "folder: Finance/Purchasing/2025"),
    (
        "  - key: finance-review\n    title: Finance review\n    type: approval\n"
        "    assignees: {groups: [Finance]}\n",
        "",
    ),
]


def _edited_and_saved(examples_copy: Path) -> tuple[Path, dict[str, str]]:
    """The examples applied, then edited; the plan of the edits saved, and as each format printed it."""
    root = str(examples_copy)
    assert run_cli("-C", root, "apply", "--yes").exit_code == 0
    template = examples_copy / "templates/purchase-request.yaml"
    text = template.read_text()
    for old, new in EDITS:
        assert old in text, old
        text = text.replace(old, new, 1)
    template.write_text(
        text.replace(
            "  - key: approve\n",
            "  - key: place-order-first\n    title: Order first\n  - key: approve\n",
            1,
        )
    )
    saved = examples_copy / "plan.json"
    printed = {}
    for output in ("text", "json", "markdown"):
        result = run_cli("-C", root, "--no-color", "plan", "--format", output, "--out", str(saved))
        assert result.exit_code == 0, result.output
        printed[output] = result.stdout
    return saved, printed


def test_show_prints_a_saved_plan_as_plan_printed_it(
    examples_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved, printed = _edited_and_saved(examples_copy)
    actions = {c["action"] for c in json.loads(printed["json"])["changes"]}
    assert {"create", "update", "delete", "reorder"} <= actions
    assert "Services/consulting" in printed["text"] and "A/B amounts" in printed["text"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no tallyform.yaml, no org, no token: offline
    assert "```mermaid" in printed["markdown"], "the rules change: their flow is drawn"
    for output, expected in printed.items():
        shown = run_cli("--no-color", "show", str(saved), "--format", output)
        assert shown.exit_code == 0, shown.output
        # A saved plan keeps no template states, so show draws no flow diagrams.
        flowless = re.sub(FLOW, "", expected, flags=re.S)
        assert shown.stdout == flowless, output
    assert run_cli("show", str(saved), "--detailed-exitcode").exit_code == 2


def test_show_of_a_plan_with_nothing_to_do(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    saved = root / "plan.json"
    assert run_cli("-C", str(root), "plan", "--out", str(saved)).exit_code == 0
    shown = run_cli("--no-color", "show", str(saved), "--detailed-exitcode")
    assert shown.exit_code == 0 and "No changes." in shown.stdout


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda text: text[: len(text) // 2], "not readable as JSON"),
        (
            lambda text: text.replace('"planfile_version": 2', '"planfile_version": 1'),
            "not a saved plan of this tallyform version",
        ),
        (
            lambda text: text.replace('"path": "claim/', '"path": "claim', 1),
            "does not name a",
        ),
        (lambda text: text.replace('"writes": 1', '"writes": "one"', 1), "writes must be a count"),
        (
            lambda text: text.replace('"warnings": []', '"warnings": [3]', 1),
            "'warnings' must list text",
        ),
    ],
    ids=["truncated", "old version", "path", "writes", "warnings"],
)
def test_show_of_a_damaged_plan_is_one_clear_error(
    project: Callable[..., Path], damage: Callable[[str], str], said: str
) -> None:
    root = project({"claim.yaml": CLAIM})
    saved = root / "plan.json"
    assert run_cli("-C", str(root), "plan", "--out", str(saved)).exit_code == 0
    damaged = saved.with_name("damaged.json")
    text = saved.read_text()
    changed = damage(text)
    assert changed != text
    damaged.write_text(changed)
    result = run_cli("show", str(damaged))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {damaged}: ") and said in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    refused = run_cli("-C", str(root), "apply", str(damaged))
    assert refused.exit_code == 1 and said in refused.stderr, "apply reads it the same way"


def test_the_readmes_pull_request_comment_is_what_plan_prints(examples_copy: Path) -> None:
    readme = (REPO / "README.md").read_text()
    [shown] = re.findall(r"````markdown\n(.*?)````\n", readme, re.S)
    root = str(examples_copy)
    assert run_cli("-C", root, "apply", "--yes").exit_code == 0
    template = examples_copy / "templates/purchase-request.yaml"
    text = template.read_text().replace("label: Vendor", "label: Supplier")
    template.write_text(text.replace("Software, Services]", "Software, Services, Other]"))
    planned = run_cli("-C", root, "plan", "--format", "markdown")
    assert planned.stdout.replace("`local`", "`production`") == shown


def _every_kind_of_change() -> Plan:
    """A plan with one change of every kind apply carries out, paths shaped as plan makes them."""
    plan = Plan(org="local", org_id="0" * 32, warnings=["--only 'x*' matches no template"])
    for kind, action in sorted(CARRIED_OUT):
        parts = ["t", "s", "fields"][: path_parts(kind, action)]
        if kind in ("folder", "tag", "rule", "tagging"):
            parts[-1] = "A/B name"
        attributes = [
            AttrChange("order", ["a", "b"], ["b", "a"])
            if action == "reorder"
            else AttrChange(
                "options",
                ["x"],
                ["y", "z"],
                (ItemChange("rename", "x", "y"), ItemChange("add", new="z")),
            )
        ]
        plan.changes.append(
            Change(
                action,
                kind,
                tuple(parts),
                attributes,
                live_id="7",
                note="a note",
                moves=(("b", 1),) if action == "reorder" else (),
                position=2 if action == "move" else None,
            )
        )
    return plan


def test_show_prints_every_kind_of_change_tallyform_makes(tmp_path: Path) -> None:
    saved = tmp_path / "plan.json"
    save_plan(_every_kind_of_change(), saved)
    for output in ("text", "json", "markdown"):
        shown = run_cli("--no-color", "show", str(saved), "--format", output)
        assert shown.exit_code == 0, shown.output
    text = run_cli("--no-color", "show", str(saved)).stdout
    assert 'rule "A/B name"' in text and "--only 'x*' matches no template" in text


def test_show_refuses_a_change_tallyform_never_makes(tmp_path: Path) -> None:
    plan = Plan(org="local", org_id="0" * 32, changes=[Change("reorder", "template", ("t",))])
    saved = tmp_path / "plan.json"
    save_plan(plan, saved)
    shown = run_cli("show", str(saved))
    assert shown.exit_code == 1
    assert "change 1 would reorder a template, which is no change tallyform makes" in shown.stderr


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)
ENTRIES = st.fixed_dictionaries(
    {
        "path": st.text(alphabet="ab/", max_size=6),
        "kind": st.sampled_from(KINDS),
        "action": st.sampled_from(ACTIONS),
        "writes": st.integers(-1, 3),
    },
    optional={
        "changes": st.lists(
            st.fixed_dictionaries(
                {"field": st.text(max_size=4), "old": JSON_VALUES, "new": JSON_VALUES},
                optional={
                    "items": st.lists(
                        st.fixed_dictionaries(
                            {"action": st.sampled_from(["add", "remove", "rename", "drop"])},
                            optional={"old": JSON_VALUES, "new": JSON_VALUES, "in": JSON_VALUES},
                        ),
                        max_size=2,
                    )
                },
            ),
            max_size=2,
        ),
        "moves": st.lists(
            st.fixed_dictionaries({"key": st.text(max_size=2), "position": st.integers(0, 3)}),
            max_size=2,
        ),
        "id": JSON_VALUES,
        "note": JSON_VALUES,
        "position": JSON_VALUES,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=st.lists(ENTRIES, max_size=3))
def test_show_of_any_hand_edited_plan_is_a_plan_or_one_error(
    tmp_path: Path, changes: list[dict[str, object]]
) -> None:
    saved = tmp_path / "plan.json"
    saved.write_text(
        json.dumps(
            {
                "planfile_version": 2,
                "org": "local",
                "org_id": "0",
                "changes": changes,
                "snapshots": {},
            }
        )
    )
    for output in ("text", "markdown"):
        shown = run_cli("--no-color", "show", str(saved), "--format", output)
        assert shown.exit_code in (0, 1)
        assert "stopped unexpectedly" not in shown.stderr and "Traceback" not in shown.output
        if shown.exit_code:
            assert len(shown.stderr.splitlines()) == 1
