"""A change made in Tallyfy after the template file's last commit is marked as drift, so
a reviewer can tell it from a change made in the repository."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tallyform.stamps import parse_time
from tests.conftest import run_cli
from tests.project_helpers import apply, live_api

CLAIM = """\
key: claim
title: Expense claim
steps:
  - {key: submit, title: Submit the claim}
"""
OLD = "2020-01-01T00:00:00+00:00"


def _commit(root: Path, when: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    for args in (
        ("init", "-q"),
        ("add", "templates", "tallyform.yaml"),
        ("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "x"),
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True, env=env)


def _rename_in_tallyfy(root: Path) -> None:
    with live_api(root) as api:
        [found] = [
            t for t in api.get("/checklists").json()["data"] if t["title"] == "Expense claim"
        ]
        answer = api.put(f"/checklists/{found['id']}", json={"title": "Claim (edited in Tallyfy)"})
        assert answer.status_code == 200, answer.text


def test_a_change_made_in_tallyfy_after_the_last_commit_is_marked_as_drift(project: Any) -> None:
    root: Path = project({"claim.yaml": CLAIM})
    _commit(root, OLD)
    apply(root)
    _rename_in_tallyfy(root)
    result = run_cli("--no-color", "-C", str(root), "plan")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    start = lines.index('  ~ template "claim" will be updated in place')
    assert lines[start + 1].startswith("      # drift: changed in Tallyfy at 20") and lines[
        start + 1
    ].endswith(
        ", after its file's last commit (2020-01-01 00:00 UTC): "
        "these changes may undo edits made there"
    )
    assert lines[start + 2] == '      title = "Claim (edited in Tallyfy)" -> "Expense claim"'
    document = json.loads(run_cli("-C", str(root), "plan", "--format", "json").stdout)
    assert [d["template"] for d in document["drift"]] == ["claim"]
    assert all(c["drift"] for c in document["changes"] if c["path"].startswith("claim"))
    markdown = run_cli("-C", str(root), "plan", "--format", "markdown").stdout
    assert (
        "<summary><code>claim</code>: 1 to update (drift: changed in Tallyfy)</summary>" in markdown
    )


def test_a_change_in_the_repository_is_not_drift(project: Any) -> None:
    root: Path = project({"claim.yaml": CLAIM})
    _commit(root, OLD)
    apply(root)
    path = root / "templates" / "claim.yaml"
    path.write_text(CLAIM.replace("Expense claim", "Expense claim (v2)"))
    uncommitted = run_cli("--no-color", "-C", str(root), "plan")
    assert "drift" not in uncommitted.stdout, "an uncommitted edit is the newest word"
    subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qam",
            "v2",
        ],
        check=True,
    )
    committed = run_cli("--no-color", "-C", str(root), "plan")
    assert committed.exit_code == 0 and "title" in committed.stdout
    assert "drift" not in committed.stdout


def test_without_git_nothing_is_marked(project: Any) -> None:
    root: Path = project({"claim.yaml": CLAIM})
    apply(root)
    _rename_in_tallyfy(root)
    result = run_cli("--no-color", "-C", str(root), "plan")
    assert result.exit_code == 0 and "title" in result.stdout and "drift" not in result.stdout


def test_tallyfy_times_are_read_in_their_forms() -> None:
    assert str(parse_time("2026-01-01T00:00:00.000Z")) == "2026-01-01 00:00:00+00:00"
    assert str(parse_time("2026-01-01 10:00:00")) == "2026-01-01 10:00:00+00:00"
    assert parse_time("yesterday") is None and parse_time(None) is None
