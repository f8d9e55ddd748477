"""Steps, form fields (captures) and automations of the emulated API, with their rules and quirks."""

from __future__ import annotations

from typing import Any

import httpx

from tests.emulator_helpers import data, errors, new_capture, new_step, new_template


def _steps_url(template: dict[str, Any]) -> str:
    return f"/checklists/{template['id']}/steps"


def test_step_create_needs_title_and_checklist_id(api: httpx.Client) -> None:
    template = new_template(api)
    found = errors(api.post(_steps_url(template), json={"summary": "x"}))
    assert set(found) >= {"title", "checklist_id"}
    assert "checklist_id" in errors(
        api.post(_steps_url(template), json={"title": "A", "checklist_id": "f" * 32})
    )
    assert "step_type" in errors(
        api.post(
            _steps_url(template),
            json={"title": "A", "checklist_id": template["id"], "step_type": "review"},
        )
    )


def test_step_position_is_ignored_on_create_and_reorder_is_1_based(api: httpx.Client) -> None:
    template = new_template(api)
    first = new_step(api, template["id"], title="First")
    second = new_step(api, template["id"], title="Second", position=1)
    assert (first["position"], second["position"]) == (1, 2), "new steps always append"
    moved = data(api.put(f"{_steps_url(template)}/{second['id']}/reorder", json={"position": 1}))
    assert moved["position"] == 1
    titles = [s["title"] for s in data(api.get(_steps_url(template)))]
    assert titles == ["Second", "First"]
    assert "position" in errors(
        api.put(f"{_steps_url(template)}/{second['id']}/reorder", json={"position": 0})
    )


def test_steps_list_is_paginated(api: httpx.Client) -> None:
    template = new_template(api)
    for number in range(12):
        new_step(api, template["id"], title=f"S{number}")
    listed = api.get(_steps_url(template)).json()
    assert len(listed["data"]) == 10 and listed["meta"]["pagination"]["total_pages"] == 2
    assert len(data(api.get(_steps_url(template), params={"per_page": 100}))) == 12


def test_step_update_needs_title_and_absent_assignees_clear(api: httpx.Client) -> None:
    template = new_template(api)
    group = data(api.get("/groups"))[0]["id"]
    step = new_step(
        api,
        template["id"],
        assignees=[1],
        guests=["guest@outside.example"],
        groups=[group],
        deadline={"value": 2, "unit": "days", "option": "from", "step": "start_run"},
    )
    assert (step["assignees"], step["guests"], step["groups"]) == (
        [1],
        ["guest@outside.example"],
        [group],
    )
    url = f"{_steps_url(template)}/{step['id']}"
    assert "title" in errors(api.put(url, json={"summary": "no title"}))
    updated = data(api.put(url, json={"title": "Renamed", "summary": "<p>Do it</p>"}))
    assert (updated["assignees"], updated["guests"], updated["groups"]) == ([], [], [])
    assert updated["deadline"] == step["deadline"], "fields not sent are kept"
    assert updated["summary"] == "<p>Do it</p>"


def test_step_update_rejects_an_echoed_full_step(api: httpx.Client) -> None:
    template = new_template(api)
    step = new_step(api, template["id"])
    url = f"{_steps_url(template)}/{step['id']}"
    assert errors(api.put(url, json=step))


def test_step_assignees_must_be_known(api: httpx.Client) -> None:
    template = new_template(api)
    found = errors(
        api.post(
            _steps_url(template),
            json={
                "checklist_id": template["id"],
                "title": "A",
                "assignees": [42],
                "guests": ["not-an-email"],
                "groups": ["x"],
            },
        )
    )
    assert set(found) == {"assignees.0", "guests.0", "groups.0"}


def test_step_guests_become_org_guests(api: httpx.Client) -> None:
    template = new_template(api)
    new_step(api, template["id"], guests=["vendor+sec@outside.example"])
    emails = [g["email"] for g in data(api.get("/guests"))]
    assert emails == ["vendor+sec@outside.example"]
    assert (
        data(api.get("/guests/vendor%2Bsec%40outside.example"))["email"]
        == "vendor+sec@outside.example"
    )


