"""Where the CI files tallyform ships live: the GitHub Action, the example workflows for
GitHub and GitLab, and the pre-commit hooks (checked by test_ci_files, run by
test_pull_request_flow and test_ci_workflows), and how those tests read and run them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import EXAMPLES, REPO

ACTION = REPO / "action.yml"
GITHUB = REPO / "examples/ci/github"
PLAN_WORKFLOW = GITHUB / "tallyform-plan.yml"
APPLY_WORKFLOW = GITHUB / "tallyform-apply.yml"
DRIFT_WORKFLOW = GITHUB / "tallyform-drift.yml"
GITLAB = REPO / "examples/ci/gitlab/.gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
ORG = "production"  # the org the workflows name


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """A workflow's `on:` (which YAML 1.1, as PyYAML reads it, takes for the key True)."""
    found = workflow.get("on", workflow.get(True))
    assert isinstance(found, dict)
    return found


def step_using(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(workflow) if str(s.get("uses", "")).startswith(action + "@")]


TOKEN_ENV = "TALLYFY_API_TOKEN"  # what the workflows set from the secret


def make_main(root: Path, url: str, org_id: str) -> Path:
    """A repository's work tree whose org `served` is the emulator at ``url``."""
    shutil.copytree(EXAMPLES / "templates", root / "templates")
    (root / "tallyform.yaml").write_text(
        "version: 1\n"
        f"default_org: {ORG}\n"
        "orgs:\n"
        f"  {ORG}:\n"
        f"    org_id: {org_id}\n"
        f"    api_url: {url}\n"
        "    requests_per_minute: 0\n"
    )
    return root


def script(path: Path, step_name: str) -> str:
    """The run script of the step called ``step_name`` (or with that id) in ``path``."""
    document = yaml.safe_load(path.read_text())
    steps = (
        document["runs"]["steps"]
        if "runs" in document
        else [s for job in document["jobs"].values() for s in job["steps"]]
    )
    step = next(s for s in steps if step_name in (s.get("name"), s.get("id")))
    return str(step["run"])


def workflow_env(path: Path) -> dict[str, str]:
    return {k: str(v) for k, v in yaml.safe_load(path.read_text()).get("env", {}).items()}


def bash(code: str, cwd: Path, env: dict[str, str]) -> tuple[int, str, str, dict[str, str]]:
    """Run ``code`` as a GitHub runner runs a step (bash -e -o pipefail); its exit code,
    output, and what it wrote to GITHUB_OUTPUT."""
    outputs = cwd / ".github-output"
    outputs.write_text("")
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", code],
        cwd=cwd,
        env={**os.environ, **env, "PATH": path, "GITHUB_OUTPUT": str(outputs)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return done.returncode, done.stdout, done.stderr, written
