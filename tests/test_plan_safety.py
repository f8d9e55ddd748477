"""What keeps plan and apply safe, through the real CLI and the embedded emulator: key
conflicts, saved plans bound to their org and to the org's state, the org's apply lock,
element-level changes in plans and the delete safety share."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tallyform.emulator.store import StateFile
from tallyform.tallyfy.lock import LOCK_TITLE
from tests.conftest import run_cli
from tests.project_helpers import apply, assert_no_changes, edit, live_api, org_api, plan_json

TWO_ORGS = """\
version: 1
templates: templates
default_org: sandbox
orgs:
  sandbox:
    emulator: .tallyform/sandbox.json
  production:
    emulator: .tallyform/production.json
"""

CLAIM = """\
key: claim
title: Expense claim
steps:
  - key: submit
    title: Submit the claim
    fields:
      - key: receipts
        label: Receipts
        type: file
"""

THREE = {"content-review", "customer-onboarding", "employee-onboarding"}
VOLATILE = ("counters", "token_expiry")  # bookkeeping that a lock taken and released moves


# -- helpers ------------------------------------------------------------------------------------


def state_file(root: Path, name: str = "local-org") -> Path:
    return root / ".tallyform" / f"{name}.json"


def org_contents(path: Path) -> dict[str, Any]:
    """The emulator's state without the bookkeeping that moves when nothing changes."""
    data = StateFile(path).load()
    assert data is not None
    return {k: v for k, v in data.items() if k not in VOLATILE}


def cli(root: Path, *args: str) -> tuple[int, str]:
    """Run tallyform in ``root``; its exit code and everything it printed."""
    result = run_cli("-C", str(root), *args)
    return result.exit_code, result.output


def template_id(api: httpx.Client, title: str) -> str:
    rows = api.get("/checklists", params={"per_page": 100}).json()["data"]
    return str(next(t["id"] for t in rows if t["title"] == title))


def tag_titles(api: httpx.Client) -> list[str]:
    return [t["title"] for t in api.get("/tags", params={"per_page": 100}).json()["data"]]


def copy_with_key(api: httpx.Client, title: str, key: str) -> str:
    """A second live template carrying ``key``, as a copy made in the Tallyfy UI would."""
    created = api.post("/checklists", json={"title": title, "type": "procedure"})
    assert created.status_code in (200, 201), created.text
    copy_id = str(created.json()["data"]["id"])
    put = api.put(
        f"/checklists/{copy_id}/custom-fields", json={"custom_fields": {"tallyform_key": key}}
    )
    assert put.status_code == 200, put.text
    return copy_id


def take_lock(api: httpx.Client, color: str = "#000000") -> str:
    created = api.post("/tags", json={"title": LOCK_TITLE, "color": color})
    assert created.status_code in (200, 201), created.text
    return str(created.json()["data"]["id"])


