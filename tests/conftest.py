"""Shared test helpers: running the CLI in-process and making throwaway projects."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis.configuration import set_hypothesis_home_dir

from tallyform.cli import cli
from tallyform.config import find_config, load_project, load_templates
from tallyform.emulator import Emulator
from tallyform.emulator.journal import Replay
from tallyform.emulator.store import StateFile
from tallyform.model import Template

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

# Hypothesis keeps the failing examples it found in the repository's .hypothesis/ (git
# ignores it), wherever pytest is started from; parallel workers share that database
# safely, since each test runs in one worker only and every entry is a file of its own.
set_hypothesis_home_dir(REPO / ".hypothesis")


def project_templates(root: Path = EXAMPLES) -> list[Template]:
    """The templates of the project at ``root``, loaded as the CLI loads them (valid)."""
    project, _ = load_project(find_config(root))
    assert project is not None
    templates, problems = load_templates(project)
    assert not problems, problems
    return templates


PROJECT_YAML = """\
version: 1
templates: templates
default_org: local
orgs:
  local:
    emulator: .tallyform/local-org.json
"""


@pytest.fixture(autouse=True)
def _pacing_of_its_own(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each test paces its requests alone: the budget tallyform shares between processes on
    one machine (a file under XDG_CACHE_HOME) would otherwise carry one test's requests
    into the next, and into the user's own cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _state_files_reload_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write to an emulator's state file, in every test, is checked: what the file
    holds is the state in memory (so a change a handler forgets to mark fails the tests
    that make it). The file is reloaded whole at a state file's first write and after a
    compaction; in between, each entry is replayed onto the last reload, which is cheaper."""
    shadows: dict[int, tuple[StateFile, dict[str, Any]]] = {}
    record = StateFile.record

    def checked(self: StateFile, ops: list[list[Any]], data: dict[str, Any]) -> None:
        record(self, ops, data)
        if self._foreign:  # another emulator wrote the file too: it holds both
            return
        known = shadows.get(id(self))
        if known is None or known[0] is not self or self._journal_bytes == 0:
            shadow = StateFile(self.path).load()
        else:
            replay = Replay(known[1])
            replay.apply(json.loads(json.dumps(ops)))
            shadow = replay.finish()
        assert shadow == data, f"{self.path} does not reload as the state in memory"
        shadows[id(self)] = (self, shadow)

    monkeypatch.setattr(StateFile, "record", checked)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str) -> Run:
    """Run `tallyform ARGS` in-process; exit code and output as a user would see them."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Make a project in a temp folder with the given template files (name -> text)."""

    def make(templates: dict[str, str | bytes] | None = None, config: str = PROJECT_YAML) -> Path:
        (tmp_path / "templates").mkdir(exist_ok=True)
        (tmp_path / "tallyform.yaml").write_text(config)
        for name, content in (templates or {}).items():
            path = tmp_path / "templates" / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return tmp_path

    return make


@pytest.fixture(params=["in_process", "socket"])
def api(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """An httpx client on a fresh emulated org; every test using it runs in both modes."""
    from tests.emulator_helpers import connect

    with connect(Emulator(), request.param) as client:
        yield client


@pytest.fixture(params=["in_process", "socket"])
def mode(request: pytest.FixtureRequest) -> str:
    """Run a test once in-process and once over a loopback socket."""
    return str(request.param)


@pytest.fixture
def examples_copy(tmp_path: Path) -> Path:
    """A private copy of examples/ that a test may change."""
    target = tmp_path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".tallyform"))
    return target
