"""Templates, kick-off fields, auth and envelopes of the emulated Tallyfy API."""

from __future__ import annotations

import re

import httpx
import pytest

from tallyform.emulator import DEFAULT_MEMBER_TOKEN, Emulator, templates
from tests.emulator_helpers import HEADERS, connect, data, errors, new_step, new_template

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_requests_without_bearer_or_client_header_are_401(api: httpx.Client) -> None:
    assert api.get("/checklists", headers={"Authorization": ""}).status_code == 401
    request = api.build_request("GET", "/checklists")
    del request.headers["X-Tallyfy-Client"]
    assert api.send(request).status_code == 401
    assert (
        api.get(
            "/checklists", headers={"Authorization": "Bearer  emulator-admin-token"}
        ).status_code
        == 401
    )
    assert api.get("/checklists", headers={"Authorization": "Bearer wrong"}).json() == {
        "error": True,
        "message": "Unauthenticated.",
    }


def test_another_org_is_forbidden(api: httpx.Client) -> None:
    root = str(api.base_url).split("/organizations/")[0]
    response = api.get(f"{root}/organizations/{'f' * 32}/checklists")
    assert response.status_code == 403


def test_me_and_my_organizations(api: httpx.Client) -> None:
    root = str(api.base_url).split("/organizations/")[0]
    me = data(api.get(root + "/me"))
    assert me["email"] == "alice@example.com" and me["id"] == 1
    orgs = api.get(root + "/me/organizations").json()
    assert [o["id"] for o in orgs["data"]] == [str(api.base_url).rstrip("/").rsplit("/", 1)[1]]
    assert orgs["meta"]["pagination"]["total"] == 1


def test_unknown_path_is_endpoint_not_found(api: httpx.Client) -> None:
    response = api.get("/members")
    assert response.status_code == 404
    assert response.json() == {
        "error": True,
        "message": "API endpoint not found",
        "code": "ENDPOINT_NOT_FOUND",
    }


def test_create_answers_201_with_server_managed_fields(api: httpx.Client) -> None:
    template = new_template(api, title="Onboarding", summary="S")
    assert HEX32.match(template["id"])
    assert template["alias"].startswith("onboarding-")
    assert (
        template["steps_count"] == 0
        and template["prerun"] == []
        and template["automated_actions"] == []
    )
    assert template["created_by"] == 1 and template["archived_at"] is None
    assert template["created_at"].endswith("Z")
    assert data(api.get(f"/checklists/{template['id']}"))["title"] == "Onboarding"


def test_create_needs_title_and_type(api: httpx.Client) -> None:
    found = errors(api.post("/checklists", json={"summary": "x"}))
    assert found["title"] == ["The title field is required."]
    assert found["type"] == ["The type field is required."]
    assert "type" in errors(api.post("/checklists", json={"title": "T", "type": "workflow"}))
    assert "title" in errors(api.post("/checklists", json={"title": "x" * 251, "type": "form"}))


def test_unknown_keys_are_dropped_silently(api: httpx.Client) -> None:
    template = new_template(api, description="not a field", custom_fields={"tallyform_key": "x"})
    assert "description" not in template
    assert template["custom_fields"] == {}


def test_nested_steps_on_create_are_ignored(api: httpx.Client) -> None:
    template = new_template(api, steps=[{"title": "A"}])
    assert template["steps_count"] == 0


def test_update_needs_title_and_absent_permissions_clear(api: httpx.Client) -> None:
    groups = data(api.get("/groups", params={"per_page": 100}))
    template = new_template(api, users=[1, 2], groups=[groups[0]["id"]])
    assert template["users"] == [1, 2]
    url = f"/checklists/{template['id']}"
    assert errors(api.put(url, json={"summary": "no title"}))["title"]
    updated = data(api.put(url, json={"title": "Renamed"}))
    assert updated["title"] == "Renamed"
    assert updated["users"] == [] and updated["groups"] == []


def test_kickoff_title_is_writable_on_update_only(api: httpx.Client) -> None:
    template = new_template(api, kickoff_title="Ignored")
    assert template["kickoff_title"] is None
    url = f"/checklists/{template['id']}"
    assert (
        data(api.put(url, json={"title": "T", "kickoff_title": "Start here"}))["kickoff_title"]
        == "Start here"
    )


