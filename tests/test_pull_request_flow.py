"""The pull-request flow of the CI workflows, end to end over a real loopback socket.

Two branches are planned from the same main; the first is merged and its saved plan
applied; the second's plan, saved before that merge, is then refused because the org
changed in between, and nothing changes; a fresh plan of main applies, and main then plans
no changes. The first test drives the CLI as the workflows do; the second runs the
workflows' own shell scripts with bash, with the installed `tallyform` on PATH, as a
runner would.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tallyform.emulator import DEFAULT_TOKEN, Emulator, EmulatorServer
from tests.ci_helpers import (
    ACTION,
    APPLY_WORKFLOW,
    DRIFT_WORKFLOW,
    ORG,
    PLAN_WORKFLOW,
    TOKEN_ENV,
    bash,
    make_main,
    script,
    workflow_env,
)
from tests.conftest import Run, run_cli

EDIT_A = ("templates/purchase-request.yaml", "label: Vendor", "label: Supplier")
EDIT_B = ("templates/incident-response.yaml", "title: Contain the impact", "title: Contain it")


def branch(main: Path, name: str, edit: tuple[str, str, str]) -> Path:
    """A copy of main with one edit, as a pull request's checkout would be."""
    copy_ = main.parent / name
    shutil.copytree(main, copy_, ignore=shutil.ignore_patterns(".tallyform", "*.json", "*.md"))
    file, old, new = edit
    text = (copy_ / file).read_text()
    assert old in text, old
    (copy_ / file).write_text(text.replace(old, new, 1))
    return copy_


def merge(pull: Path, main: Path, edit: tuple[str, str, str]) -> None:
    """Main takes the pull request's edited file (its other files are main's own)."""
    shutil.copyfile(pull / edit[0], main / edit[0])


def templates_of(emulator: Emulator) -> dict[str, Any]:
    """Everything in the org but tags, which apply's lock makes and removes."""
    return copy.deepcopy({k: v for k, v in emulator.state.items() if k not in ("tags", "counters")})


def writes_since(emulator: Emulator, start: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in emulator.requests[start:] if r["method"] != "GET"]


def cli(root: Path, *args: str) -> Run:
    return run_cli("--no-color", "-C", str(root), *args)


def test_a_plan_saved_before_another_merge_is_refused_and_nothing_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = Emulator()
    with EmulatorServer(emulator) as server:
        monkeypatch.setenv(TOKEN_ENV, DEFAULT_TOKEN)
        main = make_main(tmp_path / "main", server.url, emulator.org_id)
        assert cli(main, "apply", "--yes").exit_code == 0, "the org starts as main"
        pull_a, pull_b = branch(main, "pull-a", EDIT_A), branch(main, "pull-b", EDIT_B)

        # Both pull requests are validated and planned, as the pull-request workflow does.
        saved_a, saved_b = tmp_path / "a.plan.json", tmp_path / "b.plan.json"
        outputs = []
        for pull, saved in ((pull_a, saved_a), (pull_b, saved_b)):
            checked = cli(pull, "validate", "--format", "github")
            assert checked.exit_code == 0 and "::error" not in checked.output
            planned = cli(
                pull, "plan", "--out", str(saved), "--format", "markdown", "--detailed-exitcode"
            )
            assert planned.exit_code == 2, planned.output
            assert "| Update | 1 | 1 |" in planned.stdout
            shown = run_cli("show", str(saved), "--format", "markdown")
            assert shown.stdout == planned.stdout, "show prints the saved plan as plan did"
            outputs += [checked, planned, shown]

        # A is merged: main applies A's saved plan.
        merge(pull_a, main, EDIT_A)
        applied = cli(main, "apply", str(saved_a))
        assert applied.exit_code == 0, applied.output
        assert applied.stdout.startswith("Applied: 1 updated (1 write,"), applied.stdout
        assert "~ field purchase-request/vendor updated in place" in applied.stderr
        after_a = cli(main, "plan", "--detailed-exitcode")
        assert after_a.exit_code == 0 and "No changes." in after_a.stdout, "main matches the org"

        # B is merged: its plan was saved before A changed the org, so it is refused.
        merge(pull_b, main, EDIT_B)
        before, start = templates_of(emulator), len(emulator.requests)
        refused = cli(main, "apply", str(saved_b))
        assert refused.exit_code == 1
        assert refused.stderr.startswith("Error: the saved plan is stale, nothing was changed: ")
        assert "template purchase-request changed in the org since the plan was made" in (
            refused.stderr
        )
        assert "Traceback" not in refused.output and "Applied" not in refused.output
        assert templates_of(emulator) == before, "nothing changed"
        assert all("/tags" in write for write in writes_since(emulator, start)), "only the lock"

        # A fresh plan of main holds B's change alone; applied, main plans no changes.
        fresh = tmp_path / "fresh.plan.json"
        replanned = cli(main, "plan", "--out", str(fresh), "--format", "json")
        document = json.loads(replanned.stdout)
        assert [(c["path"], c["action"]) for c in document["changes"]] == [
            ("incident-response/contain", "update")
        ]
        assert cli(main, "apply", str(fresh)).exit_code == 0
        final = cli(main, "plan", "--detailed-exitcode")
        outputs += [applied, refused, replanned, final]
    assert final.exit_code == 0 and "No changes." in final.stdout
    texts = [r.output for r in outputs] + [p.read_text() for p in (saved_a, saved_b, fresh)]
    assert all(DEFAULT_TOKEN not in text for text in texts)


