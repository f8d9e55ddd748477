"""The CI files tallyform ships: the GitHub Action, the example workflows for GitHub and
GitLab, and the pre-commit hooks.

Each parses as YAML and has the structure its platform needs; the token only ever comes
from a secret into the environment; and every `tallyform ...` command in them is a real
command with real options (and real values of choice options), checked against the click
CLI itself, so renaming an option breaks this test rather than a user's pipeline.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from tallyform.cli import cli
from tallyform.render.markdown import DEFAULT_LIMIT, GITHUB_LIMIT
from tests.ci_helpers import (
    ACTION,
    APPLY_WORKFLOW,
    DRIFT_WORKFLOW,
    GITHUB,
    GITLAB,
    HOOKS,
    PLAN_WORKFLOW,
    load,
    step_using,
    steps,
    triggers,
)
from tests.conftest import REPO

ALL_FILES = [ACTION, PLAN_WORKFLOW, APPLY_WORKFLOW, DRIFT_WORKFLOW, GITLAB, HOOKS]
TOKEN = "TALLYFY_API_TOKEN"
SECRET = "${{ secrets.TALLYFY_API_TOKEN }}"  # the token that writes: apply alone
PLAN_SECRET = "${{ secrets.TALLYFY_PLAN_TOKEN }}"  # a read-only token: plan and drift
SECRETS = {APPLY_WORKFLOW.name: SECRET, PLAN_WORKFLOW.name: PLAN_SECRET}
SECRETS[DRIFT_WORKFLOW.name] = PLAN_SECRET


# -- the shell scripts in the files, and the tallyform commands in them ----------------------


def scripts(path: Path) -> list[str]:
    """Every shell script the file runs: run steps, GitLab scripts, hook entries."""
    document = load(path)
    if path == HOOKS:
        return [hook["entry"] for hook in document]
    if path == GITLAB:
        found = list(document["default"]["before_script"])
        for job in document.values():
            if isinstance(job, dict) and "script" in job:
                found += job.get("before_script", []) + job["script"]
        return found
    if path == ACTION:
        return [s["run"] for s in document["runs"]["steps"] if "run" in s]
    return [s["run"] for s in steps(document) if "run" in s]


HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")
SEPARATORS = {";", ";;", "&&", "||", "|", "&", "(", ")", "{", "}", "$("}
KEYWORDS = {"if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!", "case", "esac"}


def shell_lines(script: str) -> Iterator[str]:
    """The script's lines, continuations joined, here-documents (Python) left out."""
    lines = iter(script.replace("\\\n", " ").splitlines())
    for line in lines:
        heredoc = HEREDOC.search(line)
        if heredoc:
            for body in lines:
                if body.strip() == heredoc.group(1):
                    break
            line = line[: heredoc.start()]
        yield line


