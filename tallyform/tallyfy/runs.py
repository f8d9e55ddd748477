"""Processes (runs) launched from templates, and their tasks: the requests of ``tallyform
test --org``, with what comes back as typed values.

Paths and bodies are those Tallyfy's own clients send (the Python SDK's
``task_management``, the Go CLI's ``pkg/tallyfy``, the MCP server's ``process_management``
and ``task_management``; Tallyfy's API pages "Launch process", "List process tasks",
"Complete task", "Update task", "Archive process"):

- launch: ``POST /runs`` ``{"checklist_id", "name", "prerun": {PRERUN_ID: value}}``, the
  kick-off answers keyed by each field's id (an alias or label is dropped silently);
- tasks: ``GET /runs/{id}/tasks`` (paginated); a task hidden by rules has the status
  ``auto-skipped``;
- form values: ``PUT /runs/{id}/tasks/{task}`` ``{"taskdata": {CAPTURE_ID: value}}``
  (a completion cannot carry them);
- complete: ``POST /runs/{id}/completed-tasks`` ``{"task_id", "is_approved"}``;
  reopen: ``DELETE /runs/{id}/completed-tasks/{task}``;
- archive: ``DELETE /runs/{id}``.

Values take the shape each field type wants (reference 4.4): a dropdown's option as
``{"id", "text"}``, a radio button's as its text, a checklist's checked items as
``{"id", "text", "selected": true}``, an assignee picker's people as
``{"users": [id], "guests": [email], "groups": [id]}``; anything else as text.

A launch or a completion is sent once: after a lost answer it is not repeated (a second
launch is a second process; a second completion fires the task's webhooks again).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tallyform.client import Record, TallyfyClient
from tallyform.model.state import FieldState
from tallyform.stamps import parse_time
from tallyform.tallyfy.read import LiveOrg
from tallyform.tallyfy.records import FieldRecord

HIDDEN = "auto-skipped"
COMPLETED = frozenset({"completed", "complete"})


@dataclass(frozen=True)
class Owners:
    """Who a task is assigned to, as the API names them."""

    users: tuple[int, ...] = ()
    guests: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    id: str
    name: str
    started_at: datetime | None


@dataclass(frozen=True)
class Task:
    id: str
    step_id: str
    status: str
    task_type: str
    owners: Owners
    deadline: datetime | None
    completed_at: datetime | None

    @property
    def hidden(self) -> bool:
        return self.status == HIDDEN

    @property
    def completed(self) -> bool:
        return self.status in COMPLETED or self.completed_at is not None


def _run(raw: Any) -> Run:
    data = raw if isinstance(raw, dict) else {}
    return Run(
        str(data.get("id") or ""),
        str(data.get("name") or ""),
        parse_time(data.get("started_at") or data.get("created_at")),
    )


def _owners(raw: Any) -> Owners:
    data = raw if isinstance(raw, dict) else {}

    def listed(name: str) -> list[Any]:
        found = data.get(name)
        return found if isinstance(found, list) else []

    def user(item: Any) -> int | None:
        found = item.get("id") if isinstance(item, dict) else item
        return found if isinstance(found, int) and not isinstance(found, bool) else None

    return Owners(
        tuple(u for u in map(user, listed("users")) if u is not None),
        tuple(str(g if not isinstance(g, dict) else g.get("email")) for g in listed("guests")),
        tuple(str(g if not isinstance(g, dict) else g.get("id")) for g in listed("groups")),
    )


def _task(raw: Any) -> Task:
    data = raw if isinstance(raw, dict) else {}
    return Task(
        id=str(data.get("id") or ""),
        step_id=str(data.get("step_id") or ""),
        status=str(data.get("status") or ""),
        task_type=str(data.get("task_type") or "task"),
        owners=_owners(data.get("owners")),
        deadline=parse_time(data.get("deadline")),
        completed_at=parse_time(data.get("completed_at")),
    )


def launch(client: TallyfyClient, template_id: str, name: str, prerun: Mapping[str, Any]) -> Run:
    body: dict[str, Any] = {"checklist_id": template_id, "name": name}
    if prerun:
        body["prerun"] = dict(prerun)
    return _run(client.create("/runs", body, lambda: _launched(client, template_id, name)))


def _launched(client: TallyfyClient, template_id: str, name: str) -> Record | None:
    """The run named ``name`` of the template, if a launch whose answer was lost made it
    (each run tallyform launches has a name of its own)."""
    rows = client.list_all("/runs", {"checklist_id": template_id})
    return next((row for row in rows if row.get("name") == name), None)


def tasks(client: TallyfyClient, run_id: str) -> list[Task]:
    return [_task(row) for row in client.list_all(f"/runs/{run_id}/tasks")]


def fill(client: TallyfyClient, run_id: str, task_id: str, taskdata: Mapping[str, Any]) -> None:
    client.put(f"/runs/{run_id}/tasks/{task_id}", {"taskdata": dict(taskdata)})


def complete(client: TallyfyClient, run_id: str, task_id: str, approved: bool | None) -> None:
    body: dict[str, Any] = {"task_id": task_id}
    if approved is not None:
        body["is_approved"] = approved
    client.call("POST", f"/runs/{run_id}/completed-tasks", json=body, repeatable=False)


def reopen(client: TallyfyClient, run_id: str, task_id: str) -> None:
    client.call("DELETE", f"/runs/{run_id}/completed-tasks/{task_id}", repeatable=False)


def archive(client: TallyfyClient, run_id: str) -> None:
    client.delete(f"/runs/{run_id}")


def approval(outcome: str) -> bool | None:
    """``is_approved`` for a scenario's outcome: true approves (or acknowledges), false
    rejects (or lets an expiring task expire), None for a plain completion."""
    return {"approved": True, "acknowledged": True, "rejected": False, "expired": False}.get(
        outcome
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _chosen(field: FieldRecord | None, value: Any) -> list[dict[str, Any]]:
    wanted = value if isinstance(value, list) else [value]
    options = {str(o.text).lower(): o for o in field.options} if field else {}
    found = []
    for item in wanted:
        option = options.get(_text(item).lower())
        found.append(
            {
                "id": option.id if option else None,
                "text": option.text if option else _text(item),
            }
        )
    return found


def _people(value: Any, org: LiveOrg) -> dict[str, list[Any]]:
    given = (
        value
        if isinstance(value, Mapping)
        else {"users": value if isinstance(value, list) else [value]}
    )
    people: dict[str, list[Any]] = {"users": [], "guests": [], "groups": []}
    for email in given.get("users") or []:
        found = [uid for uid, known in org.users.items() if known == str(email).lower()]
        if found:
            people["users"] += found
        else:
            people["guests"].append(str(email))
    people["guests"] += [str(g) for g in given.get("guests") or []]
    people["groups"] += [
        gid
        for name in given.get("groups") or []
        for gid, known in org.groups.items()
        if known == name
    ]
    return people


def encode(field: FieldState, value: Any, org: LiveOrg) -> Any:
    """A scenario's answer as the API takes it for this live field (as read: its record)."""
    record = field.record if isinstance(field.record, FieldRecord) else None
    kind = record.field_type if record else None
    if kind == "dropdown":
        return _chosen(record, value)[0]
    if kind == "multiselect":
        return [{**option, "selected": True} for option in _chosen(record, value)]
    if kind == "radio":
        return _chosen(record, value)[0]["text"]
    if kind == "assignees_form":
        return _people(value, org)
    if kind == "table" or isinstance(value, list | dict):
        return value
    return _text(value)
