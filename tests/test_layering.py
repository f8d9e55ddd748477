"""The package's layout holds: one package per stage, imports pointing one way.

Read from the source with ``ast``, so a new import that breaks a rule fails here, not in
a review. Imports under ``if TYPE_CHECKING:`` count too: a type a stage names is a stage
it depends on, even if only mypy loads it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tallyform"

# The stages each stage may import (the package root, for __version__, is always allowed).
ALLOWED = {
    "model": set(),
    "logic": {"model"},
    "config": {"model"},
    "client": set(),
    "tallyfy": {"model", "client"},
    "engine": {"config", "model", "client", "tallyfy", "logic"},
    "render": {"config", "engine", "model", "logic"},
    "emulator": {"model", "logic"},  # its processes run tallyform's rule engine
    "cli": {"config", "model", "client", "tallyfy", "engine", "logic", "render", "emulator"},
}
# Third-party libraries that only some modules may use.
ONLY_IN = {
    "click": ("cli/",),
    "httpx": ("client/", "emulator/"),
    "deepdiff": ("engine/diff.py",),
    "ruamel": ("config/fmt.py",),
}


def _modules() -> list[Path]:
    return sorted(
        p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.name != "__main__.py"
    )


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, typing_too: bool = True) -> list[str]:
    """Every module the file imports: at run time, and for types (``typing_too``)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if not typing_too and isinstance(node, ast.If) and _type_checking(node)
        for inner in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _stage(path: Path) -> str | None:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else None


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way_down_the_pipeline(path: Path) -> None:
    stage = _stage(path)
    if stage is None or stage == "schemas":
        return
    wrong = [
        module
        for module in _imports(path)
        if module.startswith("tallyform.")
        and module.split(".")[1] in ALLOWED  # top-level helpers (tallyform.lazy) serve all
        and module.split(".")[1] != stage
        and module.split(".")[1] not in ALLOWED[stage]
    ]
    assert not wrong, f"{stage} may import only {sorted(ALLOWED[stage])}, not {wrong}"


@pytest.mark.parametrize("library", sorted(ONLY_IN))
def test_libraries_stay_where_they_belong(library: str) -> None:
    places = ONLY_IN[library]
    users = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if any(m == library or m.startswith(f"{library}.") for m in _imports(path))
    ]
    strays = [u for u in users if not u.startswith(places)]
    assert users, f"nothing imports {library}: drop the dependency"
    assert not strays, f"only {', '.join(places)} may import {library}: {strays}"


def test_every_module_says_what_it_owns() -> None:
    bare = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if ast.get_docstring(ast.parse(path.read_text())) is None
    ]
    assert not bare, f"modules without a docstring: {bare}"


# Exceptions that never leave their module's stage: each is turned into a problem, an API
# answer or a finding where it is caught.
INTERNAL_ERRORS = {"LimitExceeded", "ApiError", "ProcessError"}


def test_every_error_a_user_meets_has_one_root() -> None:
    """One exception root (tallyform.errors.TallyformError), caught once by the CLI."""
    import importlib
    import inspect

    from tallyform.errors import TallyformError

    strays = []
    for path in _modules():
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Exception)
                and value.__module__ == name
                and not attribute.startswith("_")
                and attribute not in INTERNAL_ERRORS
                and not issubclass(value, TallyformError)
            ):
                strays.append(f"{name}.{attribute}")
    assert not strays, f"errors outside tallyform.errors.TallyformError: {strays}"


# A command module is its options, rendering calls and exit codes; the work is the
# engine's (tallyform.engine.service, .session, .locking, ...). A module past this many
# lines is doing work of its own: move it where it belongs.
COMMAND_LINES = 160
# Command modules not yet that short, each with who owns it; the test fails once one is,
# so the list only shrinks.
LONGER_FOR_NOW: set[str] = set()  # a command module allowed past the bound while it moves


def _command_modules() -> list[Path]:
    from tallyform.cli.app import COMMANDS

    modules = {where.split(":")[0] for where in COMMANDS.values()}
    return sorted(PACKAGE.parent / (module.replace(".", "/") + ".py") for module in modules)


@pytest.mark.parametrize("path", _command_modules(), ids=lambda p: p.name)
def test_command_modules_hold_declarations_not_work(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    if path.name in LONGER_FOR_NOW:
        assert lines > COMMAND_LINES, f"{path.name} is short now: drop it from LONGER_FOR_NOW"
        return
    assert lines <= COMMAND_LINES, (
        f"cli/{path.name} has {lines} lines (at most {COMMAND_LINES}): its work belongs in "
        "the engine (or rendering in tallyform.render), the command keeps options and exit codes"
    )


def _prints(path: Path) -> list[str]:
    """Where a module writes to the terminal itself: print() or sys.stdout/sys.stderr."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Name) and func.id == "print":
            found.append(f"print() at line {func.lineno}")
        stream = node.attr if isinstance(node, ast.Attribute) else None
        owner = node.value if isinstance(node, ast.Attribute) else None
        if stream in ("stdout", "stderr") and isinstance(owner, ast.Name) and owner.id == "sys":
            found.append(f"sys.{stream} at line {owner.lineno}")
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if _stage(p) in ("engine", "tallyfy", "model", "config")],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_work_reports_through_its_caller_never_the_terminal(path: Path) -> None:
    """The pipeline's stages before rendering return typed values or call back; what the
    user reads is printed by tallyform.cli (and worded by tallyform.render)."""
    assert not _prints(path), f"{path.relative_to(PACKAGE)} writes to the terminal: {_prints(path)}"