def change_of(document: dict[str, Any], path: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [c for c in document["changes"] if c["path"] == path]
    [change] = found
    return change


def attribute(change: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [a for a in change["changes"] if a["field"] == name]
    [attr] = found
    return attr


def damaged(root: Path) -> set[str]:
    """The templates whose plan deletes a step or field."""
    changes = plan_json(root)["changes"]
    return {c["path"].split("/")[0] for c in changes if c["action"] == "delete"}


def drop_steps(root: Path) -> None:
    """Delete one unreferenced step from each of three of the six example templates."""
    templates = root / "templates"
    edit(
        templates / "content-review.yaml",
        "  - key: legal\n    title: Legal review\n    type: approval\n    assignees: {groups: [Legal]}\n",
        "",
    )
    text = (templates / "customer-onboarding.yaml").read_text()
    training = text[text.index("  - key: training") : text.index("  - key: handover")]
    edit(templates / "customer-onboarding.yaml", training, "")
    text = (templates / "employee-onboarding.yaml").read_text()
    welcome = text[text.index("  - key: welcome-email") : text.index("  - key: first-week")]
    edit(templates / "employee-onboarding.yaml", welcome, "")


# -- 1. key conflicts ---------------------------------------------------------------------------


def test_a_copied_key_is_a_conflict_that_stops_plan_and_apply(examples_copy: Path) -> None:
    apply(examples_copy)
    with live_api(examples_copy) as api:
        original = template_id(api, "Purchase request")
        copy = copy_with_key(api, "Purchase request (copy)", "purchase-request")
    code, output = cli(examples_copy, "plan")
    assert code == 1, output
    assert original in output and copy in output
    assert "clear their tallyform_key" in output
    result = run_cli("-C", str(examples_copy), "plan", "--format", "json")
    assert result.exit_code == 1
    [conflict] = json.loads(result.stdout)["conflicts"]
    assert conflict["key"] == "purchase-request" and conflict["what"] == "templates"
    assert set(conflict["ids"]) == {original, copy}
    before = org_contents(state_file(examples_copy))
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 1, output
    assert "clear their tallyform_key" in output and "Nothing was changed" in output
    assert org_contents(state_file(examples_copy)) == before


# -- 2. saved plans name their org --------------------------------------------------------------


def test_a_saved_plan_applies_only_to_its_own_org(project: Any) -> None:
    root: Path = project({"claim.yaml": CLAIM}, config=TWO_ORGS)
    production = state_file(root, "production")
    with org_api(production) as api:
        api.post("/tags", json={"title": "production-only"})  # production has a state to keep
    before = org_contents(production)
    saved = root / "p.json"
    code, output = cli(root, "plan", "--out", str(saved))
    assert code == 0, output
    code, output = cli(root, "apply", str(saved), "--org", "production")
    assert code == 1
    assert "made for org 'sandbox'" in output
    assert org_contents(production) == before
    code, output = cli(root, "apply", str(saved))
    assert code == 0, output
    assert_no_changes(root)
    assert "Expense claim" in state_file(root, "sandbox").read_text()
    assert org_contents(production) == before


def test_a_saved_plan_is_the_changes_and_its_org_never_a_token(project: Any) -> None:
    root: Path = project({"claim.yaml": CLAIM}, config=TWO_ORGS)
    saved = root / "p.json"
    assert cli(root, "plan", "--out", str(saved))[0] == 0
    text = saved.read_text()
    assert "emulator-admin-token" not in text
    record = json.loads(text)
    assert record["org"] == "sandbox" and record["org_id"]
    assert record["changes"], "a bootstrap plan has changes"
    for change in record["changes"]:
        assert {"path", "kind", "action", "writes"} <= set(change), change
    shown = plan_json(root)["changes"]
    assert [(c["path"], c["kind"], c["action"], c["writes"]) for c in record["changes"]] == [
        (c["path"], c["kind"], c["action"], c["writes"]) for c in shown
    ], "the saved changes are the plan's changes, in the plan's order"
    paths = {(c["path"], c["action"]) for c in record["changes"]}
    assert ("claim", "create") in paths and ("claim/receipts", "create") in paths


# -- 3. a plan saved before another apply ---------------------------------------------------------


def test_a_plan_saved_before_another_apply_is_stale(examples_copy: Path) -> None:
    apply(examples_copy)
    template = examples_copy / "templates/purchase-request.yaml"
    edit(template, "label: Vendor", "label: Supplier")
    saved = examples_copy / "plan.json"
    assert cli(examples_copy, "plan", "--out", str(saved))[0] == 0
    edit(template, "label: Supplier", "label: Seller")
    apply(examples_copy)
    before = org_contents(state_file(examples_copy))
    code, output = cli(examples_copy, "apply", str(saved))
    assert code == 1, output
    assert "stale" in output and "purchase-request changed in the org" in output
    assert org_contents(state_file(examples_copy)) == before
    assert_no_changes(examples_copy)


# -- 4. the org's apply lock ------------------------------------------------------------------------


def test_a_held_lock_stops_apply_until_it_is_broken(examples_copy: Path) -> None:
    apply(examples_copy)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Vendor", "label: Supplier")
    with live_api(examples_copy) as api:
        take_lock(api)
    before = org_contents(state_file(examples_copy))
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 1, output
    assert "another tallyform apply" in output
    assert org_contents(state_file(examples_copy)) == before
    code, output = cli(examples_copy, "apply", "--yes", "--break-lock")
    assert code == 0, output
    assert_no_changes(examples_copy)
    with live_api(examples_copy) as api:
        assert LOCK_TITLE not in tag_titles(api)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_lock_left_by_a_killed_apply_on_this_machine_is_removed(examples_copy: Path) -> None:
    """The killed apply noted its lock tag's mark here first; the next apply matches it."""
    apply(examples_copy)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Vendor", "label: Supplier")
    records = examples_copy / ".tallyform/locks/local"
    records.mkdir(parents=True, exist_ok=True)
    dead = _dead_pid()
    with live_api(examples_copy) as api:
        take_lock(api, color="#123456")
    (records / f"{dead}.lock").write_text(f"{socket.gethostname()} {dead} #123456\n")
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 0, output
    assert "ran on this machine and is no longer running" in output
    assert_no_changes(examples_copy)
    assert list(records.iterdir()) == []


def test_another_machines_lock_is_never_taken_for_a_dead_apply(examples_copy: Path) -> None:
    """A record of a dead apply here does not match a lock tag with another mark."""
    apply(examples_copy)
    records = examples_copy / ".tallyform/locks/local"
    records.mkdir(parents=True, exist_ok=True)
    dead = _dead_pid()
    (records / f"{dead}.lock").write_text(f"{socket.gethostname()} {dead} #123456\n")
    with live_api(examples_copy) as api:
        take_lock(api, color="#abcdef")
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 1 and "another tallyform apply" in output, output
    with live_api(examples_copy) as api:
        assert LOCK_TITLE in tag_titles(api), "the other apply keeps its lock"


def test_a_successful_apply_leaves_no_lock(examples_copy: Path) -> None:
    apply(examples_copy)
    with live_api(examples_copy) as api:
        titles = tag_titles(api)
    assert not [t for t in titles if t.startswith(LOCK_TITLE)] and "finance" in titles


# -- 5. element-level changes -----------------------------------------------------------------------


def test_a_renamed_option_and_an_added_assignee_are_shown_as_items(examples_copy: Path) -> None:
    apply(examples_copy)
    template = examples_copy / "templates/purchase-request.yaml"
    edit(template, "[Hardware, Software, Services]", "[Hardware, Software, Consulting]")
    document = plan_json(examples_copy)
    assert [(c["path"], c["action"]) for c in document["changes"]] == [
        ("purchase-request/category", "update")
    ]
    options = attribute(change_of(document, "purchase-request/category"), "options")
    assert options["items"] == [{"action": "rename", "old": "Services", "new": "Consulting"}]
    code, output = cli(examples_copy, "plan")
    assert code == 0, output
    assert "~ Services -> Consulting" in output
    edit(
        template,
        "{users: [alice@example.com], groups: [Finance]}",
        "{users: [alice@example.com, bob@example.com], groups: [Finance]}",
    )
    assignees = attribute(
        change_of(plan_json(examples_copy), "purchase-request/submit"), "assignees"
    )
    assert {"action": "add", "in": "users", "new": "bob@example.com"} in assignees["items"]
    apply(examples_copy)
    assert_no_changes(examples_copy)


# -- 6. the delete safety share -----------------------------------------------------------------


def test_the_safety_share_waits_for_delete_share_minimum_templates(examples_copy: Path) -> None:
    apply(examples_copy)
    drop_steps(examples_copy)
    assert damaged(examples_copy) == THREE
    apply(examples_copy)  # 3 of 6 damaged, but 6 managed is below the default minimum of 10
    assert_no_changes(examples_copy)


def test_the_safety_share_refuses_from_delete_share_minimum_on(examples_copy: Path) -> None:
    config = examples_copy / "tallyform.yaml"
    config.write_text(config.read_text() + "delete_share_minimum: 5\n")
    apply(examples_copy)
    drop_steps(examples_copy)
    before = org_contents(state_file(examples_copy))
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 1, output
    assert "safety share" in output and "3 of 6 managed templates" in output
    assert org_contents(state_file(examples_copy)) == before
    assert damaged(examples_copy) == THREE, "nothing was changed"


# -- the custom-field vocabulary ------------------------------------------------------------------


def test_an_applies_to_value_tallyfy_refuses_names_the_setting(examples_copy: Path) -> None:
    config = examples_copy / "tallyform.yaml"
    config.write_text(
        config.read_text().replace(
            "    emulator: .tallyform/local-org.json\n",
            "    emulator: .tallyform/local-org.json\n    applies_to: {field: form_field}\n",
        )
    )
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 1, output
    assert "applies_to 'form_field'" in output and "applies_to: {field: VALUE}" in output
    with live_api(examples_copy) as api:
        templates = api.get("/checklists").json()["data"]
    assert templates == [], "nothing but the keys before it was changed"