# -- the workflows' own scripts, run by bash -----------------------------------------------------


@pytest.mark.skipif(shutil.which("bash") is None, reason="the workflows' scripts are bash")
@pytest.mark.skipif(
    not (Path(sys.executable).parent / "tallyform").exists(), reason="needs the installed CLI"
)
def test_the_workflows_scripts_plan_apply_and_check_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = Emulator()
    with EmulatorServer(emulator) as server:
        monkeypatch.delenv("NO_COLOR", raising=False)
        main = make_main(tmp_path / "main", server.url, emulator.org_id)
        pull = branch(main, "pull", EDIT_A)
        token = {TOKEN_ENV: DEFAULT_TOKEN}

        env = {**workflow_env(PLAN_WORKFLOW), **token}
        code, out, err, _ = bash(script(PLAN_WORKFLOW, "Validate"), pull, env)
        assert code == 0, err
        code, out, err, written = bash(script(PLAN_WORKFLOW, "Plan"), pull, env)
        assert code == 0, err
        assert written == {"changes": "true", "archives": "0", "needs-force": "false"}
        markdown = (pull / "tallyform-plan.md").read_text()
        assert markdown.startswith(f"### tallyform plan for `{ORG}`")
        assert "\x1b[32m+\x1b[0m" in out, "FORCE_COLOR: the log of `show` is coloured"

        # The merge: main's checkout, with the artifact downloaded where the workflow puts it.
        merge(pull, main, EDIT_A)
        (main / "saved-plan").mkdir()
        shutil.copy(pull / "tallyform-plan.json", main / "saved-plan/tallyform-plan.json")
        env = {**workflow_env(APPLY_WORKFLOW), **token, "REPLAN": ""}
        code, out, err, _ = bash(script(APPLY_WORKFLOW, "Apply"), main, env)
        assert code == 0, err
        assert "Applied: " in out and "Saved" not in out and DEFAULT_TOKEN not in out + err

        env = {**workflow_env(DRIFT_WORKFLOW), **token}
        code, _, err, written = bash(script(DRIFT_WORKFLOW, "Plan"), main, env)
        assert (code, written) == (0, {"exitcode": "0"}), err
        merge(branch(main, "drifted", EDIT_B), main, EDIT_B)  # the org now differs from main
        code, _, err, written = bash(script(DRIFT_WORKFLOW, "Plan"), main, env)
        assert (code, written) == (0, {"exitcode": "2"}), "drift is an answer, not an error"
        assert "Contain it" in (main / "drift.md").read_text()

        # The action's own script: plan (exit 2 is changes, not a failure), then apply.
        action = {"TALLYFORM_ORG": ORG, "TALLYFORM_PLAN_FILE": "p.json"}
        action |= {"TALLYFORM_MARKDOWN_FILE": "p.md", "TALLYFORM_ALLOW_DELETE": "false", **token}
        code, _, err, written = bash(
            script(ACTION, "run"), main, {**action, "TALLYFORM_COMMAND": "plan"}
        )
        assert code == 0, err
        assert written["exitcode"] == "2" and written["changes"] == "true"
        assert written["plan-file"] == str(main / "p.json")
        code, out, err, written = bash(
            script(ACTION, "run"), main, {**action, "TALLYFORM_COMMAND": "apply"}
        )
        assert code == 0 and "Applied: 1 updated" in out, err
        code, _, err, written = bash(
            script(ACTION, "run"), main, {**action, "TALLYFORM_COMMAND": "drift"}
        )
        assert (code, written["changes"]) == (0, "false"), err
        code, out, err, _ = bash(
            script(ACTION, "run"), main, {**action, "TALLYFORM_COMMAND": "deploy"}
        )
        assert code == 1 and "unknown command 'deploy'" in out
