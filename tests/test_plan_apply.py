"""plan and apply through the real stack: CLI, client and the embedded emulator on a state file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.project_helpers import (
    apply,
    assert_no_changes,
    edit,
    embedded_state,
    live_api,
    plan_json,
)

ORG = ("key", "folder", "tag")


def test_bootstrap_applies_every_example_and_then_plans_nothing(examples_copy: Path) -> None:
    first = run_cli("-C", str(examples_copy), "plan", "--detailed-exitcode")
    assert first.exit_code == 2
    summary = "Plan: 108 to create, 0 to update, 0 to delete, 0 to reorder (169 writes)."
    assert summary in first.stdout
    assert "Setup: The org has no tallyform_key custom field" in first.stdout
    result = run_cli("-C", str(examples_copy), "apply", "--yes")
    assert result.exit_code == 0, result.output
    assert "Applied: 108 created (169 writes," in result.stdout, "apply did what the plan said"
    assert_no_changes(examples_copy)
    document = plan_json(examples_copy)
    assert document["format_version"] == 1
    assert set(document["summary"].values()) == {0}
    assert document["setup"] == [] and document["writes"] == 0


def test_one_changed_label_is_one_update_and_one_write(examples_copy: Path) -> None:
    apply(examples_copy)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Vendor", "label: Supplier")
    document = plan_json(examples_copy)
    assert {k: n for k, n in document["summary"].items() if n} == {"update": 1}
    [change] = document["changes"]
    assert change["path"] == "purchase-request/vendor"
    assert change["changes"] == [{"field": "label", "old": "Vendor", "new": "Supplier"}]
    result = run_cli("-C", str(examples_copy), "apply", "--yes")
    assert result.exit_code == 0, result.output
    assert "Applied: 1 updated (1 write," in result.stdout
    assert_no_changes(examples_copy)


def test_a_title_changed_in_the_ui_is_an_update_not_a_replacement(examples_copy: Path) -> None:
    apply(examples_copy)
    with live_api(examples_copy) as api:
        template = next(
            t
            for t in api.get("/checklists", params={"per_page": 100}).json()["data"]
            if t["title"] == "Incident response"
        )
        full = api.get(f"/checklists/{template['id']}", params={"with": "steps"}).json()["data"]
        step = full["steps"]["data"][0]
        api.put(
            f"/checklists/{template['id']}/steps/{step['id']}",
            json={
                "title": "Renamed in the UI",
                "assignees": step["assignees"],
                "groups": step["groups"],
            },
        )
        api.put(
            f"/checklists/{template['id']}",
            json={"title": "Incidents!", "type": "procedure", "summary": full["summary"]},
        )
    document = plan_json(examples_copy)
    kinds = {(c["path"], c["action"]) for c in document["changes"]}
    assert ("incident-response", "update") in kinds
    assert ("incident-response/triage", "update") in kinds
    assert all(c["action"] == "update" for c in document["changes"]), document["changes"]
    apply(examples_copy)
    assert_no_changes(examples_copy)


def test_a_title_changed_in_yaml_keeps_the_object(examples_copy: Path) -> None:
    apply(examples_copy)
    edit(
        examples_copy / "templates/content-review.yaml", "title: Write the draft", "title: Draft it"
    )
    document = plan_json(examples_copy)
    assert [(c["path"], c["action"]) for c in document["changes"]] == [
        ("content-review/draft", "update")
    ]


def test_templates_tallyform_does_not_own_never_appear(examples_copy: Path) -> None:
    apply(examples_copy)
    with live_api(examples_copy) as api:
        api.post("/checklists", json={"title": "Hand made", "type": "form"})
    document = plan_json(examples_copy)
    assert document["changes"] == []
    assert "Hand made" not in run_cli("-C", str(examples_copy), "plan").stdout


def test_removed_template_is_archived_only_with_allow_delete(examples_copy: Path) -> None:
    apply(examples_copy)
    (examples_copy / "templates/content-review.yaml").unlink()
    document = plan_json(examples_copy)
    assert [(c["path"], c["action"]) for c in document["changes"]] == [
        ("content-review", "archive")
    ]
    assert (
        'template "content-review" will be archived'
        in run_cli("-C", str(examples_copy), "plan").stdout
    )
    refused = run_cli("-C", str(examples_copy), "apply", "--yes")
    assert refused.exit_code == 1 and "--allow-delete" in refused.output
    assert plan_json(examples_copy)["summary"]["archive"] == 1, "nothing was changed"
    apply(examples_copy, "--allow-delete")
    assert_no_changes(examples_copy)
    with live_api(examples_copy) as api:
        archived = api.get("/checklists", params={"archived": "only"}).json()["data"]
    assert [t["title"] for t in archived] == ["Content review"]


def test_reorders_type_changes_and_deletions_converge(examples_copy: Path) -> None:
    apply(examples_copy)
    path = examples_copy / "templates/incident-response.yaml"
    text = path.read_text()
    resolve_block = text[text.index("  - key: resolve") : text.index("  - key: postmortem")]
    text = text.replace(resolve_block, "")
    text = text.replace("  - key: triage", resolve_block + "  - key: triage")
    text = text.replace(
        "        label: Root cause\n        type: textarea",
        "        label: Root cause\n        type: text",
    )
    text = text.replace(
        "  - key: description\n    label: What is happening?\n    type: textarea\n    required: true\n",
        "",
    )
    path.write_text(text)
    assert run_cli("-C", str(examples_copy), "validate").exit_code == 0
    document = plan_json(examples_copy)
    actions = {(c["path"], c["action"]) for c in document["changes"]}
    assert ("incident-response/steps", "reorder") in actions
    assert ("incident-response/root-cause", "update") in actions
    assert ("incident-response/description", "delete") in actions
    apply(examples_copy)
    assert_no_changes(examples_copy)


def test_a_stale_saved_plan_is_refused(examples_copy: Path) -> None:
    apply(examples_copy)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Vendor", "label: Supplier")
    saved = examples_copy / "plan.json"
    assert run_cli("-C", str(examples_copy), "plan", "--out", str(saved)).exit_code == 0
    assert "emulator-admin-token" not in saved.read_text()
    with live_api(examples_copy) as api:
        template = next(
            t
            for t in api.get("/checklists", params={"per_page": 100}).json()["data"]
            if t["title"] == "Purchase request"
        )
        api.put(
            f"/checklists/{template['id']}",
            json={"title": "Purchase request", "type": "procedure", "summary": "edited in the UI"},
        )
    refused = run_cli("-C", str(examples_copy), "apply", str(saved))
    assert refused.exit_code == 1
    assert "stale" in refused.output and "purchase-request changed in the org" in refused.output
    fresh = examples_copy / "fresh.json"
    assert run_cli("-C", str(examples_copy), "plan", "--out", str(fresh)).exit_code == 0
    assert run_cli("-C", str(examples_copy), "apply", str(fresh)).exit_code == 0
    assert_no_changes(examples_copy)


def test_apply_without_a_terminal_needs_yes(examples_copy: Path) -> None:
    result = run_cli("-C", str(examples_copy), "apply")
    assert result.exit_code == 1
    assert "pass --yes" in result.output
    assert (
        not embedded_state(examples_copy).exists()
        or "tallyform_key" not in embedded_state(examples_copy).read_text()
    )


def test_an_unknown_person_is_an_error_at_its_line(examples_copy: Path) -> None:
    edit(
        examples_copy / "templates/purchase-request.yaml",
        "users: [carol@example.com]",
        "users: [zoe@example.com]",
    )
    result = run_cli("-C", str(examples_copy), "plan")
    assert result.exit_code == 1
    assert "templates/purchase-request.yaml:" in result.output
    assert "no member with the email zoe@example.com" in result.output


def test_markdown_plan_has_a_summary_table_and_folded_templates(examples_copy: Path) -> None:
    result = run_cli("-C", str(examples_copy), "plan", "--format", "markdown")
    assert result.exit_code == 0
    assert "**6 templates** with changes, and 20 org-wide changes" in result.stdout
    assert ": 169 writes." in result.stdout
    assert "| Action | Objects | Templates |" in result.stdout
    assert "| Create | 108 | 6 |\n| Update | 0 | 0 |" in result.stdout
    flows = result.stdout.count("<details><summary>Flow before and after this plan</summary>")
    assert flows == 5, "each new template with rules has its flow drawn"
    assert result.stdout.count("<details>") == 7 + flows, "the org-wide changes, then each template"
    assert len(result.stdout) < 60_000


def test_an_empty_partial_plan_claims_only_what_it_covered(examples_copy: Path) -> None:
    """After applying one template, a plan of it alone is empty, while the others are still
    to create: it must not say the org matches the repository."""
    assert (
        run_cli("-C", str(examples_copy), "apply", "--yes", "--only", "purchase-*").exit_code == 0
    )
    partial = run_cli("-C", str(examples_copy), "plan", "--only", "purchase-*")
    assert "No changes. The templates this plan covers match the org." in partial.stdout
    assert "The org matches the repository" not in partial.stdout
    whole = run_cli("-C", str(examples_copy), "plan", "--detailed-exitcode")
    assert whole.exit_code == 2, "the others are still to create"


def test_only_limits_the_plan_and_warns(examples_copy: Path) -> None:
    document = plan_json(examples_copy, "--only", "purchase-*")
    templates = {c["path"].split("/")[0] for c in document["changes"] if c["kind"] not in ORG}
    assert templates == {"purchase-request"}
    org_wide = {c["path"] for c in document["changes"] if c["kind"] in ("folder", "tag")}
    assert org_wide == {"Finance", "Finance/Purchasing", "finance"}
    assert document["partial"] is True and "purchase-*" in document["warnings"][0]


SINGLE_CHANGES = [
    ("content-review.yaml", "title: Write the draft", "title: Draft it", "content-review/draft"),
    ("purchase-request.yaml", "label: Needed by", "label: Needed on", "purchase-request/needed-by"),
    (
        "purchase-request.yaml",
        "summary: Ask to buy something",
        "summary: Request to buy something",
        "purchase-request",
    ),
    (
        "purchase-request.yaml",
        "is: less_than, value: 100",
        "is: less_than, value: 250",
        "purchase-request/Skip approval for small amounts",
    ),
    (
        "incident-response.yaml",
        "label: Root cause\n        type: textarea\n        required: true",
        "label: Root cause\n        type: textarea",
        "incident-response/root-cause",
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "path"), SINGLE_CHANGES, ids=[c[3] for c in SINGLE_CHANGES]
)
def test_a_single_change_is_a_single_write(
    examples_copy: Path, name: str, old: str, new: str, path: str
) -> None:
    apply(examples_copy)
    edit(examples_copy / "templates" / name, old, new)
    document = plan_json(examples_copy)
    assert [(c["path"], c["action"]) for c in document["changes"]] == [(path, "update")]
    result = run_cli("-C", str(examples_copy), "apply", "--yes")
    assert result.exit_code == 0, result.output
    # A rule is deleted and made anew: whether Tallyfy's PUT of a rule replaces or appends
    # its conditions is undocumented (TemplateRun.update_rule).
    writes = "2 writes" if "Skip approval" in path else "1 write"
    assert f"Applied: 1 updated ({writes}," in result.stdout, result.stdout
    assert_no_changes(examples_copy)


def test_a_plan_damaging_too_many_templates_needs_force(examples_copy: Path) -> None:
    config = examples_copy / "tallyform.yaml"
    config.write_text(config.read_text() + "delete_share_minimum: 5\n")
    apply(examples_copy)
    edit(
        examples_copy / "templates/content-review.yaml",
        "  - key: legal\n    title: Legal review\n    type: approval\n    assignees: {groups: [Legal]}\n",
        "",
    )
    edit(
        examples_copy / "templates/customer-onboarding.yaml",
        "  - key: contact-email\n    label: Main contact email\n    type: email\n    required: true\n",
        "",
    )
    refused = run_cli("-C", str(examples_copy), "apply", "--yes")
    assert refused.exit_code == 1
    assert "2 of 6 managed templates, more than the safety share of 30%" in refused.output
    assert plan_json(examples_copy)["summary"]["delete"] == 2, "nothing was changed"
    apply(examples_copy, "--force")
    assert_no_changes(examples_copy)


def test_a_relabelled_field_without_a_key_gets_a_hint(project: Any) -> None:
    root = project(
        {
            "claim.yaml": "title: Claim\nsteps:\n  - title: Submit\n    fields:\n      - label: Receipts\n"
        }
    )
    apply(root)
    edit(root / "templates/claim.yaml", "label: Receipts", "label: Receipts (PDF)")
    document = plan_json(root)
    created = next(c for c in document["changes"] if c["action"] == "create")
    assert "add `key: receipts` to update that one in place" in created["note"]


@pytest.mark.parametrize(
    ("link", "found"),
    [
        ({"id": 7, "tag_id": "t1"}, True),
        ({"id": 7, "tag_id": "t2", "title": "finance"}, False),
        ({"id": 7, "title": "Finance"}, True),
        ({"id": 7, "title": "hr"}, False),
    ],
)
def test_a_lost_tag_attachment_is_found_by_tag_id_or_by_title(
    link: dict[str, object], found: bool
) -> None:
    """Tag items may carry the tag's id or only its own data (reference 9.21)."""
    from tallyform.tallyfy.writes import _is_tag

    assert _is_tag(link, "t1", "finance") is found


def test_an_embedded_org_in_use_is_refused_or_waited_for(examples_copy: Path) -> None:
    """Two processes on one embedded org would overwrite each other's state: the second
    apply is refused, or waits with --lock-timeout until the first lets go."""
    import fcntl
    import threading

    lock_file = examples_copy / ".tallyform" / "local-org.json.lock"
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        refused = run_cli("-C", str(examples_copy), "apply", "--yes")
        threading.Timer(0.5, fcntl.flock, (held, fcntl.LOCK_UN)).start()
        waited = run_cli("-C", str(examples_copy), "apply", "--yes", "--lock-timeout", "10")
    assert refused.exit_code == 1
    assert "another tallyform apply is running on the embedded org 'local'" in refused.output
    assert "--lock-timeout" in refused.output
    assert waited.exit_code == 0, waited.output
    assert "Applied:" in waited.stdout
