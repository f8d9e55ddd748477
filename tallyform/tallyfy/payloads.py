"""Turning normalised states into the API's request bodies.

Names become ids here (emails to member ids, group names to group ids, step and field
keys to live ids), and every update carries what the API wants on every call: a
template's ``title`` and its ``users``/``groups`` (absent lists would be cleared), a
step's ``title`` and its ``assignees``/``guests``/``groups``, a field's ``label``,
``field_type`` and ``required`` with its options or columns.

No body holds a null, as none of Tallyfy's own clients send one: a value the YAML leaves
out is left out of the request, and one that is set in the org is cleared with an empty
string (Tallyfy's API is Laravel, whose default middleware reads ``""`` as null).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tallyform.model import Option
from tallyform.model.state import (
    FIELD_SETTINGS,
    STEP_SETTINGS,
    TEMPLATE_SETTINGS,
    FieldState,
    StepState,
)
from tallyform.tallyfy.read import LiveOrg
from tallyform.tallyfy.records import FieldRecord, StepRecord, TemplateRecord, Writable
from tallyform.tallyfy.wire import field_api_name


def without_nulls(body: dict[str, Any], live: Writable | None) -> dict[str, Any]:
    """``body`` with each None left out, or sent as "" where ``live`` holds a value to clear."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if value is not None:
            out[key] = value
        elif live is not None and key in live.filled:
            out[key] = ""
    return out


def template_body(
    attrs: Mapping[str, Any],
    org: LiveOrg,
    folder_id: str | None,
    live: TemplateRecord | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": attrs["title"],
        "type": attrs["type"],
        "summary": attrs["summary"],
        "users": [org.user_id(e) for e in attrs["access"]["users"]],
        "groups": [org.group_id(g) for g in attrs["access"]["groups"]],
        "folder_id": folder_id,
    }
    for name in TEMPLATE_SETTINGS:
        body[name] = attrs[name]
    return without_nulls(body, live)


def _ids(texts: list[str], pinned: Mapping[str, int], existing: Mapping[str, int]) -> list[int]:
    """Option or column ids: pinned ones, else the live ids (kept stable), else new ones."""
    used = set(pinned.values())
    chosen: list[int | None] = []
    for text in texts:
        wanted = pinned.get(text)
        if wanted is None and existing.get(text) is not None and existing[text] not in used:
            wanted = existing[text]
        if wanted is not None:
            used.add(wanted)
        chosen.append(wanted)
    next_id = max(used | set(existing.values()) | {0}) + 1
    result = []
    for wanted in chosen:
        if wanted is None:
            wanted = next_id
            next_id += 1
        result.append(wanted)
    return result


def field_body(field: FieldState, live: FieldRecord | None) -> dict[str, Any]:
    attrs = field.attrs
    body: dict[str, Any] = {
        "label": attrs["label"],
        "field_type": attrs["type"],
        "required": attrs["required"],
        # Always sent: a field whose type changes must lose its old options or columns.
        "options": [],
        "columns": [],
    }
    source_options: tuple[Option, ...] = field.source.options if field.source else ()
    pinned = {o.text: o.id for o in source_options if o.id is not None}
    existing = {o.text: o.id for o in live.options if isinstance(o.id, int)} if live else {}
    if attrs["options"]:
        ids = _ids(attrs["options"], pinned, existing)
        body["options"] = [{"id": i, "text": t} for i, t in zip(ids, attrs["options"], strict=True)]
    if attrs["columns"]:
        pinned_columns = {
            c.label: c.id
            for c in (field.source.columns if field.source else ())
            if c.id is not None
        }
        existing_columns = (
            {c.text: c.id for c in live.columns if isinstance(c.id, int)} if live else {}
        )
        ids = _ids(attrs["columns"], pinned_columns, existing_columns)
        body["columns"] = [
            {"id": i, "label": t} for i, t in zip(ids, attrs["columns"], strict=True)
        ]
    settings: Mapping[str, Any] = attrs
    for name in FIELD_SETTINGS:
        body[field_api_name(name)] = settings[name]
    body["default_value_enabled"] = attrs["default_value"] is not None
    return without_nulls(body, live)


def step_deadline(step: StepState, ids: Mapping[str, str]) -> dict[str, Any] | None:
    """The step's deadline for the API (the step it counts from has an id by now: a new
    step whose anchor is made later waits for it, see ``step_body``)."""
    deadline = step.attrs["deadline"]
    if deadline is None:
        return None
    anchor = deadline["step"]
    return {
        "value": deadline["value"],
        "unit": deadline["unit"],
        "option": deadline["option"],
        "step": "start_run" if anchor is None else ids[anchor],
    }