def test_deadline_unit_is_stored_unchecked(api: httpx.Client) -> None:
    template = new_template(api)
    step = new_step(
        api, template["id"], deadline={"value": 3, "unit": "fortnights", "option": "from"}
    )
    assert step["deadline"]["unit"] == "fortnights"


def test_capture_rules(api: httpx.Client) -> None:
    template = new_template(api)
    step = new_step(api, template["id"])
    url = f"{_steps_url(template)}/{step['id']}/captures"
    found = errors(api.post(url, json={"field_type": "number"}))
    assert set(found) >= {"label", "field_type", "required"}
    assert "required" in errors(
        api.post(url, json={"label": "A", "field_type": "text", "required": "yes"})
    )
    assert "options" in errors(
        api.post(url, json={"label": "A", "field_type": "dropdown", "required": False})
    )
    bad_ids = errors(
        api.post(
            url,
            json={
                "label": "A",
                "field_type": "multiselect",
                "required": False,
                "options": [{"id": "1", "text": "A"}, {"id": 2, "label": "B"}],
            },
        )
    )
    assert "options.0.id" in bad_ids and "options.1.text" in bad_ids
    assert "options" in errors(
        api.post(
            url,
            json={
                "label": "A",
                "field_type": "radio",
                "required": False,
                "options": [{"id": 1, "text": "Only"}],
            },
        )
    )
    assert "columns" in errors(
        api.post(url, json={"label": "A", "field_type": "table", "required": False})
    )
    table = new_capture(
        api,
        template["id"],
        step["id"],
        label="Items",
        field_type="table",
        columns=[{"id": 1, "label": "Name"}],
    )
    assert table["columns"] == [{"id": 1, "label": "Name"}]


def test_capture_update_revalidates_the_whole_field(api: httpx.Client) -> None:
    template = new_template(api)
    step = new_step(api, template["id"])
    capture = new_capture(api, template["id"], step["id"], label="Vendor")
    url = f"{_steps_url(template)}/{step['id']}/captures/{capture['id']}"
    assert set(errors(api.put(url, json={"label": "Supplier"}))) == {"field_type", "required"}
    updated = data(
        api.put(
            url,
            json={"label": "Supplier", "field_type": "text", "required": True, "description": "x"},
        )
    )
    assert updated["label"] == "Supplier" and updated["required"] is True
    assert updated["id"] == capture["id"] and updated["alias"] == capture["alias"], (
        "alias is frozen"
    )
    assert "description" not in updated


def test_captures_reorder_move_and_delete(api: httpx.Client) -> None:
    template = new_template(api)
    step = new_step(api, template["id"])
    other = new_step(api, template["id"], title="Other")
    a = new_capture(api, template["id"], step["id"], label="A")
    b = new_capture(api, template["id"], step["id"], label="B")
    c = new_capture(api, template["id"], step["id"], label="C", position=1)
    base = f"{_steps_url(template)}/{step['id']}"

    def labels(step_id: str) -> list[str]:
        return [x["label"] for x in data(api.get(f"{_steps_url(template)}/{step_id}"))["captures"]]

    assert labels(step["id"]) == ["C", "A", "B"], "create honours position"
    data(api.put(f"{base}/captures", json={"capture_id": b["id"], "position": 1}))
    assert labels(step["id"]) == ["B", "C", "A"]
    moved = data(
        api.put(
            f"{base}/captures/{a['id']}/move-out",
            json={"target_step_id": other["id"], "position": 1},
        )
    )
    assert moved["step_id"] == other["id"]
    assert labels(step["id"]) == ["B", "C"] and labels(other["id"]) == ["A"]
    assert api.delete(f"{base}/captures/{c['id']}").status_code == 200
    assert labels(step["id"]) == ["B"]
    assert api.delete(f"{base}/captures/{c['id']}").status_code == 404


def _rule(
    template: dict[str, Any], condition: dict[str, Any], action: dict[str, Any]
) -> dict[str, Any]:
    return {"automated_alias": "Rule", "conditions": [condition], "then_actions": [action]}


