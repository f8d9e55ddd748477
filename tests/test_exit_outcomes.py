"""A command ends by raising a typed outcome; one place turns it into the exit code.

Every way a command ends other than success is a :class:`tallyform.errors.TallyformError`
(or one of click's usage errors), caught by the command group, which alone exits. Read
from the source with ``ast``, so a new ``raise SystemExit(2)`` in a command, or a
``sys.exit`` deep in a stage, fails here rather than in a review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tallyform.cli import interrupt
from tallyform.errors import ChangesPresent, Failed, Interrupted, Outcome, TallyformError
from tests.conftest import run_cli

PACKAGE = Path(__file__).resolve().parent.parent / "tallyform"
# The one top level: the entry point exits with the code the group's handler gives.
MAY_EXIT = {"cli/__init__.py", "cli/group.py"}


def _dotted(node: ast.expr) -> str:
    """``sys.exit`` for the expression ``sys.exit``; "" for what is not a dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and (outer := _dotted(node.value)):
        return f"{outer}.{node.attr}"
    return ""


def exits_in(source: str) -> list[str]:
    """Each ``SystemExit``, ``sys.exit`` or ``ctx.exit`` call or raise, and each raise of
    click's general ``ClickException``, in ``source``, as ``LINE: name``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in ("SystemExit", "exit", "quit") or name.endswith(".exit"):
                found.append(f"{node.lineno}: {name}")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = _dotted(raised)
            if name == "SystemExit" or name.endswith("ClickException"):
                found.append(f"{node.lineno}: raise {name}")
    return sorted(set(found))


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if str(p.relative_to(PACKAGE)) not in MAY_EXIT],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_only_the_top_level_exits(path: Path) -> None:
    found = exits_in(path.read_text())
    assert not found, (
        f"{path.relative_to(PACKAGE)} ends the process itself ({found}): raise an error of "
        "tallyform.errors (ChangesPresent, Interrupted, Failed, or one with a message) "
        "and let the command group exit with its code"
    )


def test_the_check_sees_every_way_to_exit() -> None:
    forms = {
        "raise SystemExit(2)": True,
        "raise SystemExit": True,
        "import sys\nsys.exit(1)": True,
        "def f():\n    exit(3)": True,
        "ctx.exit(2)": True,
        "raise click.ClickException('no')": True,
        "raise click.exceptions.ClickException('no')": True,
        "raise click.UsageError('use one')": False,
        "raise Failed()": False,
        "os._exit(130)": False,
        "code = stop.exit_code": False,
    }
    for source, exits in forms.items():
        assert bool(exits_in(source)) is exits, source


def test_the_places_allowed_to_exit_do_and_no_other_does() -> None:
    for place in sorted(MAY_EXIT):
        assert exits_in((PACKAGE / place).read_text()), f"{place} no longer exits: drop it"


@pytest.mark.parametrize(
    ("outcome", "code"), [(Failed, 1), (ChangesPresent, 2), (Interrupted, 130)]
)
def test_each_outcome_carries_its_exit_code_and_no_words(outcome: type[Outcome], code: int) -> None:
    error = outcome()
    assert isinstance(error, TallyformError)
    assert (error.exit_code, str(error)) == (code, "")


def test_interrupted_exits_as_ctrl_c_does() -> None:
    assert Interrupted.exit_code == interrupt.INTERRUPTED


def test_changes_present_exits_2_and_prints_nothing_more(tmp_path: Path) -> None:
    """The plan on stdout, nothing on stderr: 2 is the whole message."""
    assert run_cli("init", str(tmp_path)).exit_code == 0
    saved = str(tmp_path / "plan.json")
    planned = run_cli("-C", str(tmp_path), "plan", "--detailed-exitcode", "--out", saved)
    assert planned.exit_code == 2, planned.output
    shown = run_cli("-C", str(tmp_path), "show", "--detailed-exitcode", saved)
    assert (shown.exit_code, shown.stderr) == (2, "")
    assert "to create" in shown.stdout


def test_a_failed_command_exits_1_and_adds_no_error_line(tmp_path: Path) -> None:
    """validate prints the problem at its line; the exit adds no ``Error:`` line."""
    assert run_cli("init", str(tmp_path)).exit_code == 0
    template = next((tmp_path / "templates").glob("*.yaml"))
    template.write_text(template.read_text() + "\nno_such_attribute: 1\n")
    result = run_cli("-C", str(tmp_path), "validate")
    assert result.exit_code == 1
    assert "no_such_attribute" in result.stderr
    assert "Error:" not in result.stderr
