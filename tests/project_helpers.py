"""Helpers for tests that drive a project through the CLI, in-process, against its embedded
org (a state file in the project's .tallyform/), and change that org behind tallyform's
back as a user of the Tallyfy UI would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from tallyform.emulator import IN_PROCESS_URL, Emulator, EmulatorTransport
from tests.conftest import run_cli
from tests.emulator_helpers import auth


def embedded_state(root: Path) -> Path:
    """The state file of the project's embedded org."""
    return root / ".tallyform/local-org.json"


def live_api(root: Path) -> AbstractContextManager[httpx.Client]:
    """Change the embedded org behind tallyform's back, as a user of the Tallyfy UI would."""
    return org_api(embedded_state(root))


@contextmanager
def org_api(path: Path) -> Iterator[httpx.Client]:
    """The raw API of the embedded org kept in ``path`` (any org of a project)."""
    emulator = Emulator(state_file=path)
    with httpx.Client(
        transport=EmulatorTransport(emulator),
        base_url=f"{IN_PROCESS_URL}/organizations/{emulator.org_id}",
        headers=auth(),
    ) as client:
        yield client


def plan_json(root: Path, *extra: str) -> dict[str, Any]:
    result = run_cli("-C", str(root), "plan", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def apply(root: Path, *extra: str) -> None:
    result = run_cli("-C", str(root), "apply", "--yes", *extra)
    assert result.exit_code == 0, result.output


def assert_no_changes(root: Path) -> None:
    result = run_cli("-C", str(root), "plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "No changes." in result.stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
