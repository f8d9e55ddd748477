"""A new step attribute takes three places in tallyform: a schema entry, a model entry and
the wire mapping (none where Tallyfy's name is the YAML's), and nothing else.

The attribute here, ``hide_from_guests``, is made up: the emulator is taught it too, as
Tallyfy would know it. Plan, apply, a change of it, and export then carry it through
every stage (validate, desired and live states, diff, payloads, decode, render, export)
without another line of code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tallyform.config import schema
from tallyform.emulator import Emulator, steps
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.engine.export import export_org
from tallyform.model.state import STEP_SETTINGS
from tallyform.tallyfy.read import read_org
from tests.client_helpers import client_for
from tests.conftest import project_templates

NEW = "hide_from_guests"
TEMPLATE = """\
key: visit
title: Site visit
steps:
  - key: book
    title: Book the visit
    hide_from_guests: {value}
  - key: report
    title: Write the report
"""


@pytest.fixture
def taught(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # 1. the schema: template files may say it
    step_properties = schema.load_schema("template")["properties"]["steps"]["items"]
    monkeypatch.setitem(step_properties["properties"], NEW, {"type": "boolean"})
    schema._validator.cache_clear()
    schema._valid.cache_clear()
    # 2. the model: a setting of a step, and its default
    monkeypatch.setitem(STEP_SETTINGS, NEW, False)
    # 3. the wire mapping: none, Tallyfy calls it as the YAML does.
    # Tallyfy's side: the emulator knows the attribute.
    monkeypatch.setattr(steps, "_STEP_KEYS", steps._STEP_KEYS | {NEW})
    monkeypatch.setitem(steps._STEP_DEFAULTS, NEW, False)
    yield
    schema._validator.cache_clear()
    schema._valid.cache_clear()


def project(root: Path, value: str) -> Path:
    (root / "templates").mkdir(parents=True, exist_ok=True)
    (root / "tallyform.yaml").write_text(
        "version: 1\ntemplates: templates\ndefault_org: local\norgs:\n  local:\n"
        "    emulator: .tallyform/org.json\n"
    )
    (root / "templates" / "visit.yaml").write_text(TEMPLATE.format(value=value))
    return root


def test_a_new_step_attribute_takes_three_places(taught: None, tmp_path: Path) -> None:
    emulator = Emulator()
    with client_for(emulator) as client:
        on = project_templates(project(tmp_path, "true"))
        first = make_plan(client, "new", on)
        assert first.plan is not None
        assert not apply_plan(client, first.plan).failed
        live = [s for t in emulator.state["checklists"].values() for s in t["steps"]]
        assert [s[NEW] for s in live] == [True, False], "sent to Tallyfy"
        again = make_plan(client, "new", on)
        assert again.plan is not None and again.plan.empty, "read back and compared"
        exported = export_org(client, read_org(client), {t.key: t for t in on})
        [document] = [e.document for e in exported.templates]
        assert document["steps"][0][NEW] is True, "written back to a file by export"
        assert NEW not in document["steps"][1], "a default is left out of the file"

        off = project_templates(project(tmp_path, "false"))
        changed = make_plan(client, "new", off)
        assert changed.plan is not None
        [change] = changed.plan.changes
        assert (change.name, [(a.name, a.old, a.new) for a in change.attributes]) == (
            "visit/book",
            [(NEW, True, False)],
        )
        assert not apply_plan(client, changed.plan).failed
        final = make_plan(client, "new", off)
        assert final.plan is not None and final.plan.empty