def step_body(
    step: StepState,
    org: LiveOrg,
    ids: Mapping[str, str],
    template_id: str,
    live: StepRecord | None,
    deadline_waits: bool = False,
) -> dict[str, Any]:
    """A step's body; ``deadline_waits``: without its deadline, whose anchor is a step the
    plan makes later (that step's creation sends it, :class:`tallyform.model.changes.Change`)."""
    attrs = step.attrs
    deadline = None if deadline_waits else step_deadline(step, ids)
    body: dict[str, Any] = {
        "checklist_id": template_id,
        "title": attrs["title"],
        "step_type": attrs["type"],
        "summary": attrs["summary"],
        "assignees": [org.user_id(e) for e in attrs["assignees"]["users"]],
        "guests": list(attrs["assignees"]["guests"]),
        "groups": [org.group_id(g) for g in attrs["assignees"]["groups"]],
        "deadline": deadline,
        "start_date": attrs["start_date"],
    }
    settings: Mapping[str, Any] = attrs
    for name in STEP_SETTINGS:
        body[name] = settings[name]
    return without_nulls(body, live)


def nested_step(
    step: StepState, fields: list[FieldState], org: LiveOrg, position: int
) -> dict[str, Any]:
    """A step as a template's create carries it nested, with its form fields, in the
    shape of a template read with its steps (what Tallyfy's Go CLI posts to import a whole
    template, reference 9.3): the bodies the step's and each field's own creates send, at
    their positions, less the template's id (not made yet) and a deadline that counts from
    a step (no step has an id yet; it is sent once the steps are made)."""
    deadline = step.attrs["deadline"]
    waits = deadline is not None and deadline["step"] is not None
    body = step_body(step, org, {}, "", None, waits)
    del body["checklist_id"]
    captures = [{**field_body(f, None), "position": n} for n, f in enumerate(fields, start=1)]
    return {**body, "position": position, "captures": captures}


def _people_body(people: Mapping[str, list[str]], org: LiveOrg) -> dict[str, Any]:
    return {
        "users": [org.user_id(e) for e in people.get("users", [])],
        "guests": list(people.get("guests", [])),
        "groups": [org.group_id(g) for g in people.get("groups", [])],
    }


_ACTION_TYPES = {
    "show": "visibility",
    "hide": "visibility",
    "reopen": "status",
    "deadline": "deadline",
    "assign": "assignment",
    "assign_only": "assignment",
    "unassign": "assignment",
    "clear_assignees": "assignment",
    "webhook": "webhook",
}
_API_VERBS = {"webhook": "emit_webhook"}  # where the YAML's verb is not the API's


def rule_body(
    name: str,
    attrs: Mapping[str, Any],
    org: LiveOrg,
    ids: Mapping[str, str],
    kickoff_keys: set[str],
) -> dict[str, Any]:
    logic = "or" if attrs["match"] == "any" else "and"
    conditions = []
    for condition in attrs["when"]:
        if "step" in condition:
            kind, target, statement = "Step", condition["step"], "any_time"
        else:
            kind = "Prerun" if condition["field"] in kickoff_keys else "Capture"
            target, statement = condition["field"], condition.get("value")
        entry: dict[str, Any] = {
            "conditionable_id": ids[target],
            "conditionable_type": kind,
            "operation": condition["is"],
            "logic": logic,
            "statement": "" if statement is None else statement,  # must be present; "" is none
        }
        if condition.get("column"):
            entry["column_contains_name"] = condition["column"]
        conditions.append(entry)
    actions = []
    for action in attrs["then"]:
        verb = action["verb"]
        entry = {
            "action_type": _ACTION_TYPES[verb],
            "action_verb": _API_VERBS.get(verb, verb),
            "target_step_id": ids[action["step"]],
        }
        if "assignees" in action:
            entry["assignees"] = _people_body(action["assignees"], org)
        if "deadline" in action:
            entry["deadline"] = dict(action["deadline"])
        if "webhook" in action:
            entry["webhook_url"] = action["webhook"]["url"]
            entry["alias_name"] = action["webhook"]["name"]
        actions.append(entry)
    return {"automated_alias": name, "conditions": conditions, "then_actions": actions}
