"""Automations (API: automated actions): if-then rules inlined on the template.

There is no GET route: rules are read from ``automated_actions`` on the template. A PUT
replaces the whole rule (conditions and actions), as the SDK's merge-before-PUT implies.
Under the ``rule_put_appends`` quirk it merges instead: a condition or action with a known
``id`` updates that one, one without an ``id`` is appended, and those left out stay.
"""

from __future__ import annotations

from typing import Any

from tallyform.emulator import validation
from tallyform.emulator.call import Call, dict_of
from tallyform.emulator.store import copied, new_id, now
from tallyform.emulator.wire import Response, item, not_found


def _conditions(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": new_id(),
            "conditionable_id": c.get("conditionable_id"),
            "conditionable_type": c.get("conditionable_type"),
            "operation": c.get("operation"),
            "statement": c.get("statement"),
            "logic": c.get("logic", "and"),
            "position": index,
            "column_contains_name": c.get("column_contains_name"),
        }
        for index, c in enumerate(raw, start=1)
    ]


def _actions(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    actions = []
    for index, a in enumerate(raw, start=1):
        people = a.get("assignees") or {}
        action = {
            "id": new_id(),
            "action_type": a.get("action_type"),
            "action_verb": a.get("action_verb"),
            "target_step_id": a.get("target_step_id"),
            "position": index,
            "actionable_id": a.get("actionable_id"),
            "actionable_type": a.get("actionable_type"),
            "deadline": a.get("deadline"),
            "assignees": {
                "users": list(people.get("users") or []),
                "guests": list(people.get("guests") or []),
                "groups": list(people.get("groups") or []),
            },
        }
        if a.get("action_type") == "webhook":
            action["webhook_url"] = a.get("webhook_url")
            action["alias_name"] = a.get("alias_name")
        actions.append(action)
    return actions


def _merged(
    kept: list[dict[str, Any]], sent: list[dict[str, Any]], made: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``rule_put_appends``: the rule's ``kept`` entries, each ``made`` from a ``sent`` entry
    in place of the kept one with its ``id``, else appended; positions renumbered."""
    merged = [dict(entry) for entry in kept]
    where = {entry["id"]: index for index, entry in enumerate(merged)}
    for raw, entry in zip(sent, made, strict=True):
        index = where.get(raw.get("id")) if isinstance(raw.get("id"), str) else None
        if index is None:
            merged.append(entry)
        else:
            merged[index] = {**entry, "id": raw["id"]}
    for position, entry in enumerate(merged, start=1):
        entry["position"] = position
    return merged


def _find(template: dict[str, Any], rule_id: str) -> dict[str, Any]:
    for rule in template["automated_actions"]:
        if rule["id"] == rule_id:
            return dict_of(rule)
    raise not_found()


def create_automation(call: Call) -> Response:
    template = call.template()
    body = call.body()
    validation.check_automation(body, template, call.state)
    stamp = now()
    rule = {
        "id": new_id(),
        "automated_alias": body["automated_alias"],
        "created_at": stamp,
        "last_updated": stamp,
        "archived_at": None,
        "conditions": _conditions(body["conditions"]),
        "then_actions": _actions(body["then_actions"]),
    }
    template["automated_actions"].append(rule)
    template["last_updated"] = stamp
    return item(copied(rule), 201)


def update_automation(call: Call) -> Response:
    template = call.template()
    rule = _find(template, call.params["automation"])
    body = call.body()
    validation.check_automation(body, template, call.state)
    stamp = now()
    conditions = _conditions(body["conditions"])
    actions = _actions(body["then_actions"])
    if call.quirks.rule_put_appends:
        conditions = _merged(rule["conditions"], body["conditions"], conditions)
        actions = _merged(rule["then_actions"], body["then_actions"], actions)
    rule.update(
        {
            "automated_alias": body["automated_alias"],
            "conditions": conditions,
            "then_actions": actions,
            "last_updated": stamp,
        }
    )
    template["last_updated"] = stamp
    return item(copied(rule))


def delete_automation(call: Call) -> Response:
    template = call.template()
    rule = _find(template, call.params["automation"])
    template["automated_actions"].remove(rule)
    template["last_updated"] = now()
    return call.deleted("Automation deleted.")
