"""Where the CI files tallyform ships live: the GitHub Action, the example workflows for
GitHub and GitLab, and the pre-commit hooks (checked by test_ci_files, run by
test_pull_request_flow)."""

from __future__ import annotations

from tests.conftest import REPO

ACTION = REPO / "action.yml"
GITHUB = REPO / "examples/ci/github"
PLAN_WORKFLOW = GITHUB / "tallyform-plan.yml"
APPLY_WORKFLOW = GITHUB / "tallyform-apply.yml"
DRIFT_WORKFLOW = GITHUB / "tallyform-drift.yml"
GITLAB = REPO / "examples/ci/gitlab/.gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
