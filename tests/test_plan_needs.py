"""A plan that archives says what apply will need (--allow-delete, and --force past the
safety share), in every format and in a saved plan shown again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.project_helpers import apply

ALLOW = "it archives 2 templates (content-review, incident-response)"
FORCE = "it deletes or removes parts of 2 of 6 managed templates, more than the safety share of 30%"


def _archive_two(root: Path) -> None:
    config = root / "tallyform.yaml"
    config.write_text(config.read_text() + "delete_share_minimum: 5\n")
    apply(root)
    for key in ("content-review", "incident-response"):
        (root / "templates" / f"{key}.yaml").unlink()


def test_a_plan_that_archives_says_what_apply_will_need(examples_copy: Path) -> None:
    _archive_two(examples_copy)
    text = run_cli("--no-color", "-C", str(examples_copy), "plan")
    assert text.exit_code == 0, text.output
    assert text.stdout.endswith(
        "Plan: 0 to create, 0 to update, 0 to delete, 0 to reorder, 2 to archive (2 writes).\n"
        f"Apply will need --allow-delete: {ALLOW}.\n"
        f"Apply will need --force: {FORCE}.\n"
    )
    document = json.loads(run_cli("-C", str(examples_copy), "plan", "--format", "json").stdout)
    assert document["format_version"] == 1
    assert document["apply_needs"] == [
        {"flag": "--allow-delete", "why": ALLOW},
        {"flag": "--force", "why": FORCE},
    ]
    markdown = run_cli("-C", str(examples_copy), "plan", "--format", "markdown").stdout
    assert f"> **Apply will need `--allow-delete`:** {ALLOW}.\n" in markdown
    assert f"> **Apply will need `--force`:** {FORCE}.\n" in markdown


def test_a_saved_plan_shown_again_says_it_too(examples_copy: Path) -> None:
    _archive_two(examples_copy)
    out = examples_copy / "plan.json"
    saved = run_cli("-C", str(examples_copy), "plan", "--out", str(out))
    assert saved.exit_code == 0, saved.output
    shown = run_cli("--no-color", "-C", str(examples_copy), "show", str(out))
    assert f"Apply will need --allow-delete: {ALLOW}.\n" in shown.stdout
    refused = run_cli("-C", str(examples_copy), "apply", str(out), "--allow-delete")
    assert refused.exit_code == 1 and "safety share" in refused.output, "as the plan said"


def test_a_plan_that_archives_nothing_needs_nothing(examples_copy: Path) -> None:
    document = json.loads(run_cli("-C", str(examples_copy), "plan", "--format", "json").stdout)
    assert document["apply_needs"] == []
    assert "Apply will need" not in run_cli("-C", str(examples_copy), "plan").stdout
