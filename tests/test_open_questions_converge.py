"""Apply, then plan again, is empty under every reading of the Tallyfy API, or tallyform
refuses clearly; and the pessimistic reading stays affordable.

Each open question of the reference is an emulator quirk (``tallyform.emulator.quirks``).
The examples are bootstrapped, then edited (a deadline and a folder cleared, a rule and a
tag changed) and applied again, under each quirk alone and under ``strict`` (all at once).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from benchmarks.generate import write_project
from tallyform.emulator import Emulator, Quirks
from tallyform.emulator.quirks import EVERY_QUIRK, LEFT_OUT_OF_STRICT, QUIRK_CHOICES
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.model import Template
from tallyform.tallyfy.read import KeysHidden
from tallyform.tallyfy.writes import CLEAR_ADVICE
from tests.client_helpers import client_for
from tests.conftest import EXAMPLES, project_templates

# Readings with no way forward, where tallyform refuses clearly instead (tested below).
REFUSED = {"custom_fields_null", "empty_string"}
ANSWERS = [
    answer
    for name in EVERY_QUIRK
    if name not in REFUSED
    for answer in (
        [f"{name}={c}" for c in QUIRK_CHOICES[name][1:]] if name in QUIRK_CHOICES else [name]
    )
    if name != "low_rate_limit"  # pacing, with a real clock: tested by the emulator's suite
]


def edited_examples(tmp_path: Path) -> Path:
    """A copy of examples/ with a deadline and a folder cleared, a rule's value and the
    tags of one template changed."""
    root = tmp_path / "edited"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    onboarding = root / "templates/customer-onboarding.yaml"
    text = onboarding.read_text()
    onboarding.write_text(text.replace("    deadline: {value: 3, unit: days}\n", "", 1))
    purchase = root / "templates/purchase-request.yaml"
    text = purchase.read_text().replace("value: 100", "value: 250", 1)
    text = re.sub(r"^folder: .*\n", "", text, flags=re.M)
    purchase.write_text(re.sub(r"^tags: \[.*\]\n", "tags: [spending]\n", text, flags=re.M))
    return root


def converge(emulator: Emulator, templates: list[Template], applies: int = 2) -> list[str]:
    """Plan and apply until the plan is empty (at most ``applies`` times); what failed."""
    with client_for(emulator) as client:
        for _ in range(applies):
            result = make_plan(client, "readings", templates)
            assert result.plan is not None and result.org is not None, result.problems
            if result.plan.empty:
                return []
            report = apply_plan(client, result.plan)
            if report.failed:
                return [str(o.error) for o in report.failed]
        again = make_plan(client, "readings", templates)
        assert again.plan is not None
        return [] if again.plan.empty else [c.name for c in again.plan.changes]


def live_titles(emulator: Emulator) -> list[str]:
    return sorted(t["title"] for t in emulator.state["checklists"].values() if not t["archived_at"])


@pytest.mark.parametrize("answer", [*ANSWERS, "strict"])
def test_apply_then_plan_is_empty_under_each_reading(answer: str, tmp_path: Path) -> None:
    emulator = Emulator(quirks=Quirks.named([answer]))
    assert converge(emulator, project_templates(), applies=1) == []
    edited = project_templates(edited_examples(tmp_path))
    assert converge(emulator, edited, applies=1) == []
    assert live_titles(emulator) == sorted(t.title for t in edited), "never a duplicate"


def test_all_together_converges_with_no_duplicate(tmp_path: Path) -> None:
    every = [name for name in LEFT_OUT_OF_STRICT if name not in REFUSED | {"low_rate_limit"}]
    emulator = Emulator(quirks=Quirks.named(["strict", *every, "nested_steps_built"]))
    assert converge(emulator, project_templates(), applies=1) == []
    assert converge(emulator, project_templates(edited_examples(tmp_path)), applies=1) == []


def test_credentials_that_cannot_see_custom_fields_are_refused_before_any_write() -> None:
    emulator = Emulator()
    assert converge(emulator, project_templates()) == []
    emulator.quirks = Quirks.named(["custom_fields_null"])
    before = len([r for r in emulator.requests if r["method"] != "GET"])
    with client_for(emulator) as client, pytest.raises(KeysHidden) as refused:
        make_plan(client, "readings", project_templates())
    assert "cannot see custom-field values" in str(refused.value)
    assert "member's token" in str(refused.value)
    assert len([r for r in emulator.requests if r["method"] != "GET"]) == before


def test_a_new_org_that_hides_custom_fields_stops_at_the_first_create() -> None:
    emulator = Emulator(quirks=Quirks.named(["custom_fields_null"]))
    with client_for(emulator) as client:
        result = make_plan(client, "readings", project_templates())
        assert result.plan is not None and result.org is not None
        report = apply_plan(client, result.plan)
    errors = [str(o.error) for o in report.failed]
    assert errors and all("cannot see custom-field values" in e for e in errors)
    assert len(live_titles(emulator)) < len(project_templates()), "the others never started"


@pytest.mark.parametrize("choice", ["refused", "ignored"])
def test_a_value_that_cannot_be_cleared_is_refused_clearly(choice: str, tmp_path: Path) -> None:
    emulator = Emulator(quirks=Quirks.named([f"empty_string={choice}"]))
    assert converge(emulator, project_templates()) == []
    errors = converge(emulator, project_templates(edited_examples(tmp_path)), applies=1)
    assert errors and all("clear" in e and "Tallyfy" in e for e in errors), errors
    assert all(CLEAR_ADVICE in e for e in errors)


def test_a_strict_plan_reads_each_template_once_not_each_step(tmp_path: Path) -> None:
    """Nested objects show no custom fields under strict: the template's own map of its
    children's keys (tallyform_ids) saves a read per step."""
    count = 12
    write_project(tmp_path, count)
    templates = project_templates(tmp_path)
    emulator = Emulator(quirks=Quirks.strict())
    assert converge(emulator, templates) == []
    with client_for(emulator) as client:
        before = client.stats.requests
        result = make_plan(client, "readings", templates)
        assert result.plan is not None and result.plan.empty
        requests = client.stats.requests - before
    # The lists (users, groups, tags, folders, keys, templates twice, archived), then one
    # read of each template: no step is read on its own.
    assert requests <= count + 12, requests
    gets = [r["path"] for r in emulator.requests[-requests:] if r["method"] == "GET"]
    assert not [p for p in gets if re.search(r"/steps/[0-9a-f]+$", p)], gets


def test_a_template_that_gains_a_step_keeps_its_map(tmp_path: Path) -> None:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    emulator = Emulator(quirks=Quirks.strict())
    assert converge(emulator, project_templates(root)) == []
    path = root / "templates/incident-response.yaml"
    path.write_text(
        path.read_text().replace(
            "  - key: postmortem\n",
            "  - key: tell-customers\n    title: Tell customers\n  - key: postmortem\n",
            1,
        )
    )
    assert converge(emulator, project_templates(root), applies=1) == []
    before = len(emulator.requests)
    with client_for(emulator) as client:
        make_plan(client, "readings", project_templates(root))
    gets = [r["path"] for r in emulator.requests[before:] if r["method"] == "GET"]
    assert not [p for p in gets if re.search(r"/steps/[0-9a-f]+$", p)], gets
