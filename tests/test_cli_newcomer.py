"""The command line as a newcomer meets it: flags where they type them, no tracebacks,
no silent surprises (an --only that matches nothing, a renamed template file, a damaged
saved plan), help for every option, and honest numbers in apply's closing line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

CLAIM = "title: Claim\nsteps:\n  - key: submit\n    title: Submit\n"
REQUEST_LOG = "tallyform.client: GET /organizations/"


def _state(root: Path) -> Path:
    return root / ".tallyform/local-org.json"


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


def test_a_saved_plan_still_applies(project: Callable[..., Path]) -> None:
    root = project({"claim.yaml": CLAIM})
    saved = root / "plan.json"
    assert run_cli("-C", str(root), "plan", "--out", str(saved), "--only", "cl*").exit_code == 0
    result = run_cli("-C", str(root), "apply", str(saved))
    assert result.exit_code == 0, result.output
    assert "Applied: " in result.stdout
