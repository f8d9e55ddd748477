"""Apply under injected faults: every object kind, many seeds, no duplicate of anything.

At 20 percent of requests failing (5xx before or after the change was made, dropped
connections before or after), a bootstrap of the examples converges in at most three
applies, and the org then holds exactly one of each template, step, form field, kick-off
field, rule, tag, tag attachment, folder and custom-field key.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from tallyform.client import RetryPolicy, StaticToken, TallyfyClient, TallyfyError
from tallyform.config import find_config, load_project, load_templates
from tallyform.emulator import (
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorTransport,
    Quirks,
)
from tallyform.emulator.faults import FaultInjector, FaultSettings
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.model import Template
from tests.client_helpers import DropFirstAnswer
from tests.conftest import EXAMPLES
from tests.fault_helpers import duplicates, example_templates

MAX_APPLIES = 3


def faulty_org(seed: int, rate: float, quirks: Quirks) -> tuple[Emulator, TallyfyClient]:
    emulator = Emulator(
        faults=FaultSettings(
            fail_rate=rate, seed=seed, kinds=("error", "error_after", "drop", "drop_after")
        ),
        quirks=quirks,
    )
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=EmulatorTransport(emulator),
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        retry=RetryPolicy(base=0, cap=0, jitter=0),
        sleep=lambda seconds: None,
        seed=seed,
    )
    return emulator, client


def plan_until_read(client: TallyfyClient, templates: list[Template], nested: bool = False) -> Any:
    """A plan; a read that runs out of retries is read again (it changes nothing).
    ``nested``: the org's probe found it builds the steps nested in a template's create."""
    for _ in range(20):
        try:
            return make_plan(client, "local", templates, builds_nested_steps=nested)
        except TallyfyError:
            continue
    raise AssertionError("the org could not be read in 20 tries")


ANSWERS = {
    "likeliest": Quirks(),
    "strict": Quirks.strict(),
    "nested": Quirks(nested_steps_built=True),  # each new template made in one POST
}


@pytest.mark.parametrize("answers", list(ANSWERS))
@pytest.mark.parametrize("seed", range(10))
def test_apply_converges_in_three_runs_without_duplicates(seed: int, answers: str) -> None:
    """Whichever way Tallyfy answers the open questions (the emulator's strict mode), and
    where the org builds nested steps, as its probe found."""
    templates = example_templates()
    quirks = ANSWERS[answers]
    emulator, client = faulty_org(seed, 0.2, quirks)
    applies = 0
    while True:
        result = plan_until_read(client, templates, quirks.nested_steps_built)
        assert result.plan is not None and result.org is not None
        assert not result.plan.conflicts, [c.message() for c in result.plan.conflicts]
        if result.plan.empty:
            break
        applies += 1
        assert applies <= MAX_APPLIES, [c.name for c in result.plan.changes]
        with contextlib.suppress(TallyfyError):  # an org-wide change failed: the next one mends it
            apply_plan(client, result.plan)
    emulator.faults = FaultSettings()
    emulator._injector = FaultInjector(emulator.faults)
    final = make_plan(client, "local", templates)
    assert final.plan is not None and final.plan.empty
    assert duplicates(emulator.state) == []
    live = [t for t in emulator.state["checklists"].values() if t["archived_at"] is None]
    assert sorted(t["title"] for t in live) == sorted(t.title for t in templates)


def _twin(key: str, step: str) -> Template:
    from tallyform.model import Step

    return Template(key=key, title="Same", steps=[Step(key=step, title=step.title())])


@pytest.mark.parametrize("quirks", [Quirks(), Quirks.strict()], ids=["default", "strict"])
def test_a_lost_create_never_adopts_another_template_of_the_same_title(quirks: Quirks) -> None:
    """Two templates titled alike: the look-up after a lost create must not take the other
    one, even where the list shows no keys (strict)."""
    emulator = Emulator(quirks=quirks)

    def client(transport: Any) -> TallyfyClient:
        return TallyfyClient(
            org_id=emulator.org_id,
            base_url=IN_PROCESS_URL,
            transport=transport,
            credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        )

    first, second = _twin("y", "only-y"), _twin("x", "only-x")
    with client(EmulatorTransport(emulator)) as plain:
        result = make_plan(plain, "local", [first])
        assert result.plan is not None and result.org is not None
        apply_plan(plain, result.plan)
    (y_id,) = list(emulator.state["checklists"])
    with client(DropFirstAnswer(EmulatorTransport(emulator), "POST")) as lossy:
        result = make_plan(lossy, "local", [first, second])
        assert result.plan is not None and result.org is not None
        report = apply_plan(lossy, result.plan)
        assert not report.failed, [o.error for o in report.failed]
    with client(EmulatorTransport(emulator)) as plain:
        again = make_plan(plain, "local", [first, second])
    assert again.plan is not None and again.plan.empty, [c.name for c in again.plan.changes]
    keys = {
        t["custom_fields"].get("tallyform_key"): t["id"]
        for t in emulator.state["checklists"].values()
    }
    assert keys.keys() == {"x", "y"} and keys["y"] == y_id


def _edited_templates(root: Path) -> list[Template]:
    """The examples with one of most kinds of edit: a move, a reorder, a create, a delete,
    a rename, a new tag and folder, and one template removed (archived)."""
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    folder = root / "templates"
    (folder / "content-review.yaml").unlink()
    pr = folder / "purchase-request.yaml"
    text = pr.read_text()
    quote = "      - key: quote\n        label: Quote or invoice\n        type: file\n"
    text = text.replace(quote, "")  # moved to place-order below
    text = text.replace(
        "        label: Purchase order number\n        type: text\n        required: true\n",
        "        label: Purchase order number\n        type: text\n        required: true\n"
        + quote
        + "      - key: receipt\n        label: Receipt\n        type: file\n",
    )
    text = text.replace("title: Finance review", "title: Finance check")
    text = text.replace("tags: [finance]", "tags: [finance, capex]")
    text = text.replace("folder: Finance/Purchasing", "folder: Finance/Purchasing/Capex")
    pr.write_text(text)
    project, _ = load_project(find_config(root))
    assert project is not None
    templates, problems = load_templates(project)
    assert not problems, problems
    return templates


@pytest.mark.parametrize("answers", ["likeliest", "strict"])
@pytest.mark.parametrize("seed", range(5))
def test_edits_under_faults_converge_without_duplicates(
    seed: int, answers: str, tmp_path: Path
) -> None:
    quirks = Quirks.strict() if answers == "strict" else Quirks()
    emulator, client = faulty_org(seed, 0.0, quirks)
    first = make_plan(client, "local", example_templates())
    assert first.plan is not None and first.org is not None
    apply_plan(client, first.plan)
    edited = _edited_templates(tmp_path / "repo")
    emulator.faults = FaultSettings(
        fail_rate=0.2, seed=seed, kinds=("error", "error_after", "drop", "drop_after")
    )
    emulator._injector = FaultInjector(emulator.faults)
    for _ in range(MAX_APPLIES):
        result = plan_until_read(client, edited)
        assert result.plan is not None and result.org is not None
        if result.plan.empty:
            break
        with contextlib.suppress(TallyfyError):
            apply_plan(client, result.plan)
    emulator.faults = FaultSettings()
    emulator._injector = FaultInjector(emulator.faults)
    final = make_plan(client, "local", edited)
    assert final.plan is not None and final.plan.empty, [c.name for c in final.plan.changes]
    assert duplicates(emulator.state) == []
