"""Tags, people and custom fields of the emulated API."""

from __future__ import annotations

from typing import Any

import httpx

from tallyform.emulator import DEFAULT_MEMBER_TOKEN, SEED_GROUPS, SEED_USERS, Emulator
from tests.emulator_helpers import connect, data, errors, new_capture, new_step, new_template


def test_users_and_groups_are_seeded_and_paginated(api: httpx.Client) -> None:
    users = api.get("/users", params={"per_page": 2}).json()
    assert users["meta"]["pagination"]["total"] == len(SEED_USERS)
    everyone = data(api.get("/users", params={"per_page": 100}))
    assert [u["email"] for u in everyone] == [row[1] for row in SEED_USERS]
    assert data(api.get("/users/2"))["email"] == "bob@example.com"
    assert api.get("/users/99").status_code == 404
    groups = data(api.get("/groups", params={"per_page": 100}))
    assert [g["name"] for g in groups] == [name for name, _ in SEED_GROUPS]
    assert all(len(g["id"]) == 32 for g in groups)
    assert data(api.get(f"/groups/{groups[0]['id']}"))["members"] == [1, 3]


def test_tags_titles_are_unique_and_short(api: httpx.Client) -> None:
    tag = data(api.post("/tags", json={"title": "finance", "color": "#01803d"}), 201)
    assert tag["title"] == "finance" and tag["auto_generated"] is False
    assert errors(api.post("/tags", json={"title": "Finance"}))["title"] == [
        "The title has already been taken."
    ]
    assert "title" in errors(api.post("/tags", json={"title": "x" * 31}))
    assert data(api.put(f"/tags/{tag['id']}", json={"title": "money"}))["title"] == "money"
    assert [t["title"] for t in data(api.get("/tags"))] == ["money"]


def test_a_templates_tags_follow_every_attach_detach_and_delete(api: httpx.Client) -> None:
    """The emulator finds a template's tags through an index: it must follow every change."""
    one, two = new_template(api, title="One"), new_template(api, title="Two")
    tags = [data(api.post("/tags", json={"title": f"t{n}"}), 201) for n in range(3)]

    def attach(template: dict[str, Any], tag: dict[str, Any]) -> int:
        body = {"subject_id": template["id"], "subject_type": "Checklist", "tag_type": "private"}
        link: int = data(api.post("/checklists/tags", json={**body, "tag_id": tag["id"]}), 201)[
            "id"
        ]
        return link

    def titles(template: dict[str, Any]) -> list[str]:
        read = data(api.get(f"/checklists/{template['id']}", params={"with": "tags"}))
        return [t["title"] for t in read["tags"]["data"]]

    links = [attach(one, tags[0]), attach(two, tags[0]), attach(one, tags[1]), attach(one, tags[2])]
    assert titles(one) == ["t0", "t1", "t2"] and titles(two) == ["t0"]
    assert api.delete(f"/checklists/tags/{links[2]}").status_code == 200
    assert api.delete(f"/checklists/tags/{links[2]}").status_code == 404
    assert titles(one) == ["t0", "t2"]
    assert api.delete(f"/tags/{tags[0]['id']}").status_code == 200
    assert titles(one) == ["t2"] and titles(two) == []
    assert api.delete(f"/checklists/tags/{links[0]}").status_code == 404
    attach(two, tags[1])
    assert titles(two) == ["t1"]


def test_auto_generated_tags_are_hidden_unless_all(mode: str) -> None:
    emulator = Emulator()
    emulator.state["tags"]["a" * 32] = {
        "id": "a" * 32,
        "title": "from:api",
        "color": "#000000",
        "type": "private",
        "auto_generated": True,
        "created_at": "",
        "deleted_at": None,
        "custom_fields": {},
    }
    with connect(emulator, mode) as api:
        assert data(api.get("/tags")) == []
        assert [t["title"] for t in data(api.get("/tags", params={"all": "true"}))] == ["from:api"]
        assert data(api.get("/tags", params={"all": "True"})) == []


