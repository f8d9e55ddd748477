"""A change's attributes in the words of the template file, as every plan format shows them.

The engine compares normalised values (:mod:`tallyform.model.state`): a rule's actions as
``{"verb": ..., "step": ...}`` with every people list present, condition values as
strings, a deadline as one mapping. A reviewer reads the YAML they wrote, so a plan says
it back that way:

- a rule's action as written, ``{assign_only: configure, assignees: {users: [...]}}``, with
  empty people lists and default words (a deadline's ``option: from``, a webhook's name
  when it is the rule's) left out, and ``match: all`` left out when it is the default;
- a condition's value as the YAML would read it: ``100`` a number, ``true`` a boolean;
- of a mapping that changed in place (a deadline), only the keys that changed, each as
  ``deadline.value``;
- values in YAML flow style (:func:`flow`): ``[Hardware, Software]``, ``{value: 2, unit:
  days}``; a top-level string keeps its quotes, so spaces at its ends show.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tallyform.model.changes import AttrChange, Change, ItemChange
from tallyform.model.kinds import Kind

PEOPLE_VERBS = ("assign", "assign_only", "unassign")
# Plain in flow style, and read back as the same string: no indicator, no leading digit,
# dot or sign (``1e3``, ``0x10``, ``1_000``, ``2026-01-01`` read as numbers or dates).
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9 _./@+()'-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$")


def number_or_text(value: Any) -> Any:
    """A condition value as the YAML reads it: ``"100"`` is 100, ``"2.5"`` 2.5, ``"true"``
    true; anything else is left as it is (``"007"`` stays text: YAML would not read 7)."""
    if not isinstance(value, str):
        return value
    if value in ("true", "false"):
        return value == "true"
    if _NUMBER.match(value):
        return float(value) if "." in value else int(value)
    return value


def _people(value: Any) -> Any:
    """People as written: the lists that name someone (users, groups, guests)."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v not in ([], None)}
    return value


def _condition(condition: Any) -> Any:
    if not isinstance(condition, dict) or "value" not in condition:
        return condition
    return {**condition, "value": number_or_text(condition["value"])}


def _action(action: Any, rule: str) -> Any:
    """``{"verb": v, "step": s, ...}`` as the YAML writes it: ``{v: s, ...}``."""
    if not isinstance(action, dict) or "verb" not in action:
        return action
    written: dict[str, Any] = {str(action["verb"]): action.get("step")}
    for name, item in action.items():
        if name in ("verb", "step"):
            continue
        if name == "assignees":
            people = _people(item)
            if people:
                written["assignees"] = people
        elif name in ("deadline", "webhook") and isinstance(item, dict):
            for key, part in item.items():
                default = (key == "option" and part == "from") or (key == "name" and part == rule)
                if part is not None and not default:
                    written[key] = part
        else:
            written[name] = item
    return written


def _step_deadline(value: Any) -> Any:
    """A step's deadline as written: no ``option: from`` (the default), no empty anchor."""
    if not isinstance(value, dict):
        return value
    return {k: v for k, v in value.items() if v is not None and not (k == "option" and v == "from")}


def written(change: Change, name: str, value: Any) -> Any:
    """One attribute's value as the template file says it."""
    if change.kind is Kind.RULE and isinstance(value, list):
        if name == "when":
            return [_condition(c) for c in value]
        if name == "then":
            return [_action(a, change.path[-1]) for a in value]
    if change.kind is Kind.STEP and name == "deadline":
        return _step_deadline(value)
    if name in ("assignees", "access"):
        return _people(value)
    return value


def _item(change: Change, attribute: AttrChange, item: ItemChange) -> ItemChange:
    return ItemChange(
        item.action,
        written(change, attribute.name, [item.old])[0] if item.old is not None else None,
        written(change, attribute.name, [item.new])[0] if item.new is not None else None,
        item.at,
    )


def _parts(name: str, old: dict[str, Any], new: dict[str, Any]) -> list[AttrChange]:
    """Of a mapping changed in place, each key that changed, as ``name.key``."""
    keys = [*new, *(k for k in old if k not in new)]
    return [
        AttrChange(f"{name}.{key}", old.get(key), new.get(key))
        for key in keys
        if old.get(key) != new.get(key)
    ]


def worded(change: Change) -> list[AttrChange]:
    """The change's attributes in the template file's words (see the module's docstring)."""
    out: list[AttrChange] = []
    for attribute in change.attributes:
        name = attribute.name
        if (
            change.kind is Kind.RULE
            and change.creates
            and (name, attribute.new) == ("match", "all")
        ):
            continue  # the default, which the file does not say
        old = written(change, name, attribute.old)
        new = written(change, name, attribute.new)
        if attribute.items:
            items = tuple(_item(change, attribute, i) for i in attribute.items)
            out.append(AttrChange(name, old, new, items))
        elif isinstance(attribute.old, dict) and isinstance(attribute.new, dict):
            out += _parts(name, attribute.old, attribute.new) or [AttrChange(name, old, new)]
        else:
            out.append(AttrChange(name, old, new))
    return out


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    plain = (
        _PLAIN.match(text)
        and text == text.strip()
        and text.lower() not in _RESERVED
        and number_or_text(text) == text
    )
    return text if plain else json.dumps(text, ensure_ascii=False)


def flow(value: Any) -> str:
    """``value`` in YAML flow style, strings plain where YAML reads them back as strings."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return _scalar(value)


def shown(value: Any) -> str:
    """A value on a plan line: a string quoted (its ends show), anything else in flow style."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return flow(value)
