"""The emulator's processes: launched from a template with kick-off answers, their tasks
shown, hidden, assigned and due as tallyform's rule engine decides, answered, completed,
approved, rejected and reopened, and archived; with the 422s Tallyfy answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyform.emulator import Emulator
from tallyform.stamps import parse_time
from tests.emulator_helpers import connect, data, errors, new_capture, new_step, new_template


@pytest.fixture
def org(tmp_path: Path) -> Emulator:
    return Emulator(state_file=tmp_path / "org.json")


def _template(api: httpx.Client) -> dict[str, Any]:
    """Region (EU, US; required) at kick-off; draft (a required field), review (approval,
    due 2 days after draft), eu-check (shown for EU); a rejected review reopens draft."""
    region = {
        "label": "Region",
        "field_type": "dropdown",
        "required": True,
        "position": 1,
        "options": [{"id": 1, "text": "EU"}, {"id": 2, "text": "US"}],
    }
    template = new_template(api, title="Flow", prerun=[region])
    draft = new_step(api, template["id"], title="Draft", assignees=[2])
    capture = new_capture(api, template["id"], draft["id"], label="Cost", required=True)
    deadline = {"value": 2, "unit": "days", "option": "from", "step": draft["id"]}
    review = new_step(api, template["id"], title="Review", step_type="approval", deadline=deadline)
    check = new_step(api, template["id"], title="EU check", assign_run_starter=True)
    prerun_id = data(api.get(f"/checklists/{template['id']}"))["prerun"][0]["id"]
    rules = [
        ("EU needs a check", prerun_id, "Prerun", "equals", "EU", "visibility", "show", check),
        (
            "Rejected goes back",
            review["id"],
            "Step",
            "rejected",
            "any_time",
            "status",
            "reopen",
            draft,
        ),
    ]
    for name, subject, kind, operation, statement, action, verb, target in rules:
        rule = {
            "automated_alias": name,
            "conditions": [
                {
                    "conditionable_id": subject,
                    "conditionable_type": kind,
                    "operation": operation,
                    "statement": statement,
                    "logic": "and",
                }
            ],
            "then_actions": [
                {"action_type": action, "action_verb": verb, "target_step_id": target["id"]}
            ],
        }
        data(api.post(f"/checklists/{template['id']}/automated-actions", json=rule), 201)
    return {
        "id": template["id"],
        "prerun": prerun_id,
        "capture": capture["id"],
        "steps": {"draft": draft["id"], "review": review["id"], "check": check["id"]},
    }


def _tasks(api: httpx.Client, run_id: str) -> dict[str, dict[str, Any]]:
    rows = data(api.get(f"/runs/{run_id}/tasks", params={"per_page": 100}))
    return {row["title"]: row for row in rows}


def _launch(api: httpx.Client, made: dict[str, Any], region: str) -> str:
    prerun = {made["prerun"]: {"id": 1 if region == "EU" else 2, "text": region}}
    body = {"checklist_id": made["id"], "name": "A run", "prerun": prerun}
    run: dict[str, Any] = data(api.post("/runs", json=body), 201)
    assert run["status"] == "active" and run["checklist_id"] == made["id"]
    return str(run["id"])


def test_a_process_follows_its_templates_rules(org: Emulator) -> None:
    with connect(org, "in_process") as api:
        made = _template(api)
        refused = api.post("/runs", json={"checklist_id": made["id"], "name": "No answer"})
        assert errors(refused) == {f"prerun.{made['prerun']}": ["Region is required"]}
        us = _tasks(api, _launch(api, made, "US"))
        assert us["EU check"]["status"] == "auto-skipped"
        assert us["Draft"]["status"] == "not-started"
        assert us["Draft"]["owners"] == {"users": [2], "guests": [], "groups": []}
        run_id = _launch(api, made, "EU")
        tasks = _tasks(api, run_id)
        assert tasks["EU check"]["status"] == "not-started"
        assert tasks["EU check"]["owners"]["users"] == [1], "the starter: the token's user"
        assert tasks["Review"]["deadline"] is None, "due 2 days after a draft not done yet"

        draft, review = tasks["Draft"]["id"], tasks["Review"]["id"]
        done = api.post(f"/runs/{run_id}/completed-tasks", json={"task_id": draft})
        assert errors(done) == {f"taskdata.{made['capture']}": ["Cost is required"]}
        body = {"taskdata": {made["capture"]: "5000", "not-a-field": "x"}}
        answered = data(api.put(f"/runs/{run_id}/tasks/{draft}", json=body))
        assert answered["taskdata"] == {made["capture"]: "5000"}
        completed = data(api.post(f"/runs/{run_id}/completed-tasks", json={"task_id": draft}))
        assert completed["status"] == "completed"
        tasks = _tasks(api, run_id)
        finished = parse_time(tasks["Draft"]["completed_at"])
        assert finished is not None
        assert parse_time(tasks["Review"]["deadline"]) == finished + timedelta(days=2)

        undecided = api.post(f"/runs/{run_id}/completed-tasks", json={"task_id": review})
        assert errors(undecided) == {"is_approved": ["The is approved field is required."]}
        rejected = {"task_id": review, "is_approved": False}
        assert (
            data(api.post(f"/runs/{run_id}/completed-tasks", json=rejected))["is_approved"] is False
        )
        tasks = _tasks(api, run_id)
        assert tasks["Draft"]["status"] == "not-started", "the rejection reopened the draft"
        assert tasks["Draft"]["completed_at"] is None
        assert tasks["Review"]["deadline"] is None

        reopened = api.delete(f"/runs/{run_id}/completed-tasks/{review}")
        assert data(reopened)["status"] == "not-started"
        us_check = us["EU check"]["id"]
        hidden = api.post(
            f"/runs/{_launch(api, made, 'US')}/completed-tasks", json={"task_id": us_check}
        )
        assert hidden.status_code == 404, "a task of another run"


def test_a_hidden_task_cannot_be_completed_and_an_archived_run_is_gone(org: Emulator) -> None:
    with connect(org, "in_process") as api:
        made = _template(api)
        run_id = _launch(api, made, "US")
        check = _tasks(api, run_id)["EU check"]["id"]
        refused = api.post(f"/runs/{run_id}/completed-tasks", json={"task_id": check})
        assert errors(refused) == {
            "task_id": ["This task is hidden in this process and cannot be completed."]
        }
        archived = data(api.delete(f"/runs/{run_id}"))
        assert archived["status"] == "archived" and archived["archived_at"]
        assert api.get(f"/runs/{run_id}").status_code == 404
        assert api.get(f"/runs/{run_id}/tasks").status_code == 404
        assert api.delete(f"/runs/{run_id}").status_code == 404


def test_processes_are_kept_in_the_state_file(org: Emulator, tmp_path: Path) -> None:
    with connect(org, "in_process") as api:
        made = _template(api)
        run_id = _launch(api, made, "EU")
        draft = _tasks(api, run_id)["Draft"]["id"]
        api.put(f"/runs/{run_id}/tasks/{draft}", json={"taskdata": {made["capture"]: "1"}})
        data(api.post(f"/runs/{run_id}/completed-tasks", json={"task_id": draft}))
    with connect(Emulator(state_file=tmp_path / "org.json"), "in_process") as again:
        tasks = _tasks(again, run_id)
        assert tasks["Draft"]["status"] == "completed"
        assert tasks["EU check"]["status"] == "not-started"


def test_a_required_picker_answered_with_nobody_is_refused(org: Emulator) -> None:
    """An assignee picker's answer is read as its people, as the rule engine reads it: one
    naming nobody leaves a required picker blank, as offline `test` says."""
    picker = {"label": "Owner", "field_type": "assignees_form", "required": True, "position": 1}
    with connect(org, "in_process") as api:
        template = new_template(api, title="Picked", prerun=[picker])
        new_step(api, template["id"], title="Do")
        prerun_id = data(api.get(f"/checklists/{template['id']}"))["prerun"][0]["id"]
        nobody = {"users": [], "guests": [], "groups": []}
        body = {"checklist_id": template["id"], "name": "Nobody", "prerun": {prerun_id: nobody}}
        assert errors(api.post("/runs", json=body)) == {
            f"prerun.{prerun_id}": ["Owner is required"]
        }
        body["prerun"] = {prerun_id: {"users": [2], "guests": [], "groups": []}}
        assert data(api.post("/runs", json=body), 201)["checklist_id"] == template["id"]
