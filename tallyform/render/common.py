"""What the plan renderers share: labels, symbols, value formatting, filtering noise."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tallyform.engine.changes import AttrChange, Change, Plan

Styler = Callable[
    [str, str], str
]  # (text, role) -> text; roles: create update delete reorder bold dim warn

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "reorder": "~"}
KIND_LABELS = {
    "template": "template",
    "kickoff": "kick-off field",
    "step": "step",
    "field": "field",
    "rule": "rule",
}
VERBS = {
    "create": "created",
    "update": "updated in place",
    "delete": "deleted",
    "reorder": "reordered",
}


def plain(text: str, role: str) -> str:
    return text


def is_empty(value: Any) -> bool:
    """Values a new object would have anyway; not worth a line in a plan."""
    if value in (None, False, "", [], {}):
        return True
    return isinstance(value, dict) and all(is_empty(v) for v in value.values())


def shown_attributes(change: Change) -> list[AttrChange]:
    """The attributes worth showing: for a create, those set to something."""
    if change.action == "create":
        return [a for a in change.attributes if not is_empty(a.new)]
    return change.attributes


def value(item: Any) -> str:
    if isinstance(item, dict):
        item = {k: v for k, v in item.items() if not is_empty(v)}
    if isinstance(item, list) and all(isinstance(v, str) for v in item):
        return "[" + ", ".join(item) + "]"
    return json.dumps(item, ensure_ascii=False)


def subject(change: Change) -> str:
    """How a change names its object: 'step "submit"', 'steps of template "x"'."""
    if change.action == "reorder":
        if change.kind == "step":
            return "steps"
        if change.kind == "kickoff":
            return "kick-off fields"
        return f'fields of step "{change.path[1]}"'
    return f'{KIND_LABELS[change.kind]} "{change.path[-1]}"'


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    return (
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['reorder']} to reorder."
    )


def setup_text(plan: Plan) -> str:
    kinds = (
        plan.setup[0]
        if len(plan.setup) == 1
        else ", ".join(plan.setup[:-1]) + " and " + plan.setup[-1]
    )
    return (
        f"The org has no tallyform_key custom field for {kinds}. Apply defines them first "
        "(it needs an org admin's token); tallyform uses them to recognise its objects after renames."
    )
