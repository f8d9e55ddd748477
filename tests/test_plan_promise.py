"""A plan is a promise: for each kind of change, apply sends exactly the writes the plan lists.

Each case applies the examples, makes one edit to a template file, plans, applies, and
counts the writes in the emulator's request log: they equal the plan's ``writes`` and
what the case expects, apply's counts equal the plan's, and a second plan is empty.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tallyform.client import StaticToken, TallyfyClient
from tallyform.config import find_config, load_project, load_templates
from tallyform.emulator import (
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorTransport,
    Quirks,
)
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.model import Template
from tests.conftest import EXAMPLES, PROJECT_YAML, run_cli

# The purchase-request example's summary line, as written.
SUMMARY_LINE = "summary: Ask to buy something; a manager approves any purchase of 100 USD or more."

Edit = Callable[[Path], None]


class Org:
    """The examples applied to an in-process emulator, with the repository to edit."""

    def __init__(self, root: Path, quirks: Quirks | None = None) -> None:
        self.root = root
        self.emulator = Emulator(quirks=quirks)
        self.client = TallyfyClient(
            org_id=self.emulator.org_id,
            base_url=IN_PROCESS_URL,
            transport=EmulatorTransport(self.emulator),
            credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        )

    def templates(self) -> list[Template]:
        project, _ = load_project(find_config(self.root))
        assert project is not None
        templates, problems = load_templates(project)
        assert not problems, problems
        return templates

    def apply(self) -> tuple[list[tuple[str, str, str]], int, list[str]]:
        """Plan and apply; returns (kind, action, path) of each change, the writes planned
        and the writes sent (method and path, from the emulator's log)."""
        result = make_plan(self.client, "local", self.templates())
        assert result.plan is not None and result.org is not None
        before = len(self.emulator.requests)
        report = apply_plan(self.client, result.plan)
        assert not report.failed and not report.not_done, [o.error for o in report.failed]
        assert report.counts() == result.plan.summary()
        writes = [r for r in self.emulator.requests[before:] if r["method"] != "GET"]
        assert [r["path"] for r in writes if holds_null(r.get("body"))] == [], "no nulls sent"
        sent = [f"{r['method']} {r['path']}" for r in writes]
        changes = [(c.kind, c.action, c.name) for c in result.plan.changes]
        return changes, result.plan.writes, sent

    def assert_converged(self) -> None:
        again = make_plan(self.client, "local", self.templates())
        assert again.plan is not None
        assert again.plan.empty, [(c.name, c.action, c.attributes) for c in again.plan.changes]


def holds_null(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(holds_null(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_null(v) for v in value)
    return False


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    applied = Org(root)
    applied.apply()
    yield applied
    applied.client.close()


def replace(name: str, old: str, new: str) -> Edit:
    def edit(root: Path) -> None:
        path = root / "templates" / name
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))

    return edit


def remove_file(name: str) -> Edit:
    return lambda root: (root / "templates" / name).unlink()


def both(*edits: Edit) -> Edit:
    def edit(root: Path) -> None:
        for one in edits:
            one(root)

    return edit


PR = "purchase-request.yaml"
IR = "incident-response.yaml"
CASES: list[tuple[str, Edit, list[tuple[str, str]], int]] = [
    (
        "template update",
        replace(PR, "summary: Ask to buy something", "summary: Request to buy something"),
        [("template", "update")],
        1,
    ),
    (
        "template summary cleared (sent as an empty string, never null)",
        replace(PR, SUMMARY_LINE + "\n", ""),
        [("template", "update")],
        1,
    ),
    (
        "template moved to a new folder",
        replace(PR, "folder: Finance/Purchasing", "folder: Finance/Buying"),
        [("folder", "create"), ("template", "update")],
        2,
    ),
    (
        "tag attached (the tag exists)",
        replace(PR, "tags: [finance]", "tags: [finance, hr]"),
        [("tagging", "create")],
        1,
    ),
    (
        "tag attached (a new tag)",
        replace(PR, "tags: [finance]", "tags: [finance, capex]"),
        [("tag", "create"), ("tagging", "create")],
        2,
    ),
    ("tag detached", replace(PR, "tags: [finance]", "tags: []"), [("tagging", "delete")], 1),
    (
        "kick-off field created",
        replace(
            PR,
            "kickoff:\n",
            "kickoff:\n  - key: budget-code\n    label: Budget code\n    type: text\n",
        ),
        [("kickoff", "create"), ("kickoff", "reorder")],
        3,  # the template PUT that adds it and sets the order, its key, the template's map
    ),
    (
        "kick-off field updated",
        replace(PR, "label: Needed by", "label: Needed on"),
        [("kickoff", "update")],
        1,
    ),
    (
        "step created",
        replace(
            IR,
            "  - key: postmortem\n",
            "  - key: tell-customers\n    title: Tell customers\n  - key: postmortem\n",
        ),
        [("step", "create"), ("step", "reorder")],
        4,  # create, its key, one move into place, the template's map of its children
    ),
    (
        "step created whose deadline counts from a step created after it",
        replace(
            IR,
            "tags: [engineering, incidents]\n",
            "  - key: review\n    title: Review the postmortem\n"
            "    deadline: {value: 2, unit: days, step: close}\n"
            "  - key: close\n    title: Close the incident\n"
            "tags: [engineering, incidents]\n",
        ),
        [("step", "create"), ("step", "create")],
        6,  # each made and keyed, the first's deadline once the second exists, the map
    ),
    (
        "step updated",
        replace("content-review.yaml", "title: Write the draft", "title: Draft it"),
        [("step", "update")],
        1,
    ),
    (
        "field updated",
        replace(PR, "label: Vendor", "label: Supplier"),
        [("field", "update")],
        1,
    ),
    (
        "rule updated",
        replace(PR, "is: less_than, value: 100", "is: less_than, value: 250"),
        [("rule", "update")],
        2,  # deleted and made anew: a rule PUT may append (audit W17)
    ),
    (
        "field created, last in its step",
        replace(
            PR,
            "        label: Purchase order number\n        type: text\n        required: true\n",
            "        label: Purchase order number\n        type: text\n        required: true\n"
            "      - key: receipt\n        label: Receipt\n        type: file\n",
        ),
        [("field", "create")],
        3,  # created at its position, its key, then the template's map of its children
    ),
    (
        "field deleted",
        replace(
            PR, "      - key: quote\n        label: Quote or invoice\n        type: file\n", ""
        ),
        [("field", "delete")],
        1,
    ),
    (
        "rule created",
        replace(
            PR,
            "rules:\n",
            "rules:\n  - name: Urgent orders\n    when: [{field: needed-by, is: is_empty}]\n"
            "    then: [{show: finance-review}]\n",
        ),
        [("rule", "create")],
        1,
    ),
    (
        "rule deleted",
        replace(
            PR,
            "  - name: Software goes to IT too\n"
            "    when: [{field: category, is: equals, value: Software}]\n"
            "    then: [{assign: place-order, assignees: {groups: [IT]}}]\n",
            "",
        ),
        [("rule", "delete")],
        1,
    ),
    (
        "step deleted",
        replace(
            PR,
            "  - key: finance-review\n    title: Finance review\n    type: approval\n"
            "    assignees: {groups: [Finance]}\n",
            "",
        ),
        [("step", "delete")],
        1,
    ),
    (
        "kick-off field deleted",
        replace(
            PR,
            "  - key: needed-by\n    label: Needed by\n    type: date\n",
            "",
        ),
        [("kickoff", "delete")],
        1,
    ),
    (
        "kick-off fields reordered",
        both(
            replace(PR, "  - key: needed-by\n    label: Needed by\n    type: date\n", ""),
            replace(
                PR,
                "kickoff:\n  - key: amount\n",
                "kickoff:\n  - key: needed-by\n    label: Needed by\n    type: date\n"
                "  - key: amount\n",
            ),
        ),
        [("kickoff", "reorder")],
        1,  # the template PUT carries the order
    ),
    (
        "form fields reordered",
        replace(
            PR,
            "      - key: vendor\n        label: Vendor\n        type: text\n        required: true\n"
            "      - key: category\n        label: Category\n        type: dropdown\n"
            "        required: true\n        options: [Hardware, Software, Services]\n",
            "      - key: category\n        label: Category\n        type: dropdown\n"
            "        required: true\n        options: [Hardware, Software, Services]\n"
            "      - key: vendor\n        label: Vendor\n        type: text\n        required: true\n",
        ),
        [("field", "reorder")],
        1,
    ),
    (
        "template archived",
        remove_file("content-review.yaml"),
        [("template", "archive")],
        1,
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected", "writes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_one_change_costs_exactly_the_writes_the_plan_lists(
    org: Org, edit: Edit, expected: list[tuple[str, str]], writes: int
) -> None:
    edit(org.root)
    changes, planned, sent = org.apply()
    assert [(kind, action) for kind, action, _ in changes] == expected
    assert planned == writes
    assert len(sent) == planned, sent
    org.assert_converged()


def test_a_field_moved_to_another_step_is_one_move(org: Org) -> None:
    path = org.root / "templates" / IR
    text = path.read_text()
    block = "      - key: root-cause\n        label: Root cause\n        type: textarea\n        required: true\n"
    assert "    fields:\n" + block in text
    text = text.replace("    fields:\n" + block, "")
    anchor = "        type: assignees_form\n        required: true\n"
    text = text.replace(anchor, anchor + block, 1)
    path.write_text(text)
    changes, planned, sent = org.apply()
    moves = [c for c in changes if c[1] == "move"]
    assert moves == [("field", "move", "incident-response/root-cause")]
    assert len(sent) == planned
    assert any(line.endswith("/move-out") for line in sent)
    org.assert_converged()


def test_deletes_and_reorders_cost_what_the_plan_lists(org: Org) -> None:
    path = org.root / "templates" / IR
    text = path.read_text()
    resolve = text[text.index("  - key: resolve") : text.index("  - key: postmortem")]
    text = text.replace(resolve, "").replace("  - key: triage", resolve + "  - key: triage")
    text = text.replace(
        "  - key: description\n    label: What is happening?\n    type: textarea\n    required: true\n",
        "",
    )
    path.write_text(text)
    changes, planned, sent = org.apply()
    kinds = {(kind, action) for kind, action, _ in changes}
    assert {("step", "reorder"), ("kickoff", "delete")} <= kinds
    assert len(sent) == planned, sent
    org.assert_converged()


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_a_returning_template_is_restored_with_its_ids(tmp_path: Path, strict: bool) -> None:
    """Under strict the archived list shows no keys: the template of the same title is it."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    org = Org(root, Quirks.strict() if strict else None)
    org.apply()
    saved = (org.root / "templates" / "content-review.yaml").read_text()
    remove_file("content-review.yaml")(org.root)
    org.apply()
    archived = [t for t in org.emulator.state["checklists"].values() if t["archived_at"]]
    assert [t["title"] for t in archived] == ["Content review"]
    (org.root / "templates" / "content-review.yaml").write_text(saved)
    changes, planned, sent = org.apply()
    assert changes == [("template", "restore", "content-review")]
    assert planned == len(sent) == 1 and sent[0].endswith(f"{archived[0]['id']}/restore")
    org.assert_converged()
    live = [t for t in org.emulator.state["checklists"].values() if t["title"] == "Content review"]
    assert len(live) == 1 and live[0]["archived_at"] is None, "restored, not made again"


def test_a_new_type_refused_in_place_replaces_the_field_and_its_rules_follow(
    tmp_path: Path,
) -> None:
    """Tallyfy may refuse to change a field's type in place (the emulator's strict answer):
    the field is made anew, the rules that name it are pointed at it, the old one goes."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    org = Org(root, Quirks.strict())
    org.apply()
    replace(IR, "    type: radio\n", "    type: dropdown\n")(root)  # severity, used by a rule
    replace(PR, "        type: dropdown\n", "        type: radio\n")(root)  # category, too
    changes, _, sent = org.apply()
    assert {(kind, action) for kind, action, _ in changes} == {
        ("kickoff", "update"),
        ("field", "update"),
    }
    assert sum(1 for line in sent if "/automated-actions/" in line) >= 2, "rules re-pointed"
    org.assert_converged()
    template = next(
        t for t in org.emulator.state["checklists"].values() if t["title"] == "Incident response"
    )
    assert [p["field_type"] for p in template["prerun"] if p["label"] == "Severity"] == ["dropdown"]


def test_a_type_change_says_what_it_costs_if_refused_in_place(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    org = Org(root)
    org.apply()
    replace(PR, "        type: dropdown\n", "        type: radio\n")(root)
    relabelled = "        label: Vendor\n"
    replace(PR, relabelled, "        label: Supplier\n")(root)
    result = make_plan(org.client, "local", org.templates())
    assert result.plan is not None
    notes = {c.path[-1]: c.note for c in result.plan.changes}
    assert notes["category"] is not None and "replaces the field" in notes["category"]
    assert notes["vendor"] is None, "a change that keeps the type has no such note"


def test_a_refused_applies_to_names_whose_value_it_was(project: Callable[..., Path]) -> None:
    config = PROJECT_YAML + "    applies_to: {field: form_field}\n"
    root = project({"a.yaml": "title: A\nsteps:\n  - title: S\n"}, config=config)
    result = run_cli("-C", str(root), "apply", "--yes")
    assert result.exit_code == 1
    assert "applies_to 'form_field'" in result.output
    assert "'form_field' is the value tallyform.yaml sets for this org" in result.output
    assert "No template was changed." in result.output and "guess" not in result.output
