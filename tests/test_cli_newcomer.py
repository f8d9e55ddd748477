"""The command line as a newcomer meets it: flags where they type them, no tracebacks,
no silent surprises (an --only that matches nothing, a renamed template file, a damaged
saved plan), help for every option, and honest numbers in apply's closing line."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

from tallyform.cli import cli
from tallyform.client import Pacer
from tallyform.client.api import ClientStats
from tallyform.client.redact import register_secret
from tallyform.emulator import Emulator
from tallyform.parallel import in_parallel
from tests.client_helpers import client_for
from tests.conftest import EXAMPLES, REPO, run_cli

CLAIM = "title: Claim\nsteps:\n  - key: submit\n    title: Submit\n"
REQUEST_LOG = "tallyform.client: GET /organizations/"


def _state(root: Path) -> Path:
    return root / ".tallyform/local-org.json"


# -- 1. global options after the command ---------------------------------------------------


def test_verbose_and_no_color_after_the_command(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    before = run_cli("-v", "--no-color", "-C", str(root), "plan")
    after = run_cli("-C", str(root), "plan", "-v", "--no-color")
    assert after.exit_code == 0, after.output
    assert after.stdout == before.stdout
    assert REQUEST_LOG in before.stderr
    assert REQUEST_LOG in after.stderr, "plan -v shows each request, as -v plan does"
    assert "\x1b[" not in after.output
    assert run_cli("-C", str(root), "plan").stderr.count(REQUEST_LOG) == 0


@pytest.mark.parametrize(
    "where",
    [
        ("-C", "{root}"),
        ("-C{root}",),
        ("--config", "{root}/tallyform.yaml"),
        ("--config={root}/tallyform.yaml",),
    ],
    ids=["-C DIR", "-CDIR", "--config FILE", "--config=FILE"],
)
def test_project_options_after_the_command(project: Callable[..., Path], where: tuple[str]) -> None:
    root = project({"claim.yaml": CLAIM})
    given = [part.format(root=root) for part in where]
    result = run_cli("validate", "--no-color", *given)
    assert result.exit_code == 0, result.output
    assert result.stdout == "1 template valid.\n"


def test_apply_takes_the_project_directory_after_the_command(
    project: Callable[..., Path],
) -> None:
    root = project({"claim.yaml": CLAIM})
    result = run_cli("apply", "--yes", "-C", str(root), "-v")
    assert result.exit_code == 0, result.output
    assert "Applied:" in result.stdout
    assert "tallyform.client: POST /organizations/" in result.stderr


def test_a_value_that_looks_like_a_flag_stays_with_its_option(
    project: Callable[..., Path],
) -> None:
    root = project({"claim.yaml": CLAIM})
    result = run_cli("plan", "--only", "-v", "-C", str(root), "--no-color")
    assert result.exit_code == 0, result.output
    assert "this plan covers only templates matching -v;" in result.stdout
    assert REQUEST_LOG not in result.stderr, "-v was the pattern, not --verbose"


def test_nothing_after_double_dash_moves(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    result = run_cli("fmt", "-C", str(root), "--", "-v")
    assert result.exit_code == 1
    assert "File '-v' does not exist" in result.output


def test_every_command_takes_the_global_options_after_its_name() -> None:
    """Written once (global_options) and attached to each command, a group's too."""
    assert isinstance(cli, click.Group)
    context = click.Context(cli)
    names = [*cli.list_commands(context), "emulator serve"]
    for name in names:
        command = cli.get_command(context, name.split()[0])
        if " " in name:
            assert isinstance(command, click.Group)
            command = command.get_command(context, name.split()[1])
        assert command is not None, name
        taken = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"-C", "--config", "--no-color", "-v", "--verbose"} <= taken, name


