"""The test suite's own layout: test modules share code only through helper modules.

A test module that imports another ties two test files together: the importer runs the
other's import-time work, breaks when a test there is renamed, and may have its tests
collected twice. Shared code lives in ``tests/*_helpers.py`` or ``conftest.py``. Read
from the source with ``ast``; every import counts, in a function or under
``TYPE_CHECKING`` too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SHARED = {"conftest.py", "__init__.py"}


def _modules() -> list[Path]:
    return sorted(TESTS.glob("*.py"))


def _test_module(name: str) -> bool:
    """Whether ``name`` (dotted, as imported) is one of the suite's test modules."""
    package, _, module = name.rpartition(".")
    return package in ("", TESTS.name) and module.startswith("test_")


def _imported(path: Path) -> list[str]:
    """Every module the file imports, and every name it imports from a package (which may
    be a module: ``from tests import test_x``); relative imports resolved."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # from . import x, from .x import y: inside tests/
                module = ".".join(part for part in (TESTS.name, module) if part)
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.name)
def test_no_module_of_the_suite_imports_a_test_module(path: Path) -> None:
    wrong = sorted({name for name in _imported(path) if _test_module(name)})
    assert not wrong, (
        f"{path.name} imports {wrong}: move what they share to a tests/*_helpers.py module "
        "(or a fixture in conftest.py)"
    )


def test_every_module_of_the_suite_is_tests_or_helpers() -> None:
    stray = [
        p.name
        for p in _modules()
        if p.name not in SHARED
        and not p.name.startswith("test_")
        and not p.name.endswith("_helpers.py")
    ]
    assert not stray, f"name shared test code tests/*_helpers.py: {stray}"


def test_the_check_sees_every_form_of_import(tmp_path: Path) -> None:
    forms = {
        "from tests.test_a import helper": True,
        "import tests.test_a": True,
        "from tests import test_a": True,
        "from . import test_a": True,
        "from .test_a import helper": True,
        "def f():\n    from tests.test_a import helper": True,
        "from tests.process_helpers import Cli": False,
        "from tests import conftest": False,
        "import pytest": False,
    }
    for source, is_wrong in forms.items():
        path = tmp_path / "test_b.py"
        path.write_text(source + "\n")
        assert any(_test_module(n) for n in _imported(path)) is is_wrong, source