def test_tagging_a_template(api: httpx.Client) -> None:
    template = new_template(api)
    tag = data(api.post("/tags", json={"title": "finance"}), 201)
    body = {"subject_id": template["id"], "subject_type": "Checklist", "tag_id": tag["id"]}
    assert "tag_type" in errors(api.post("/checklists/tags", json=body))
    link = data(api.post("/checklists/tags", json={**body, "tag_type": "private"}), 201)
    assert isinstance(link["id"], int)
    again = api.post("/checklists/tags", json={**body, "tag_type": "private"})
    assert again.status_code == 200 and again.json()["data"]["id"] == link["id"], (
        "unique on subject and tag"
    )
    tags = data(api.get(f"/checklists/{template['id']}", params={"with": "tags"}))["tags"]["data"]
    assert tags == [
        {"id": link["id"], "tag_id": tag["id"], "title": "finance", "color": tag["color"]}
    ]
    assert api.delete(f"/checklists/tags/{tag['id']}").status_code == 404, (
        "a non-numeric id is cast to 0"
    )
    assert api.delete(f"/checklists/tags/{link['id']}").status_code == 200
    assert (
        data(api.get(f"/checklists/{template['id']}", params={"with": "tags"}))["tags"]["data"]
        == []
    )
    api.delete(f"/checklists/{template['id']}")
    assert errors(api.post("/checklists/tags", json={**body, "tag_type": "private"}))[
        "subject_id"
    ] == ["Subject not found"]


def test_custom_field_keys_are_defined_by_admins_only(mode: str) -> None:
    emulator = Emulator()
    definition = {
        "key": "tallyform_key",
        "applies_to": "checklist",
        "field_type": "text",
        "is_required": False,
        "is_active": True,
    }
    with connect(emulator, mode, DEFAULT_MEMBER_TOKEN) as member:
        assert member.post("/custom-field-keys", json=definition).status_code == 403
    with connect(emulator, mode) as admin:
        created = data(admin.post("/custom-field-keys", json=definition), 201)
        assert created["key_type"] == "custom"
        assert errors(admin.post("/custom-field-keys", json=definition))["key"] == [
            "The key has already been taken."
        ]
        assert "applies_to" in errors(
            admin.post("/custom-field-keys", json={**definition, "applies_to": "template"})
        )
        listed = data(
            admin.get("/custom-field-keys", params={"applies_to": "checklist", "is_active": "true"})
        )
        assert [k["key"] for k in listed] == ["tallyform_key"]
        assert data(admin.get("/custom-field-keys", params={"applies_to": "step"})) == []


def _define(api: httpx.Client, kind: str, key: str = "tallyform_key", **extra: object) -> None:
    body = {
        "key": key,
        "applies_to": kind,
        "field_type": "text",
        "is_required": False,
        "is_active": True,
        **extra,
    }
    data(api.post("/custom-field-keys", json=body), 201)


def test_custom_field_values_are_replaced_whole_and_read_inline(api: httpx.Client) -> None:
    for kind in ("checklist", "step", "capture", "prerun"):
        _define(api, kind)
    _define(api, "checklist", key="owner_team")
    template = new_template(
        api, prerun=[{"label": "Amount", "field_type": "text", "required": True}]
    )
    step = new_step(api, template["id"])
    capture = new_capture(api, template["id"], step["id"])
    base = f"/checklists/{template['id']}"
    urls = {
        "checklist": base,
        "step": f"{base}/steps/{step['id']}",
        "capture": f"{base}/steps/{step['id']}/captures/{capture['id']}",
        "prerun": f"{base}/preruns/{template['prerun'][0]['id']}",
    }
    for kind, url in urls.items():
        written = data(
            api.put(f"{url}/custom-fields", json={"custom_fields": {"tallyform_key": f"k-{kind}"}})
        )
        assert written["custom_fields"] == {"tallyform_key": f"k-{kind}"}
    full = data(api.get(base, params={"with": "steps"}))
    assert full["custom_fields"] == {"tallyform_key": "k-checklist"}
    assert full["prerun"][0]["custom_fields"] == {"tallyform_key": "k-prerun"}
    assert full["steps"]["data"][0]["custom_fields"] == {"tallyform_key": "k-step"}
    assert full["steps"]["data"][0]["captures"][0]["custom_fields"] == {
        "tallyform_key": "k-capture"
    }
    both = data(
        api.put(
            f"{base}/custom-fields",
            json={"custom_fields": {"tallyform_key": "a", "owner_team": "ops"}},
        )
    )
    assert both["custom_fields"] == {"tallyform_key": "a", "owner_team": "ops"}
    only_one = data(api.put(f"{base}/custom-fields", json={"custom_fields": {"owner_team": "ops"}}))
    assert only_one["custom_fields"] == {"owner_team": "ops"}, "a key left out is cleared"
    assert "custom_fields.nope" in errors(
        api.put(f"{base}/custom-fields", json={"custom_fields": {"nope": 1}})
    )
    assert "custom_fields.tallyform_key" in errors(
        api.put(f"{urls['step']}/custom-fields", json={"custom_fields": {"tallyform_key": 5}})
    )
    assert data(api.put(f"{base}/custom-fields", json={"custom_fields": {}}))["custom_fields"] == {}


