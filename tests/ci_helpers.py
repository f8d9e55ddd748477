"""Where the CI files tallyform ships live: the GitHub Action, the example workflows for
GitHub and GitLab, and the pre-commit hooks (checked by test_ci_files, run by
test_pull_request_flow and test_ci_workflows), and how those tests read and run them: shell
steps with bash, a step's `${{ }}` environment as GitHub evaluates it, actions/github-script
steps with node against a stand-in for GitHub's REST client, and GitLab's inline Python
against a stand-in for the few GitLab REST endpoints it calls."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
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


def step_named(path: Path, step_name: str) -> dict[str, Any]:
    """The step called ``step_name`` (or with that id) in the workflow or action ``path``."""
    document = yaml.safe_load(path.read_text())
    steps = (
        document["runs"]["steps"]
        if "runs" in document
        else [s for job in document["jobs"].values() for s in job["steps"]]
    )
    return next(s for s in steps if step_name in (s.get("name"), s.get("id")))


def script(path: Path, step_name: str) -> str:
    """The run script of the step called ``step_name`` (or with that id) in ``path``."""
    return str(step_named(path, step_name)["run"])


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


EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(value: str, known: Mapping[str, str]) -> str:
    """``value`` with each `${{ }}` expression as GitHub evaluates the ones these workflows
    use: a context's name (``steps.saved.outputs.force``), or names joined by ``||`` (the
    first that is not empty). A name not in ``known`` is a KeyError, so a typo fails."""

    def one(match: re.Match[str]) -> str:
        names = [name.strip() for name in match.group(1).split("||")]
        return next((known[name] for name in names if known[name]), "")

    return EXPRESSION.sub(one, value)


def step_env(path: Path, step_name: str, known: Mapping[str, str]) -> dict[str, str]:
    """The workflow's `env:` and the step's own, evaluated (the step's wins, as on GitHub)."""
    step = step_named(path, step_name)
    env = {**yaml.safe_load(path.read_text()).get("env", {}), **step.get("env", {})}
    return {name: evaluate(str(value), known) for name, value in env.items()}


# What actions/github-script does with a step's `script`: the body of an async function of
# (require, github, context, core). `github.rest.GROUP.METHOD(args)` is recorded and answers
# {data: ANSWERS[METHOD]}; `github.paginate(method, args)` answers that data.
GITHUB_SCRIPT_RUNNER = """
const given = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const calls = [];
const outputs = {};
const method = (name) => async (args) => {
  calls.push({ method: name, args });
  return { data: given.answers[name] };
};
const rest = new Proxy({}, { get: () => new Proxy({}, { get: (_, name) => method(name) }) });
const github = { rest, paginate: async (call, args) => (await call(args)).data };
const core = {
  setOutput: (name, value) => { outputs[name] = String(value); },
  info: () => {}, notice: () => {}, warning: () => {},
  setFailed: (message) => { throw new Error(message); },
};
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', given.script)(
  require, github, given.context, core,
).then(() => process.stdout.write(JSON.stringify({ calls, outputs })));
"""


@dataclass(frozen=True)
class ScriptRun:
    """What a github-script step did: the REST calls it made (method and arguments, in
    order) and the outputs it set."""

    calls: list[tuple[str, dict[str, Any]]]
    outputs: dict[str, str]

    def args_of(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]


def github_script(
    path: Path,
    step_name: str,
    cwd: Path,
    env: Mapping[str, str],
    context: Mapping[str, Any],
    answers: Mapping[str, Any],
) -> ScriptRun:
    """Run the script of the github-script step ``step_name`` of ``path`` with node, in
    ``cwd`` with ``env``, given the workflow's ``context`` and GitHub's ``answers`` (by
    REST method name)."""
    step = step_named(path, step_name)
    given = {"script": step["with"]["script"], "context": context, "answers": answers}
    done = subprocess.run(
        ["node", "-e", GITHUB_SCRIPT_RUNNER],
        input=json.dumps(given),
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    ran = json.loads(done.stdout)
    return ScriptRun([(c["method"], c["args"]) for c in ran["calls"]], ran["outputs"])


@dataclass(frozen=True)
class Called:
    """One request a CI script made of the GitLab stand-in: the path with its query, the
    JSON body of a write, and the token it sent."""

    method: str
    path: str
    body: Any
    token: str | None


class _Answerer(BaseHTTPRequestHandler):
    server: _GitLabServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def do_PUT(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        token = self.headers.get("PRIVATE-TOKEN")
        self.server.stand_in.called.append(Called(self.command, self.path, body, token))
        answer = self.server.stand_in.answers.get(f"{self.command} {self.path}")
        if answer is None and self.command == "GET":
            self.send_error(404)
            return
        raw = answer if isinstance(answer, bytes) else json.dumps(answer or {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are in ``called``."""


class _GitLabServer(ThreadingHTTPServer):
    stand_in: GitLabStandIn


@dataclass
class GitLabStandIn:
    """GitLab's REST API as far as the pipeline's scripts call it, served on loopback while
    in a ``with``: ``answers`` maps "METHOD /api/v4/PATH?QUERY" to JSON (or the bytes of
    an artifact); a GET not listed is a 404, a write not listed answers {}. ``env`` is what
    a job gets to reach it (CI_API_V4_URL, CI_PROJECT_ID, GITLAB_API_TOKEN)."""

    answers: dict[str, Any]
    called: list[Called] = field(default_factory=list)
    project: str = "42"
    token: str = "glpat-stand-in"
    _server: _GitLabServer | None = None

    def __enter__(self) -> GitLabStandIn:
        self._server = _GitLabServer(("127.0.0.1", 0), _Answerer)
        self._server.stand_in = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def env(self) -> dict[str, str]:
        assert self._server is not None
        url = f"http://127.0.0.1:{self._server.server_address[1]}/api/v4"
        reach = {"CI_API_V4_URL": url, "no_proxy": "127.0.0.1"}  # urllib: not through a proxy
        return reach | {"CI_PROJECT_ID": self.project, "GITLAB_API_TOKEN": self.token}