def test_unknown_people_are_rejected(api: httpx.Client) -> None:
    found = errors(
        api.post(
            "/checklists", json={"title": "T", "type": "form", "users": [99], "groups": ["nope"]}
        )
    )
    assert set(found) == {"users.0", "groups.0"}


def test_list_pages_at_10_by_default_and_at_most_100(api: httpx.Client) -> None:
    for number in range(25):
        new_template(api, title=f"T{number:02d}")
    first = api.get("/checklists").json()
    assert len(first["data"]) == 10
    pagination = first["meta"]["pagination"]
    assert pagination == {
        **pagination,
        "total": 25,
        "count": 10,
        "per_page": 10,
        "current_page": 1,
        "total_pages": 3,
    }
    assert "page=2" in pagination["links"]["next"] and "previous" not in pagination["links"]
    last = api.get("/checklists", params={"page": 3}).json()["meta"]["pagination"]
    assert last["count"] == 5 and set(last["links"]) == {"previous"}
    everything = api.get("/checklists", params={"per_page": 500}).json()
    assert everything["meta"]["pagination"]["per_page"] == 100
    assert everything["meta"]["pagination"]["links"] == []
    assert len({t["id"] for t in everything["data"]}) == 25


def test_a_list_page_renders_only_its_own_rows(
    api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of a large org costs its rows, not the org (a 1,000-template plan reads 10)."""
    for number in range(25):
        new_template(api, title=f"T{number:02d}")
    rendered = []
    real = templates.render
    monkeypatch.setattr(
        templates, "render", lambda t, call, **kw: rendered.append(t["id"]) or real(t, call, **kw)
    )
    page = data(api.get("/checklists", params={"page": 2}))
    assert len(page) == 10 and rendered == [t["id"] for t in page]


def test_list_filters_by_title(api: httpx.Client) -> None:
    new_template(api, title="Purchase request")
    new_template(api, title="Onboarding")
    found = data(api.get("/checklists", params={"q": "PURCHASE"}))
    assert [t["title"] for t in found] == ["Purchase request"]


def test_archive_then_404_then_restore(api: httpx.Client) -> None:
    template = new_template(api)
    url = f"/checklists/{template['id']}"
    archived = api.delete(url)
    assert archived.status_code == 200
    assert archived.json()["deleted_references"] == []
    assert api.get(url).status_code == 404
    assert api.get(url).json()["code"] == "RESOURCE_NOT_FOUND"
    assert data(api.get("/checklists")) == []
    assert [t["id"] for t in data(api.get("/checklists", params={"archived": "only"}))] == [
        template["id"]
    ]
    assert len(data(api.get("/checklists", params={"archived": "true"}))) == 1
    assert api.put(url, json={"title": "x"}).status_code == 404
    assert data(api.put(url + "/restore"))["archived_at"] is None
    assert data(api.get(url))["id"] == template["id"]


def test_permanent_delete_needs_admin_and_archive(mode: str) -> None:
    emulator = Emulator()
    with connect(emulator, mode) as admin, connect(emulator, mode, DEFAULT_MEMBER_TOKEN) as member:
        template = new_template(admin)
        url = f"/checklists/{template['id']}"
        assert "checklist" in errors(admin.delete(url + "/delete"))
        admin.delete(url)
        assert member.delete(url + "/delete").status_code == 403
        assert admin.delete(url + "/delete").status_code == 200
        assert admin.put(url + "/restore").status_code == 404


def test_with_steps_wraps_steps_and_keeps_captures_bare(api: httpx.Client) -> None:
    template = new_template(api)
    step = new_step(api, template["id"])
    api.post(
        f"/checklists/{template['id']}/steps/{step['id']}/captures",
        json={"label": "Notes", "field_type": "textarea", "required": False},
    )
    plain = data(api.get(f"/checklists/{template['id']}"))
    assert "steps" not in plain and plain["steps_count"] == 1
    full = data(api.get(f"/checklists/{template['id']}", params={"with": "steps,tags"}))
    assert full["steps"]["data"][0]["captures"][0]["label"] == "Notes"
    assert full["tags"] == {"data": []}


def test_kickoff_fields_ride_the_prerun_array(api: httpx.Client) -> None:
    template = new_template(
        api,
        prerun=[
            {"label": "Amount", "field_type": "text", "required": True, "position": 2},
            {
                "label": "Plan",
                "field_type": "dropdown",
                "required": False,
                "position": 1,
                "options": [{"id": 1, "text": "Silver"}, {"id": 2, "text": "Gold"}],
            },
        ],
    )
    labels = [p["label"] for p in template["prerun"]]
    assert labels == ["Plan", "Amount"], "order comes from position, not array order"
    plan, amount = template["prerun"]
    assert plan["options"] == [
        {"id": 1, "text": "Silver", "value": None},
        {"id": 2, "text": "Gold", "value": None},
    ]
    url = f"/checklists/{template['id']}"
    updated = data(
        api.put(
            url,
            json={
                "title": "T",
                "prerun": [
                    {
                        "id": amount["id"],
                        "label": "Amount (USD)",
                        "field_type": "text",
                        "required": True,
                        "position": 1,
                    },
                    {"label": "Start", "field_type": "date", "required": False, "position": 3},
                ],
            },
        )
    )
    by_label = {p["label"]: p for p in updated["prerun"]}
    assert by_label["Amount (USD)"]["id"] == amount["id"], "ids are stable across updates"
    assert by_label["Amount (USD)"]["alias"] == amount["alias"]
    assert set(by_label) == {"Amount (USD)", "Plan", "Start"}, "omitted entries are kept"
    assert [p["position"] for p in updated["prerun"]] == [1, 2, 3]
    assert api.delete(f"{url}/preruns/{plan['id']}").status_code == 200
    assert [p["label"] for p in data(api.get(url))["prerun"]] == ["Amount (USD)", "Start"]
    assert api.delete(f"{url}/preruns/{plan['id']}").status_code == 404


def test_prerun_entries_follow_capture_rules(api: httpx.Client) -> None:
    found = errors(
        api.post(
            "/checklists",
            json={
                "title": "T",
                "type": "form",
                "prerun": [
                    {
                        "label": "A",
                        "field_type": "radio",
                        "required": True,
                        "options": [{"id": 1, "text": "Only"}],
                    },
                    {"field_type": "text"},
                ],
            },
        )
    )
    assert "prerun.0.options" in found
    assert "prerun.1.label" in found and "prerun.1.required" in found


def test_folders_place_templates(api: httpx.Client) -> None:
    finance = data(api.post("/folders", json={"name": "Finance", "folder_type": "checklist"}), 201)
    child = data(
        api.post(
            "/folders",
            json={"name": "Purchasing", "folder_type": "checklist", "parent_id": finance["id"]},
        ),
        201,
    )
    runs = data(api.post("/folders", json={"name": "Runs", "folder_type": "run"}), 201)
    assert "parent_id" in errors(
        api.post("/folders", json={"name": "X", "folder_type": "run", "parent_id": finance["id"]})
    )
    assert "name" in errors(
        api.post("/folders", json={"name": "x" * 33, "folder_type": "checklist"})
    )
    template = new_template(api)
    url = f"/checklists/{template['id']}"
    assert "folder_id" in errors(api.put(url, json={"title": "T", "folder_id": runs["id"]}))
    assert (
        data(api.put(url, json={"title": "T", "folder_id": child["id"]}))["folder_id"]
        == child["id"]
    )
    assert data(api.get(url, params={"with": "folder"}))["folder"]["data"]["name"] == "Purchasing"
    listed = api.get("/folders", params={"folder_type": "checklist", "pagination": "false"}).json()
    assert "meta" not in listed and {f["name"] for f in listed["data"]} == {"Finance", "Purchasing"}
    assert api.delete(f"/folders/{child['id']}").status_code == 200
    assert data(api.get(url))["folder_id"] is None


def test_headers_include_request_id_and_json(api: httpx.Client) -> None:
    response = api.get("/checklists")
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-request-id"]


def test_malformed_json_is_400(api: httpx.Client) -> None:
    response = api.post(
        "/checklists", content=b"{nope", headers={**HEADERS, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
