"""The README's "Bringing an existing org under version control", followed word for word.

An org that already has templates (examples/ applied to it) is brought under version
control in a fresh folder; the recipe ends in "No changes". The org is the emulator,
in-process, answering at Tallyfy's own address for the org id the README names.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

from tallyform.client import Pacer, Session
from tallyform.emulator import DEFAULT_TOKEN, Emulator, EmulatorTransport
from tests.conftest import REPO, Run, run_cli

ORG_ID = "1505bb7b9ba5f8972ffd3fe1ca18ec0c"
HEADING = "### Bringing an existing org under version control"

# The README's block, exactly (tests below check the README shows this one).
RECIPE = """\
tallyform init my-templates --empty --org production --org-id 1505bb7b9ba5f8972ffd3fe1ca18ec0c
cd my-templates                  # tallyform.yaml: default_org is now production
tallyform export --dry-run       # what would be written and adopted
tallyform export
tallyform plan                   # No changes.
"""


def readme_recipe() -> str | None:
    """The sh block under the README's heading, or None if the README has none."""
    text = (REPO / "README.md").read_text()
    _, found, after = text.partition(HEADING)
    block = re.search(r"```sh\n(.*?)```", after, re.S) if found else None
    return block.group(1) if block else None


@pytest.fixture
def tallyfy(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """Every Tallyfy org of the CLI answered by one in-process emulated org."""
    emulator = Emulator(org_id=ORG_ID)
    monkeypatch.setattr(
        "tallyform.client.api.http_session",
        lambda transport=None, timeout=60.0: Session(
            transport or EmulatorTransport(emulator), timeout
        ),
    )
    # The emulated org sets no rate limit: pacing at Tallyfy's would only make this wait.
    monkeypatch.setattr("tallyform.cli.connect.Pacer", lambda *args, **kwargs: Pacer(None))
    monkeypatch.setenv("TALLYFY_API_TOKEN", DEFAULT_TOKEN)
    yield emulator


def follow(recipe: str, start: Path, monkeypatch: pytest.MonkeyPatch) -> list[Run]:
    """Run each line of a sh recipe as a user would type it: `cd` and `tallyform` only."""
    monkeypatch.chdir(start)
    runs = []
    for line in recipe.splitlines():
        command = line.split("  #")[0].strip()
        for part in command.split("&&"):
            words = shlex.split(part)
            if words[0] == "cd":
                monkeypatch.chdir(words[1])
                continue
            assert words[0] == "tallyform", line
            runs.append(run_cli(*words[1:]))
            assert runs[-1].exit_code == 0, f"{line}\n{runs[-1].output}"
    return runs


def test_the_onboarding_recipe_ends_in_no_changes(
    tallyfy: Emulator, examples_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = run_cli("-C", str(examples_copy), "apply", "--org", "production", "--yes")
    assert existing.exit_code == 0, existing.output
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    init, dry_run, export, plan = follow(RECIPE, fresh, monkeypatch)
    assert "templates/expense-claim.yaml" not in init.output  # no starter template
    assert "\nNext: set TALLYFY_API_TOKEN to a token of the org 'production'" in init.output
    written = sorted(p.name for p in (fresh / "my-templates/templates").rglob("*.yaml"))
    assert written == sorted(p.name for p in (examples_copy / "templates").glob("*.yaml"))
    assert "No changes." in plan.stdout, plan.output
    assert "created" not in plan.output
    del dry_run, export


def test_the_readme_shows_the_tested_recipe() -> None:
    assert readme_recipe() == RECIPE


def test_init_empty_writes_no_template_and_validates(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "p"), "--empty")
    assert result.exit_code == 0, result.output
    assert not list((tmp_path / "p/templates").iterdir())
    assert "default_org: local\n" in (tmp_path / "p/tallyform.yaml").read_text()
    checked = run_cli("-C", str(tmp_path / "p"), "validate")
    assert (checked.exit_code, checked.stdout) == (0, "0 templates valid.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "production"], "Error: --org and --org-id go together: add --org-id ID\n"),
        (
            ["--org", "production", "--org-id", "1505BB"],
            "Error: --org-id must be the 32-character lowercase hex id shown in Tallyfy's "
            "Settings > Organization; '1505BB' is not\n",
        ),
        (
            ["--org", "local", "--org-id", ORG_ID],
            "Error: --org 'local' cannot name the org: use letters, digits, '_' and '-', not "
            "'local' (the embedded emulator's name), like --org production\n",
        ),
    ],
)
def test_init_org_options_say_what_is_wrong(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_cli("init", str(tmp_path / "p"), *args)
    assert result.exit_code == 1
    assert result.stderr.endswith(message), result.stderr
    assert not (tmp_path / "p").exists()


def test_export_compares_meaning_and_shows_what_differs(
    tallyfy: Emulator, examples_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_cli("-C", str(examples_copy), "apply", "--org", "production", "--yes").exit_code == 0
    follow(RECIPE, tmp_path, monkeypatch)
    file = Path("templates/incident-response.yaml")
    text = file.read_text()
    # Another form, the same meaning: key order, block style, a default written out.
    reformed = text.replace("key: incident-response\ntitle: Incident response\n", "")
    reformed = "title: Incident response\nkey: incident-response\n" + reformed.split("\n", 1)[1]
    reformed = reformed.replace(
        "tags: [engineering, incidents]", "tags:\n  - engineering\n  - incidents"
    )
    reformed = reformed.replace(
        "    title: Contain the impact\n", "    title: Contain the impact\n    type: task\n"
    )
    file.write_text(reformed)
    same = run_cli("export")
    assert same.exit_code == 0, same.output
    assert (
        "  = templates/incident-response.yaml (the same as the org's, written in another "
        "form; left as it is)\n"
    ) in same.stdout
    assert file.read_text() == reformed

    file.write_text(text.replace("title: Contain the impact", "title: Contain it"))
    dry_run = run_cli("export", "--dry-run")
    assert dry_run.exit_code == 1
    assert (
        "  ! templates/incident-response.yaml differs from the org; left as it is\n"
        "--- templates/incident-response.yaml (the repository)\n"
        "+++ templates/incident-response.yaml (the org)\n"
    ) in dry_run.stdout, dry_run.stdout
    assert "-    title: Contain it\n+    title: Contain the impact\n" in dry_run.stdout