def simple_commands(line: str) -> Iterator[list[str]]:
    """The simple commands of one shell line, as words, without redirections."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    command: list[str] = []
    redirect = False
    for token in lexer:
        if token in SEPARATORS or token.endswith(")") and not token.startswith("$"):
            yield command
            command, redirect = [], False
        elif set(token) <= set("<>&"):
            redirect = True
        elif redirect:
            redirect = False  # the file a redirection names
        elif not command and (token in KEYWORDS or re.fullmatch(r"\w+=.*", token)):
            continue
        else:
            command.append(token)
    yield command


def tallyform_commands(path: Path) -> list[list[str]]:
    return [
        command
        for script in scripts(path)
        for line in shell_lines(script)
        for command in simple_commands(line)
        if command[:1] == ["tallyform"]
    ]


@dataclass
class Checked:
    """A command line found valid: its command (`plan`, `emulator serve`) and options."""

    command: str
    options: set[str]
    arguments: list[str]


def _options(command: click.Command) -> dict[str, click.Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option)
        for name in [*param.opts, *param.secondary_opts]
    }


def _dynamic(word: str) -> bool:
    """A shell expansion ("$FILE", "${flags[@]}"): its words are known only when run."""
    return word.startswith("$")


def check_against_cli(words: list[str]) -> Checked:
    """Check ``tallyform WORDS`` as click would read it: a known command, known options,
    a value for each option that takes one (a valid choice when literal), and no more
    arguments than the command takes. Global options may come before or after it."""
    global_options = _options(cli)
    rest = words[1:]
    seen: set[str] = set()
    while rest and rest[0].startswith("-"):
        name = rest.pop(0).split("=", 1)[0]
        assert name in global_options, f"unknown global option {name} in {words}"
        seen.add(name)
        if not (global_options[name].is_flag or global_options[name].count) and "=" not in name:
            rest.pop(0)
    if not rest:
        return Checked("", seen, [])
    command: click.Command = cli
    names = []
    while isinstance(command, click.Group):
        name = rest.pop(0)
        found = command.get_command(click.Context(command), name)
        assert found is not None, f"`{' '.join(words)}`: no command {name!r}"
        command, names = found, [*names, name]
    options = {**global_options, **_options(command)}
    arguments: list[str] = []
    while rest:
        word = rest.pop(0)
        if _dynamic(word) or not word.startswith("-"):
            arguments.append(word)
            continue
        name, _, attached = word.partition("=")
        assert name in options, f"`{' '.join(words)}`: {name} is not an option of {names}"
        seen.add(name)
        option = options[name]
        if option.is_flag or option.count:
            continue
        value = attached or rest.pop(0)
        if isinstance(option.type, click.Choice) and not _dynamic(value):
            assert value in option.type.choices, f"{name} {value}: not one of {option.type.choices}"
    literal = [a for a in arguments if not _dynamic(a)]
    room = [p.nargs for p in command.params if isinstance(p, click.Argument)]
    if -1 not in room:
        assert len(literal) <= sum(room), f"`{' '.join(words)}`: too many arguments"
    return Checked(" ".join(names), seen, arguments)


def commands_in(path: Path) -> list[Checked]:
    return [check_against_cli(words) for words in tallyform_commands(path)]


# -- the checker itself -------------------------------------------------------------------------


def test_the_command_checker_refuses_what_click_would() -> None:
    ok = check_against_cli(shlex.split('tallyform -C "$D" plan --out p.json --format markdown'))
    assert ok.command == "plan" and {"-C", "--out", "--format"} <= ok.options
    served = check_against_cli(["tallyform", "emulator", "serve", "--port", "0"])
    assert served.command == "emulator serve"
    for wrong in (
        "tallyform plan --output p.json",
        "tallyform validate --format sarif",
        "tallyform deploy",
        "tallyform show a.json b.json",
    ):
        with pytest.raises(AssertionError):
            check_against_cli(shlex.split(wrong))
    script = (
        'x=1\nif [ -f a ]; then tallyform show "$F" | tee out; fi\ncat <<EOF\ntallyform nope\nEOF'
    )
    assert [
        c for line in shell_lines(script) for c in simple_commands(line) if c[:1] == ["tallyform"]
    ] == [["tallyform", "show", "$F"]]


# -- every file -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_ci_file_parses_and_runs_only_real_tallyform_commands(path: Path) -> None:
    assert load(path)
    checked = commands_in(path)
    assert checked, f"{path.name} runs tallyform"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_the_token_only_comes_from_a_secret_and_is_never_printed(path: Path) -> None:
    for script in scripts(path):
        assert TOKEN not in script, "tallyform reads the token itself; no script touches it"
        assert "secrets." not in script and "set -x" not in script
    text = path.read_text()
    assert "GITLAB_API_TOKEN" not in text or path == GITLAB
    if path.parent == GITHUB:
        secret = SECRETS[path.name]
        for step in steps(load(path)):
            for name, value in step.get("env", {}).items():
                assert (name == TOKEN) == (value == secret), (name, value)
        assert text.count(secret) == sum(TOKEN in s.get("env", {}) for s in steps(load(path)))
        assert "${{ secrets." not in text.replace(secret, ""), "one secret a workflow"


def test_no_input_or_context_is_pasted_into_a_script() -> None:
    """GitHub expressions go through env:, so a branch name or an input cannot inject shell."""
    for path in (ACTION, PLAN_WORKFLOW, APPLY_WORKFLOW, DRIFT_WORKFLOW):
        for script in scripts(path):
            assert "${{" not in script, (path.name, script[:80])


# -- the GitHub Action ----------------------------------------------------------------------------


def test_the_action_is_composite_and_installs_tallyform_from_its_own_ref() -> None:
    action = load(ACTION)
    assert {"version", "working-directory", "org", "command"} <= set(action["inputs"])
    assert action["runs"]["using"] == "composite"
    assert {"exitcode", "changes", "plan-file", "markdown-file"} <= set(action["outputs"])
    for step in action["runs"]["steps"]:
        assert "run" not in step or step["shell"] == "bash", "composite run steps name a shell"
    install = next(s for s in action["runs"]["steps"] if s.get("name") == "Install tallyform")
    assert install["env"]["TALLYFORM_ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install --disable-pip-version-check --quiet "$requirement"' in install["run"]
    run = next(s for s in action["runs"]["steps"] if s.get("id") == "run")
    assert run["working-directory"] == "${{ inputs.working-directory }}"
    commands = {c.command for c in commands_in(ACTION)}
    assert commands >= {"validate", "plan", "show", "apply", ""}


def test_the_actions_commands_cover_every_documented_command() -> None:
    action = load(ACTION)
    script = next(s["run"] for s in action["runs"]["steps"] if s.get("id") == "run")
    for command in ("install", "validate", "check", "test", "plan", "drift", "apply"):
        assert f"\n  {command})\n" in script, command
        assert command in action["inputs"]["command"]["description"]


# -- the pull-request workflow --------------------------------------------------------------------


def test_the_pull_request_workflow_validates_plans_comments_once_and_keeps_the_plan() -> None:
    workflow = load(PLAN_WORKFLOW)
    assert "pull_request" in triggers(workflow)
    assert workflow["permissions"]["pull-requests"] == "write"
    checked = commands_in(PLAN_WORKFLOW)
    validate = next(c for c in checked if c.command == "validate")
    assert validate.options >= {"--format"} and "--format github" in PLAN_WORKFLOW.read_text()
    logic = [c for c in checked if c.command in ("check", "test")]
    assert [c.command for c in logic] == ["check", "test"], "next to validate, before the plan"
    assert all("--format" in c.options for c in logic)
    plan = next(c for c in checked if c.command == "plan")
    assert {"--out", "--format", "--detailed-exitcode", "--org"} <= plan.options
    assert any(c.command == "show" for c in checked)
    [comment] = step_using(workflow, "actions/github-script")
    script = comment["with"]["script"]
    assert "<!-- tallyform-plan -->" in script
    assert "updateComment" in script and "createComment" in script
    assert script.index("updateComment") < script.index("createComment"), "update when found"
    [upload] = step_using(workflow, "actions/upload-artifact")
    assert upload["with"]["path"] == "tallyform-plan.json"
    assert upload["with"]["overwrite"] is True, "a re-run replaces the saved plan"
    assert "--out tallyform-plan.json" in PLAN_WORKFLOW.read_text()
    assert workflow["concurrency"]["cancel-in-progress"] is True


def test_the_comment_fits_githubs_limit_with_the_workflows_own_lines() -> None:
    script = step_using(load(PLAN_WORKFLOW), "actions/github-script")[0]["with"]["script"]
    assert DEFAULT_LIMIT + len(script) < GITHUB_LIMIT


# -- the apply workflow ---------------------------------------------------------------------------


def test_the_apply_workflow_applies_the_saved_plan_one_at_a_time() -> None:
    workflow = load(APPLY_WORKFLOW)
    on = triggers(workflow)
    assert on["push"]["branches"] == ["main"] and "workflow_dispatch" in on
    assert workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False, "an apply is never cut short"
    finder = next(
        s for s in step_using(workflow, "actions/github-script") if s.get("id") == "saved"
    )
    assert f"workflow_id: '{PLAN_WORKFLOW.name}'" in finder["with"]["script"]
    assert "tallyform-plan-${pull.number}" in finder["with"]["script"]
    [download] = step_using(workflow, "actions/download-artifact")
    assert download["with"]["run-id"] == "${{ steps.saved.outputs.run-id }}"
    applies = [c for c in commands_in(APPLY_WORKFLOW) if c.command == "apply"]
    replan, saved = applies
    assert saved.arguments == ["saved-plan/tallyform-plan.json", "${flags[@]}"]
    assert "--yes" not in saved.options and "--yes" in replan.options
    assert not replan.arguments[1:]
    assert workflow["permissions"]["actions"] == "read"


# -- the drift check ------------------------------------------------------------------------------


def test_the_drift_check_runs_on_a_schedule_and_opens_an_issue() -> None:
    workflow = load(DRIFT_WORKFLOW)
    assert triggers(workflow)["schedule"][0]["cron"]
    [plan] = [c for c in commands_in(DRIFT_WORKFLOW) if c.command == "plan"]
    assert "--detailed-exitcode" in plan.options and "--out" not in plan.options
    [issue] = step_using(workflow, "actions/github-script")
    assert "steps.plan.outputs.exitcode == '2'" in issue["if"]
    assert (
        "issues.create" in issue["with"]["script"]
        and "<!-- tallyform-drift -->" in (issue["with"]["script"])
    )
    fail = next(s for s in steps(workflow) if s.get("name") == "Fail on drift")
    assert "exit 2" in fail["run"]
    assert workflow["permissions"]["issues"] == "write"


# -- GitLab ---------------------------------------------------------------------------------------


def _python_blocks(script: str) -> list[str]:
    return re.findall(r"<<'PYTHON'\n(.*?)\nPYTHON", script, re.S)


def test_gitlab_plans_merge_requests_applies_main_in_a_resource_group_and_checks_drift() -> None:
    pipeline = load(GITLAB)
    plan, apply, drift = pipeline["plan"], pipeline["apply"], pipeline["drift"]
    assert plan["rules"] == [
        {
            "if": '$CI_PIPELINE_SOURCE == "merge_request_event" && '
            "$CI_MERGE_REQUEST_SOURCE_PROJECT_ID == $CI_PROJECT_ID"
        }
    ], "a fork's merge request is validated, not planned"
    assert "tallyform-plan.json" in plan["artifacts"]["paths"]
    assert any("<!-- tallyform-plan -->" in line for line in plan["after_script"])
    assert apply["resource_group"]
    assert "$CI_DEFAULT_BRANCH" in apply["rules"][0]["if"]
    assert drift["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert set(pipeline["stages"]) >= {plan["stage"], apply["stage"], drift["stage"]}
    checked = commands_in(GITLAB)
    assert {"validate", "fmt", "check", "test", "plan", "show", "apply"} <= {
        c.command for c in checked
    }
    drift_plans = [
        check_against_cli(words)
        for line in drift["script"]
        for command in simple_commands(line)
        if (words := command)[:1] == ["tallyform"]
    ]
    assert drift_plans and "--detailed-exitcode" in drift_plans[0].options
    blocks = [
        b
        for job in (plan, apply)
        for line in job["script"] + job.get("after_script", [])
        for b in _python_blocks(line)
    ]
    assert len(blocks) == 2
    for block in blocks:
        compile(block, "gitlab-ci", "exec")  # the inline scripts are valid Python
        assert "GITLAB_API_TOKEN" in block and TOKEN not in block


# -- pre-commit -----------------------------------------------------------------------------------


def test_pre_commit_hooks_run_validate_and_fmt_check() -> None:
    hooks = {hook["id"]: hook for hook in load(HOOKS)}
    assert set(hooks) == {
        "tallyform-validate",
        "tallyform-fmt",
        "tallyform-check",
        "tallyform-test",
    }
    # validate and fmt check the committed files, each with its own project; check and test
    # read the whole project, from the repository's root.
    whole = {"tallyform-check", "tallyform-test"}
    for name, hook in hooks.items():
        assert hook["language"] == "python" and hook["pass_filenames"] is (name not in whole)
        assert {"id", "name", "entry", "language"} <= set(hook)
        files = re.compile(hook["files"])
        for path in (".github/workflows/tallyform-plan.yml", "docker-compose.yaml", "a.yml"):
            assert not files.search(path), (hook["id"], path)
        for path in ("templates/a.yaml", "infra/tallyfy/templates/hr/b.yml"):
            assert files.search(path), (hook["id"], path)
    assert re.search(hooks["tallyform-validate"]["files"], "infra/tallyfy/tallyform.yaml")
    assert check_against_cli(hooks["tallyform-validate"]["entry"].split()).command == "validate"
    fmt = check_against_cli(hooks["tallyform-fmt"]["entry"].split())
    assert fmt.command == "fmt" and fmt.options == {"--check"}
    for name in ("check", "test"):
        assert check_against_cli(hooks[f"tallyform-{name}"]["entry"].split()).command == name