def test_verbose_counts_before_and_after_the_command(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    once = run_cli("-C", str(root), "plan", "-v")
    twice = run_cli("-v", "-C", str(root), "plan", "-v")
    assert "tallyform.client: GET" in once.stderr and "-> 200" in once.stderr
    assert "tallyform.client" in twice.stderr
    assert len(twice.stderr) > len(once.stderr), "-v and -v make -vv: bodies are logged too"


def test_an_unknown_command_with_a_global_option_is_a_usage_error() -> None:
    result = run_cli("nosuch", "-v")
    assert result.exit_code == 1 and "No such command 'nosuch'" in result.output


# -- 2. no traceback, ever ----------------------------------------------------------------------


@pytest.fixture
def crash_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Crash reports go here instead of the system's temp folder."""
    folder = tmp_path / "crashes"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_an_unexpected_error_is_one_message_and_a_report_file(
    project: Callable[..., Path], crash_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "tok-3f9a8b7c6d5e4f"
    register_secret(secret)

    def broken(*args: Any) -> Any:
        raise KeyError(f"unit (token {secret})")

    monkeypatch.setattr("tallyform.cli.validate.load_templates", broken)
    root = project({"claim.yaml": CLAIM})
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert secret not in result.output
    assert "tallyform stopped unexpectedly (KeyError: " in result.stderr
    assert "This is a bug in tallyform" in result.stderr
    assert "report it" in result.stderr
    [report] = list(crash_dir.glob("tallyform-crash-*.txt"))
    assert str(report) in result.stderr
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError" in text
    assert secret not in text and "***" in text
    assert f"command: tallyform -C {root} validate" in text
    assert len(result.stderr.splitlines()) <= 4


def test_a_crash_report_masks_secret_options(
    crash_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**options: Any) -> Any:
        raise RuntimeError("cannot start")

    monkeypatch.setattr("tallyform.emulator.serving.Emulator", broken)
    result = run_cli("emulator", "serve", "--token", "my-own-admin-token", "--port", "0")
    assert result.exit_code == 1
    assert "RuntimeError: cannot start" in result.stderr
    [report] = list(crash_dir.glob("tallyform-crash-*.txt"))
    text = report.read_text()
    assert "my-own-admin-token" not in text
    assert "--token *** --port 0" in text


def test_a_crash_report_that_cannot_be_written_still_explains(
    crash_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(crash_dir / "missing"))

    def broken(name: str) -> str:
        raise AttributeError("'NoneType' object has no attribute 'get'")

    monkeypatch.setattr("tallyform.cli.files.schema_text", broken)
    result = run_cli("schema")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "AttributeError" in result.stderr and "could not be written" in result.stderr


# -- 3. --only that matches nothing -----------------------------------------------------------------


@pytest.mark.parametrize("output", ["text", "json", "markdown"])
def test_an_only_pattern_that_matches_nothing_is_a_warning(
    project: Callable[..., Path], output: str
) -> None:
    root = project({"claim.yaml": CLAIM, "leave.yaml": "title: Leave\n"})
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    result = run_cli(
        "-C", str(root), "plan", "--only", "nonexistent*", "--format", output, "--detailed-exitcode"
    )
    assert result.exit_code == 0, result.output
    expected = (
        "--only 'nonexistent*' matches no template in the repository or the org "
        "(template keys: claim, leave)"
    )
    if output == "json":
        assert expected in json.loads(result.stdout)["warnings"]
    else:
        assert expected in result.stdout
    misspelt = run_cli("-C", str(root), "plan", "--only", "claims")
    assert (
        "--only 'claims' matches no template in the repository or the org "
        "(did you mean 'claim'?) (template keys: claim, leave)"
    ) in misspelt.stdout


def test_only_knows_live_keys_and_lists_a_few(project: Callable[..., Path]) -> None:
    root = project({f"t{n:02d}.yaml": f"title: T {n}\n" for n in range(12)})
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    (root / "templates/t00.yaml").unlink()
    live_only = run_cli("-C", str(root), "plan", "--only", "t00", "--format", "json")
    document = json.loads(live_only.stdout)
    assert not any("matches no template" in w for w in document["warnings"])
    assert [c["action"] for c in document["changes"]] == ["archive"]
    missing = run_cli("-C", str(root), "plan", "--only", "t0", "--only", "t1*")
    assert "(template keys: t00, t01, t02, t03, t04, t05, t06, t07, ...)" in missing.stdout
    assert "--only 't1*'" not in missing.stdout


# -- 4. a damaged saved plan ----------------------------------------------------------------------------


def _damage(document: dict[str, Any], how: str) -> Any:
    if how == "not an object":
        return [document]
    if how == "no org_id":
        del document["org_id"]
    elif how == "snapshot null":
        document["snapshots"] = dict.fromkeys(document["snapshots"])
    elif how == "snapshots a list":
        document["snapshots"] = []
    elif how == "changes an object":
        document["changes"] = {}
    elif how == "change a number":
        document["changes"][0] = 5
    elif how == "change without kind":
        del document["changes"][-1]["kind"]
    elif how == "unknown action":
        document["changes"][-1]["action"] = "explode"
    elif how == "attribute without field":
        document["changes"][-1]["changes"] = [{"old": 1}]
    elif how == "only a string":
        document["only"] = "claim"
    elif how == "partial a string":
        document["partial"] = "yes"
    elif how == "org null":
        document["org"] = None
    elif how == "writes negative":
        document["changes"][0]["writes"] = -1
    return document


DAMAGES = [
    "not an object",
    "no org_id",
    "snapshot null",
    "snapshots a list",
    "changes an object",
    "change a number",
    "change without kind",
    "unknown action",
    "attribute without field",
    "only a string",
    "partial a string",
    "org null",
    "writes negative",
]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_saved_plan_is_one_clear_error(project: Callable[..., Path], how: str) -> None:
    root = project({"claim.yaml": CLAIM})
    saved = root / "plan.json"
    assert run_cli("-C", str(root), "plan", "--out", str(saved)).exit_code == 0
    state = _state(root)
    seen = state.read_bytes() if state.exists() else None
    saved.write_text(json.dumps(_damage(json.loads(saved.read_text()), how)))
    result = run_cli("-C", str(root), "apply", str(saved), "--yes")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{saved}: not a plan saved by `tallyform plan --out`, or damaged: " in result.output
    assert result.output.rstrip().endswith("make a new one")
    assert (state.read_bytes() if state.exists() else None) == seen, "nothing was sent"


@pytest.mark.parametrize(
    "content",
    ["", "{not json", "[" * 100_000, "\xff\xfe binary"],
    ids=["empty", "bad", "deep", "bytes"],
)
def test_an_unreadable_saved_plan_is_one_clear_error(
    project: Callable[..., Path], content: str
) -> None:
    root = project({"claim.yaml": CLAIM})
    saved = root / "plan.json"
    saved.write_bytes(content.encode("latin-1"))
    result = run_cli("-C", str(root), "apply", str(saved))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{saved}: not a plan saved by `tallyform plan --out`, or damaged" in result.output


def test_a_template_file_given_to_apply_is_pointed_to_only(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    template = root / "templates/claim.yaml"
    result = run_cli("-C", str(root), "apply", str(template))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "not a template file" in result.stderr and "--only KEY" in result.stderr


def test_a_saved_plan_still_applies(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    saved = root / "plan.json"
    assert run_cli("-C", str(root), "plan", "--out", str(saved), "--only", "cl*").exit_code == 0
    result = run_cli("-C", str(root), "apply", str(saved))
    assert result.exit_code == 0, result.output
    assert "Applied: " in result.stdout


# -- 5. a renamed template file ---------------------------------------------------------------------


def test_a_renamed_template_file_gets_a_hint(project: Callable[..., Path]) -> None:
    root = project({"old-name.yaml": CLAIM})
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    (root / "templates/old-name.yaml").rename(root / "templates/new-name.yaml")
    result = run_cli("-C", str(root), "plan", "--format", "json")
    changes = json.loads(result.stdout)["changes"]
    created = next(c for c in changes if c["path"] == "new-name" and c["action"] == "create")
    assert created["note"] == (
        "its key 'new-name' comes from its file name; if it replaces 'old-name', add "
        "`key: old-name` to keep that template, its ids and history"
    )
    assert "its key 'new-name' comes from its file name" in run_cli("-C", str(root), "plan").stdout


def test_two_archived_templates_name_both(project: Callable[..., Path]) -> None:
    root = project({"first.yaml": CLAIM, "second.yaml": "title: Second\n"})
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    (root / "templates/first.yaml").unlink()
    (root / "templates/second.yaml").rename(root / "templates/merged.yaml")
    changes = json.loads(run_cli("-C", str(root), "plan", "--format", "json").stdout)["changes"]
    created = next(c for c in changes if c["path"] == "merged" and c["action"] == "create")
    assert "if it replaces one of 'first', 'second', add `key:` with that" in created["note"]


def test_no_hint_when_the_key_is_written(project: Callable[..., Path]) -> None:
    root = project({"old-name.yaml": CLAIM})
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    (root / "templates/old-name.yaml").unlink()
    (root / "templates/new.yaml").write_text("key: brand-new\n" + CLAIM)
    changes = json.loads(run_cli("-C", str(root), "plan", "--format", "json").stdout)["changes"]
    created = next(c for c in changes if c["path"] == "brand-new" and c["action"] == "create")
    assert "note" not in created


def test_init_writes_the_starter_key(tmp_path: Path) -> None:
    assert run_cli("init", str(tmp_path)).exit_code == 0
    text = (tmp_path / "templates/expense-claim.yaml").read_text()
    assert "\nkey: expense-claim " in text
    assert run_cli("-C", str(tmp_path), "fmt", "--check").exit_code == 0


# -- 6. help, and the demo ---------------------------------------------------------------------------


def _options(command: click.Command, name: str) -> list[tuple[str, click.Option]]:
    found = [(name, p) for p in command.params if isinstance(p, click.Option)]
    if isinstance(command, click.Group):  # every command, also those not imported yet
        context = click.Context(command)
        for sub in command.list_commands(context):
            child = command.get_command(context, sub)
            assert child is not None, sub
            found += _options(child, f"{name} {sub}")
    return found


def test_every_option_has_a_description() -> None:
    missing = [
        f"{where} {opt.opts[0]}" for where, opt in _options(cli, "tallyform") if not opt.help
    ]
    assert missing == []


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_only_says_that_it_repeats(command: str) -> None:
    shown = " ".join(run_cli(command, "--help").stdout.split())
    assert "--only KEY Only templates whose key matches KEY" in shown
    assert "Repeat for more: --only a --only 'b*'" in shown


def test_validate_help_shows_the_message_shape_of_the_readme() -> None:
    shape = "FILE:LINE:COLUMN: error: message"
    assert shape in run_cli("validate", "--help").stdout
    assert shape in (REPO / "README.md").read_text()


def test_main_help_says_global_options_may_follow_the_command() -> None:
    assert "may also follow the command" in run_cli("--help").stdout


def test_applying_a_saved_plan_does_not_print_the_plan_again(examples_copy: Path) -> None:
    saved = examples_copy / ".tallyform/demo.plan.json"
    planned = run_cli("-C", str(examples_copy), "plan", "--out", str(saved))
    assert planned.exit_code == 0
    applied = run_cli("-C", str(examples_copy), "apply", str(saved))
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.startswith("Applied: 108 created"), applied.stdout[:200]
    assert len(applied.stdout.splitlines()) == 1
    assert "will be created" not in applied.output
    demo = (REPO / "scripts/demo").read_text()
    assert 'plan --out "$saved"' in demo and 'apply "$saved"' in demo
    assert "--detailed-exitcode" in demo
    assert not list(EXAMPLES.glob("demo.plan.json")), "the demo keeps its plan in .tallyform/"


# -- 7. time spent waiting for the rate limit -------------------------------------------------------


def test_waits_side_by_side_count_once() -> None:
    stats = ClientStats()
    for _ in range(8):  # eight workers held back by one Retry-After of 10 s
        stats.waited_for(10.0, ended=110.0)
    stats.waited_for(2.0, ended=200.0)  # later, one more
    assert stats.waited == pytest.approx(12.0)
    assert stats.waits == 9 and stats.longest_wait == pytest.approx(10.0)
    stats.waited_for(0.0, ended=300.0)
    assert stats.waits == 9, "a request that did not wait is not a wait"


def test_a_long_run_of_waits_stays_exact_and_small() -> None:
    stats = ClientStats()
    for second in range(20_000):  # a paced run: two workers waiting half of every second
        stats.waited_for(0.5, ended=second + 0.5)
        stats.waited_for(0.25, ended=second + 0.5)
    assert stats.waited == pytest.approx(10_000.0)
    assert stats.waits == 40_000
    assert len(stats._spans) <= 4096


def test_the_wait_reported_never_exceeds_the_run() -> None:
    emulator = Emulator(rate_limit=4, rate_window=1.0)
    started = time.monotonic()
    with client_for(emulator, pacer=Pacer(None)) as client:
        in_parallel(lambda n: client.get("/users"), list(range(12)), 8)
    elapsed = time.monotonic() - started
    assert client.stats.rate_limited >= 2
    assert client.stats.waits >= 2
    assert 0.5 <= client.stats.waited <= elapsed


def test_apply_only_matching_nothing_warns_too(examples_copy: Path) -> None:
    run_cli("-C", str(examples_copy), "apply", "--yes")
    result = run_cli("-C", str(examples_copy), "apply", "--yes", "--only", "nonexistent*")
    assert result.exit_code == 0, result.output
    assert "nonexistent*" in result.stderr and "No changes." in result.stdout
