"""``--changed-since REF``: plan and apply only the templates whose files changed since a
git ref, found in the org by title instead of reading every template.

A pull request touching two templates of a big org must not read the whole org; it must
still never plan a duplicate: a template it cannot find by its title (new, or renamed in
Tallyfy) makes the plan read the whole list after all.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tallyform.emulator import Emulator, EmulatorTransport
from tests.conftest import EXAMPLES, run_cli
from tests.emulator_helpers import connect

STATE = ".tallyform/local-org.json"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=ci@example.com", "-c", "user.name=CI", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The examples in a git repository, committed and applied to the embedded org."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root)
    (root / ".gitignore").write_text(".tallyform/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "templates")
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    return root


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every request the embedded org answers, as 'METHOD path?query'."""
    seen: list[str] = []
    answer = EmulatorTransport.handle_request

    def counted(self: EmulatorTransport, request: httpx.Request) -> httpx.Response:
        query = request.url.query.decode()
        seen.append(f"{request.method} {request.url.path}" + (f"?{query}" if query else ""))
        return answer(self, request)

    monkeypatch.setattr(EmulatorTransport, "handle_request", counted)
    yield seen


def _edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / "templates" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _template_lists(requests: list[str]) -> list[str]:
    return [r for r in requests if r.split("?")[0].endswith("/checklists")]


def test_two_changed_templates_are_planned_with_a_handful_of_requests(
    repo: Path, requests: list[str]
) -> None:
    _edit(repo, "purchase-request.yaml", "title: Purchase request", "title: Purchase request!")
    _edit(repo, "content-review.yaml", "title: Write the draft", "title: Write a draft")
    requests.clear()
    result = run_cli("-C", str(repo), "plan", "--changed-since", "main")
    assert result.exit_code == 0, result.output
    assert "2 template(s) whose files changed since main" in result.output
    assert "purchase-request" in result.stdout and "content-review" in result.stdout
    assert "incident-response" not in result.stdout
    assert "Plan: 0 to create, 2 to update" in result.stdout
    lists = _template_lists(requests)
    assert len(lists) == 2 and all("q=" in r for r in lists), lists
    assert not [r for r in requests if "/checklists/" in r], "no template read on its own"
    assert len(requests) <= 15, requests


def test_apply_changed_since_then_a_full_plan_is_empty(repo: Path) -> None:
    _edit(repo, "purchase-request.yaml", "label: Vendor", "label: Supplier")
    applied = run_cli("-C", str(repo), "apply", "--changed-since", "main", "--yes")
    assert applied.exit_code == 0, applied.output
    assert "Applied: 1 updated" in applied.stdout
    plan = run_cli("-C", str(repo), "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_a_removed_file_is_found_by_its_old_title_and_archived(
    repo: Path, requests: list[str]
) -> None:
    (repo / "templates" / "content-review.yaml").unlink()
    requests.clear()
    result = run_cli("-C", str(repo), "plan", "--changed-since", "main")
    assert result.exit_code == 0, result.output
    assert "content-review" in result.stdout and "archive" in result.stdout
    assert all("q=" in r for r in _template_lists(requests))


def test_a_new_template_reads_the_whole_list_to_be_sure(repo: Path, requests: list[str]) -> None:
    source = (repo / "templates" / "purchase-request.yaml").read_text()
    (repo / "templates" / "new-one.yaml").write_text(
        source.replace("key: purchase-request", "key: new-one").replace(
            "title: Purchase request", "title: A new one"
        )
    )
    requests.clear()
    result = run_cli("-C", str(repo), "plan", "--changed-since", "main")
    assert result.exit_code == 0, result.output
    assert "new-one" in result.stdout and "Plan: 14 to create, 0 to update" in result.stdout
    assert any("q=" not in r for r in _template_lists(requests)), "the whole list was read"


def test_a_template_renamed_in_tallyform_is_not_made_twice(repo: Path) -> None:
    """Renamed in the Tallyfy UI (key kept): the search by the repository's title misses it."""
    emulator = Emulator(state_file=repo / STATE)
    (template,) = [
        t for t in emulator.state["checklists"].values() if t["title"] == "Purchase request"
    ]
    body = {k: template[k] for k in ("type", "users", "groups")}
    with connect(emulator, "in_process") as api:
        renamed = api.put(f"/checklists/{template['id']}", json={**body, "title": "Buying things"})
        assert renamed.status_code == 200, renamed.text
    _edit(repo, "purchase-request.yaml", "label: Vendor", "label: Supplier")
    result = run_cli("-C", str(repo), "plan", "--changed-since", "main")
    assert result.exit_code == 0, result.output
    assert "Plan: 0 to create, 2 to update" in result.stdout, result.stdout
    assert "Buying things" in result.stdout


def test_nothing_changed_plans_nothing(repo: Path, requests: list[str]) -> None:
    requests.clear()
    result = run_cli("-C", str(repo), "plan", "--changed-since", "main", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    assert "no template file changed since main" in result.output
    assert not _template_lists(requests)


def test_a_changed_settings_file_plans_everything(repo: Path) -> None:
    config = repo / "tallyform.yaml"
    config.write_text(config.read_text() + "\n# a comment\n")
    _edit(repo, "purchase-request.yaml", "label: Vendor", "label: Supplier")
    result = run_cli("-C", str(repo), "plan", "--changed-since", "main")
    assert result.exit_code == 0, result.output
    assert "tallyform.yaml changed since main" in result.output
    assert "changed since main; other changes" not in result.output


def test_an_unknown_ref_or_no_repository_is_one_clear_error(repo: Path, tmp_path: Path) -> None:
    unknown = run_cli("-C", str(repo), "plan", "--changed-since", "no-such-branch")
    assert unknown.exit_code == 1
    assert unknown.stderr == (
        "Error: --changed-since no-such-branch: this repository has no branch, tag or "
        "commit called 'no-such-branch'; name one it has (`git branch -a` lists branches). "
        "In CI, fetch it first: a shallow checkout holds only its own commit (`git fetch "
        "origin main`, then --changed-since origin/main)\n"
    )
    plain = tmp_path / "plain"
    shutil.copytree(EXAMPLES, plain)
    outside = run_cli("-C", str(plain), "plan", "--changed-since", "main")
    assert outside.exit_code == 1
    assert outside.stderr == (
        f"Error: --changed-since main: {plain} is not in a git repository; run it in the "
        "repository's checkout, or plan every template (leave out --changed-since)\n"
    )
    both = run_cli("-C", str(repo), "plan", "--changed-since", "main", "--only", "x")
    assert both.exit_code == 1 and "either --changed-since or --only" in both.output