def test_required_and_system_custom_fields(mode: str) -> None:
    emulator = Emulator()
    emulator.state["custom_field_keys"].append(
        {
            "id": 99,
            "key": "sys_id",
            "label": "System",
            "applies_to": "checklist",
            "field_type": "text",
            "key_type": "system",
            "is_required": False,
            "is_active": True,
            "created_at": "",
        }
    )
    with connect(emulator, mode) as api:
        _define(api, "checklist", key="cost_center", is_required=True)
        template = new_template(api)
        emulator.state["checklists"][template["id"]]["custom_fields"]["sys_id"] = "S-1"
        url = f"/checklists/{template['id']}/custom-fields"
        assert "custom_fields.cost_center" in errors(api.put(url, json={"custom_fields": {}}))
        assert "custom_fields.sys_id" in errors(
            api.put(url, json={"custom_fields": {"cost_center": "1", "sys_id": "x"}})
        )
        kept = data(api.put(url, json={"custom_fields": {"cost_center": "1"}}))
        assert kept["custom_fields"] == {"sys_id": "S-1", "cost_center": "1"}, (
            "system values survive a PUT"
        )


def test_remaining_catalogue_endpoints(api: httpx.Client) -> None:
    org = data(api.get(""))
    assert len(org["id"]) == 32 and org["name"]
    assert data(api.get("/me"))["email"] == "alice@example.com"
    tag = data(api.post("/tags", json={"title": "ops"}), 201)
    assert data(api.get(f"/tags/{tag['id']}"))["title"] == "ops"
    template = new_template(api)
    api.post(
        "/checklists/tags",
        json={
            "subject_id": template["id"],
            "subject_type": "Checklist",
            "tag_id": tag["id"],
            "tag_type": "private",
        },
    )
    assert api.delete(f"/tags/{tag['id']}").status_code == 200
    assert api.get(f"/tags/{tag['id']}").status_code == 404
    assert (
        data(api.get(f"/checklists/{template['id']}", params={"with": "tags"}))["tags"]["data"]
        == []
    )
    top = data(api.post("/folders", json={"name": "Top", "folder_type": "checklist"}), 201)
    inner = data(api.post("/folders", json={"name": "Inner", "folder_type": "checklist"}), 201)
    moved = data(
        api.put(f"/folders/{inner['id']}", json={"name": "Nested", "parent_id": top["id"]})
    )
    assert (moved["name"], moved["parent_id"]) == ("Nested", top["id"])
    assert data(api.get(f"/folders/{inner['id']}"))["name"] == "Nested"
    assert api.delete(f"/folders/{top['id']}").status_code == 200
    assert data(api.get(f"/folders/{inner['id']}"))["parent_id"] is None, (
        "children move up, not away"
    )
    assert api.get(f"/folders/{top['id']}").status_code == 404
    assert api.get("/guests/nobody%40example.com").status_code == 404