def test_automations_are_inlined_and_guard_what_they_use(api: httpx.Client) -> None:
    template = new_template(
        api, prerun=[{"label": "Amount", "field_type": "text", "required": True}]
    )
    prerun = template["prerun"][0]
    submit = new_step(api, template["id"], title="Submit")
    approve = new_step(api, template["id"], title="Approve", step_type="approval")
    field = new_capture(api, template["id"], submit["id"], label="Vendor")
    url = f"/checklists/{template['id']}/automated-actions"
    body = {
        "automated_alias": "Skip small",
        "conditions": [
            {
                "conditionable_id": prerun["id"],
                "conditionable_type": "Prerun",
                "operation": "less_than",
                "statement": "100",
                "logic": "and",
            },
            {
                "conditionable_id": field["id"],
                "conditionable_type": "Capture",
                "operation": "is_empty",
                "statement": None,
                "logic": "or",
            },
        ],
        "then_actions": [
            {"action_type": "visibility", "action_verb": "hide", "target_step_id": approve["id"]}
        ],
        "condition_logic": "dropped",
    }
    rule = data(api.post(url, json=body), 201)
    assert [c["position"] for c in rule["conditions"]] == [1, 2]
    inline = data(api.get(f"/checklists/{template['id']}"))["automated_actions"]
    assert [r["id"] for r in inline] == [rule["id"]]
    steps = _steps_url(template)
    assert api.delete(f"{steps}/{submit['id']}/captures/{field['id']}").status_code == 403
    assert api.delete(f"/checklists/{template['id']}/preruns/{prerun['id']}").status_code == 403
    assert api.delete(f"{steps}/{approve['id']}").status_code == 403
    changed = data(api.put(f"{url}/{rule['id']}", json={**body, "automated_alias": "Renamed"}))
    assert changed["automated_alias"] == "Renamed"
    assert api.delete(f"{url}/{rule['id']}").status_code == 200
    assert api.delete(f"{steps}/{submit['id']}/captures/{field['id']}").status_code == 200
    assert api.delete(f"{steps}/{approve['id']}").status_code == 200


def test_automation_rules_are_validated(api: httpx.Client) -> None:
    template = new_template(api)
    step = new_step(api, template["id"])
    url = f"/checklists/{template['id']}/automated-actions"
    condition = {
        "conditionable_id": step["id"],
        "conditionable_type": "Step",
        "operation": "completed",
        "statement": "any_time",
    }
    assert set(errors(api.post(url, json={}))) >= {"automated_alias", "conditions", "then_actions"}
    bad_verb = errors(
        api.post(
            url,
            json=_rule(
                template,
                condition,
                {"action_type": "status", "action_verb": "complete", "target_step_id": step["id"]},
            ),
        )
    )
    assert bad_verb["then_actions.0.action_verb"] == ["The action verb only accepts reopen."]
    no_statement = {k: v for k, v in condition.items() if k != "statement"}
    assert "conditions.0.statement" in errors(
        api.post(
            url,
            json=_rule(
                template,
                no_statement,
                {"action_type": "visibility", "action_verb": "show", "target_step_id": step["id"]},
            ),
        )
    )
    deadline = {
        "action_type": "deadline",
        "action_verb": "deadline",
        "target_step_id": step["id"],
        "deadline": {"value": 1, "unit": "day", "option": "from"},
    }
    assert "then_actions.0.deadline" in errors(
        api.post(url, json=_rule(template, condition, deadline))
    )
    assign = {
        "action_type": "assignment",
        "action_verb": "assign",
        "target_step_id": step["id"],
        "assignees": {"users": []},
    }
    assert "then_actions.0.assignees" in errors(
        api.post(url, json=_rule(template, condition, assign))
    )
    unknown = {**condition, "conditionable_id": "0" * 32}
    assert "conditions.0.conditionable_id" in errors(
        api.post(
            url,
            json=_rule(
                template,
                unknown,
                {
                    "action_type": "assignment",
                    "action_verb": "clear_assignees",
                    "target_step_id": step["id"],
                },
            ),
        )
    )


def test_a_deadline_anchor_blocks_step_delete(api: httpx.Client) -> None:
    template = new_template(api)
    submit = new_step(api, template["id"], title="Submit")
    new_step(
        api,
        template["id"],
        title="Approve",
        deadline={"value": 1, "unit": "days", "option": "from", "step": submit["id"]},
    )
    assert api.delete(f"{_steps_url(template)}/{submit['id']}").status_code == 403
