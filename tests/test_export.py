"""``tallyform export``: a live org becomes files that validate, are canonical and plan as nothing.

The hand-made org is filled through the raw API, as someone clicking in the Tallyfy UI
would fill it (no tallyform keys anywhere): every field type and step type, folders
nested three deep, tags, rules, and two templates with one title. Exporting it must give
files that `validate` accepts, that `fmt --check` leaves alone, and that `plan` finds
nothing to change for, default and strict emulator alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyform.emulator import Emulator, Quirks
from tallyform.emulator.validation import CHOICE_TYPES, FIELD_TYPES, STEP_TYPES
from tests.conftest import EXAMPLES, PROJECT_YAML, run_cli
from tests.emulator_helpers import connect, data, new_capture, new_step, new_template

STATE = ".tallyform/local-org.json"


def _folder(api: httpx.Client, name: str, parent: str | None = None) -> str:
    body: dict[str, Any] = {"name": name, "folder_type": "checklist"}
    if parent:
        body["parent_id"] = parent
    found: dict[str, Any] = data(api.post("/folders", json=body), 201)
    return str(found["id"])


def _tag(api: httpx.Client, title: str) -> str:
    return str(data(api.post("/tags", json={"title": title}), 201)["id"])


def _attach(api: httpx.Client, tag_id: str, template_id: str) -> None:
    body = {
        "tag_id": tag_id,
        "subject_id": template_id,
        "subject_type": "Checklist",
        "tag_type": "private",
    }
    assert api.post("/checklists/tags", json=body).status_code in (200, 201)


def _capture_body(kind: str, number: int) -> dict[str, Any]:
    body: dict[str, Any] = {"label": f"{kind.title()} field", "field_type": kind}
    if kind in CHOICE_TYPES:
        body["options"] = [{"id": 1, "text": "Yes"}, {"id": 2, "text": "No"}]
    if kind == "table":
        body["columns"] = [{"id": 1, "label": "Item"}, {"id": 2, "label": "Cost"}]
    body["required"] = number % 2 == 0
    return body


def fill_by_hand(emulator: Emulator) -> None:
    """An org made in the Tallyfy UI: no tallyform keys, every type, nested folders."""
    with connect(emulator, "in_process") as api:
        operations = _folder(api, "Operations")
        field_work = _folder(api, "Field work", operations)
        inspections = _folder(api, "Inspections", field_work)
        safety, quarterly = _tag(api, "safety"), _tag(api, "quarterly")
        template = new_template(
            api,
            title="Site inspection",
            summary="Walk the site and record what you find.",
            folder_id=inspections,
            users=[1],
            groups=[],
        )
        template_id = template["id"]
        kickoff = [
            {"label": "Site", "field_type": "text", "required": True},
            {
                "label": "Kind of visit",
                "field_type": "dropdown",
                "required": False,
                "options": [{"id": 1, "text": "Routine"}, {"id": 2, "text": "Incident"}],
            },
        ]
        update = {"title": template["title"], "type": "procedure", "users": [1], "groups": []}
        data(api.put(f"/checklists/{template_id}", json={**update, "prerun": kickoff}))
        steps = []
        for number, kind in enumerate(STEP_TYPES):
            body: dict[str, Any] = {"title": f"{kind.title()} step", "step_type": kind}
            if number == 0:
                body.update(assignees=[2, 3], groups=[], guests=["visitor@example.org"])
                body["deadline"] = {"value": 2, "unit": "days", "option": "from"}
            if number == 1:
                body["groups"] = [data(api.get("/groups"))[0]["id"]]
            steps.append(new_step(api, template_id, **body))
        captures = [
            new_capture(api, template_id, steps[0]["id"], **_capture_body(kind, number))
            for number, kind in enumerate(FIELD_TYPES)
        ]
        rule = {
            "automated_alias": "Skip approval when all is well",
            "conditions": [
                {
                    "conditionable_id": captures[FIELD_TYPES.index("radio")]["id"],
                    "conditionable_type": "Capture",
                    "operation": "equals",
                    "statement": "Yes",
                    "logic": "and",
                }
            ],
            "then_actions": [
                {
                    "action_type": "visibility",
                    "action_verb": "hide",
                    "target_step_id": steps[1]["id"],
                },
                {
                    "action_type": "deadline",
                    "action_verb": "deadline",
                    "target_step_id": steps[2]["id"],
                    "deadline": {"value": 4, "unit": "hours", "option": "from"},
                },
            ],
        }
        data(api.post(f"/checklists/{template_id}/automated-actions", json=rule), 201)
        _attach(api, safety, template_id)
        _attach(api, quarterly, template_id)
        twin = new_template(api, title="Site inspection", type="form")
        new_step(api, twin["id"], title="Only step")
        new_template(api, title="Budget review", type="document", folder_id=operations)


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    def make(quirks: Quirks | None = None) -> Path:
        (tmp_path / "templates").mkdir()
        (tmp_path / "tallyform.yaml").write_text(
            PROJECT_YAML.replace("emulator: .tallyform/local-org.json", f"emulator: {STATE}")
        )
        fill_by_hand(Emulator(state_file=tmp_path / STATE, quirks=quirks))
        return tmp_path

    return make


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root / "templates")): p.read_text()
        for p in sorted((root / "templates").rglob("*.yaml"))
    }


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_a_hand_made_org_exports_to_files_that_plan_as_nothing(
    project: Callable[..., Path], strict: bool
) -> None:
    root = project(Quirks.strict() if strict else None)
    exported = run_cli("-C", str(root), "export")
    assert exported.exit_code == 0, exported.output
    files = _files(root)
    # Keys come from titles, made unique: which twin is "-2" follows the API's list order.
    twins = sorted(name for name in files if name.endswith(("site-inspection.yaml", "-2.yaml")))
    assert {Path(name).name for name in twins} == {"site-inspection.yaml", "site-inspection-2.yaml"}
    inspected = next(name for name in files if name.startswith("operations/field-work/"))
    assert Path(inspected).parent.as_posix() == "operations/field-work/inspections"
    assert "operations/budget-review.yaml" in files and len(files) == 3
    assert run_cli("-C", str(root), "validate").exit_code == 0
    assert run_cli("-C", str(root), "fmt", "--check").exit_code == 0
    plan = run_cli("-C", str(root), "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert "No changes." in plan.stdout
    inspection = files[inspected]
    for expected in (
        "folder: Operations/Field work/Inspections",
        "tags: [quarterly, safety]",
        "users: [bob@example.com, carol@example.com]",
        "guests: [visitor@example.org]",
        "access: {users: [alice@example.com]}",
        "when: [{field: radio-field, is: equals, value: 'Yes'}]",
        "- name: Skip approval when all is well",
        "{deadline: expiring-step, value: 4, unit: hours, option: from}",
        "columns: [Item, Cost]",
    ):
        assert expected in inspection, inspection
    for kind in FIELD_TYPES:
        assert f"type: {kind}\n" in inspection
    for kind in STEP_TYPES[1:]:
        assert f"type: {kind}\n" in inspection


def test_export_adopts_what_it_wrote(project: Callable[..., Path]) -> None:
    root = project()
    exported = run_cli("-C", str(root), "export")
    assert "Adopted" in exported.stdout and "wrote their tallyform keys" in exported.stdout
    state = Emulator(state_file=root / STATE).state
    keys = [t["custom_fields"].get("tallyform_key") for t in state["checklists"].values()]
    assert sorted(keys) == ["budget-review", "site-inspection", "site-inspection-2"]
    again = run_cli("-C", str(root), "export")
    assert again.exit_code == 0
    assert "Every exported object already carries its tallyform key." in again.stdout
    assert "3 unchanged" in again.stdout


def test_dry_run_changes_nothing(project: Callable[..., Path]) -> None:
    root = project()
    before = (root / STATE).read_text()
    result = run_cli("-C", str(root), "export", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would adopt" in result.stdout and "Would export 3 template(s)" in result.stdout
    assert _files(root) == {}
    assert (root / STATE).read_text() == before


def test_a_file_that_differs_is_kept_without_force(project: Callable[..., Path]) -> None:
    root = project()
    assert run_cli("-C", str(root), "export").exit_code == 0
    edited = next(p for p in (root / "templates").glob("site-inspection*.yaml"))
    edited.write_text(edited.read_text().replace("title: Only step", "title: Edited here"))
    kept = run_cli("-C", str(root), "export")
    assert kept.exit_code == 1
    assert f"{edited.name} differs from the org; left as it is" in kept.output
    assert "export again with --force" in kept.output
    assert "Edited here" in edited.read_text()
    forced = run_cli("-C", str(root), "export", "--force")
    assert forced.exit_code == 0, forced.output
    assert "Edited here" not in edited.read_text()


def test_only_exports_the_matching_templates(project: Callable[..., Path]) -> None:
    root = project()
    result = run_cli("-C", str(root), "export", "--only", "budget-*")
    assert result.exit_code == 0, result.output
    assert list(_files(root)) == ["operations/budget-review.yaml"]
    nothing = run_cli("-C", str(root), "export", "--only", "nothing-*")
    assert "has no templates matching nothing-* to export" in nothing.stdout


def test_an_existing_file_keeps_its_place_and_key(tmp_path: Path) -> None:
    """Exporting the org a repository was applied to rewrites that repository's own files."""
    root = tmp_path / "repo"
    (root / "templates" / "finance").mkdir(parents=True)
    (root / "tallyform.yaml").write_text(PROJECT_YAML)
    source = (EXAMPLES / "templates" / "purchase-request.yaml").read_text()
    (root / "templates" / "finance" / "pr.yaml").write_text(source)
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    result = run_cli("-C", str(root), "export", "--force")
    assert result.exit_code == 0, result.output
    assert list(_files(root)) == ["finance/pr.yaml"]
    plan = run_cli("-C", str(root), "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_the_examples_survive_apply_then_export(tmp_path: Path) -> None:
    applied = tmp_path / "applied"
    (applied / "templates").mkdir(parents=True)
    (applied / "tallyform.yaml").write_text(PROJECT_YAML)
    for path in (EXAMPLES / "templates").glob("*.yaml"):
        (applied / "templates" / path.name).write_text(path.read_text())
    assert run_cli("-C", str(applied), "apply", "--yes").exit_code == 0
    fresh = tmp_path / "fresh"
    (fresh / "templates").mkdir(parents=True)
    (fresh / "tallyform.yaml").write_text(PROJECT_YAML)
    (fresh / ".tallyform").mkdir()
    (fresh / STATE).write_text((applied / STATE).read_text())
    result = run_cli("-C", str(fresh), "export")
    assert result.exit_code == 0, result.output
    assert len(_files(fresh)) == 6
    assert "people/onboarding/employee-onboarding.yaml" in _files(fresh)
    plan = run_cli("-C", str(fresh), "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


WEBHOOKS = """\
key: wh
title: Webhooks
webhook: https://hooks.example.com/template
steps:
  - key: a
    title: A
    webhook: https://hooks.example.com/step
    fields:
      - {key: ok, label: OK, type: radio, options: ['Yes', 'No']}
  - key: b
    title: B
rules:
  - name: Tell the ERP
    when: [{field: ok, is: equals, value: 'Yes'}]
    then:
      - {webhook: b, url: "https://erp.example.com/in"}
      - {webhook: a, url: "https://other.example.com/in", name: Other}
"""


def test_webhooks_are_sent_as_tallyfy_takes_them_and_export_back(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "templates").mkdir(parents=True)
    (root / "tallyform.yaml").write_text(PROJECT_YAML)
    (root / "templates" / "wh.yaml").write_text(WEBHOOKS)
    assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
    (template,) = Emulator(state_file=root / STATE).state["checklists"].values()
    assert template["webhook"] == "https://hooks.example.com/template"
    assert template["steps"][0]["webhook"] == "https://hooks.example.com/step"
    (rule,) = template["automated_actions"]
    sent = [
        (a["action_type"], a["action_verb"], a["webhook_url"], a["alias_name"])
        for a in rule["then_actions"]
    ]
    assert sent == [
        ("webhook", "emit_webhook", "https://erp.example.com/in", "Tell the ERP"),
        ("webhook", "emit_webhook", "https://other.example.com/in", "Other"),
    ]
    (root / "templates" / "wh.yaml").unlink()
    exported = run_cli("-C", str(root), "export")
    assert exported.exit_code == 0, exported.output
    text = (root / "templates" / "wh.yaml").read_text()
    assert "url: https://erp.example.com/in" in text and "name: Other" in text
    assert "name: Tell the ERP\n" in text and text.count("name:") == 2
    assert run_cli("-C", str(root), "plan", "--detailed-exitcode").exit_code == 0


def test_a_folder_whose_name_holds_a_slash_leaves_out_its_templates_alone(
    project: Callable[..., Path],
) -> None:
    """A folder path cannot name it: its template is left out with a warning, the rest of
    the org is exported, and a plan after shows nothing to change."""
    root = project()
    emulator = Emulator(state_file=root / STATE)
    with connect(emulator, "in_process") as api:
        legal = _folder(api, "Legal/Compliance")
        nested = _folder(api, "Audits", legal)
        new_template(api, title="Yearly audit", folder_id=nested)
    result = run_cli("-C", str(root), "export")
    assert result.exit_code == 0, result.output
    assert (
        "Warning: template 'Yearly audit' (yearly-audit) was not exported: it is in the folder "
        "'Legal/Compliance', and a folder path cannot name a folder whose name holds '/'. "
        "Rename that folder in Tallyfy, then export again."
    ) in " ".join(result.output.split()), result.output
    assert len(_files(root)) == 3 and not any("audit" in name for name in _files(root))
    plan = run_cli("-C", str(root), "plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_two_live_folders_of_one_path_are_reported_with_their_ids(examples_copy: Path) -> None:
    from tests.project_helpers import apply, live_api

    apply(examples_copy)
    with live_api(examples_copy) as api:
        rows = api.get("/folders", params={"per_page": 100}).json()["data"]
        (finance,) = [f["id"] for f in rows if f["name"] == "Finance" and not f["parent_id"]]
        twin = _folder(api, "Finance")
    result = run_cli("-C", str(examples_copy), "plan", "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert any(
        f"Warning: the org has 2 folders 'Finance' (ids {first}, {second}): templates with "
        f"`folder: Finance` go to the first, {first}; merge them or rename one in Tallyfy" in said
        for first, second in [(finance, twin), (twin, finance)]
    ), result.output
    document = json.loads(run_cli("-C", str(examples_copy), "plan", "--format", "json").stdout)
    assert any(twin in warning for warning in document["warnings"])


def test_the_applied_examples_export_as_the_same_templates(examples_copy: Path) -> None:
    """Files that write a default out (`everyone_must_complete: false`) or give a
    one-condition rule `match: any` mean what the org holds: export leaves them and exits 0."""
    assert run_cli("-C", str(examples_copy), "apply", "--yes").exit_code == 0
    result = run_cli("-C", str(examples_copy), "export", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "6 unchanged" in result.output
    assert "written in another form" in result.output
