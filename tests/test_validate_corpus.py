"""Every bad input in tests/corpus fails `validate` with exit 1 at the right file, line and column.

Each corpus file starts with `# expect: LINE:COLUMN: text`; the report must contain
`FILE:LINE:COLUMN: error: ...text...`. Template files are validated inside a project,
project files are used as tallyform.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_cli

CORPUS = Path(__file__).parent / "corpus"
EXPECT = re.compile(rb"^# expect: (?:(\d+):(\d+): )?(.*)$")


def _expectation(path: Path) -> tuple[str | None, str]:
    first = path.read_bytes().splitlines()[0]
    match = EXPECT.match(first)
    assert match, f"{path.name} lacks an '# expect:' first line"
    line, column, text = match.groups()
    where = f"{line.decode()}:{column.decode()}" if line else None
    return where, text.decode()


def _cases(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*.yaml"))


def test_corpus_is_large_enough() -> None:
    assert len(_cases("templates")) + len(_cases("projects")) >= 30


@pytest.mark.parametrize("case", _cases("templates"), ids=lambda p: p.stem)
def test_bad_template_is_reported_at_its_location(case: Path, project: Callable[..., Path]) -> None:
    root = project({case.name: case.read_bytes()})
    result = run_cli("-C", str(root), "validate")
    where, text = _expectation(case)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    reported = [line for line in result.output.splitlines() if f"{case.name}:" in line]
    assert reported, result.output
    prefix = f"templates/{case.name}:{where}: error: " if where else f"templates/{case.name}:"
    assert any(prefix in line and text in line for line in reported), result.output


@pytest.mark.parametrize("case", _cases("projects"), ids=lambda p: p.stem)
def test_bad_project_file_is_reported_at_its_location(
    case: Path, project: Callable[..., Path]
) -> None:
    root = project(config=case.read_text())
    result = run_cli("-C", str(root), "validate")
    where, text = _expectation(case)
    assert result.exit_code == 1, result.output
    assert f"tallyform.yaml:{where}: error: {text}" in result.output, result.output
