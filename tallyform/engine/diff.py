"""Comparing two normalised objects: the only user of deepdiff.

Which attributes differ is plain equality; deepdiff finds, inside a list attribute that
changed (options, columns, assignees, a rule's conditions), which elements were added,
removed or renamed. Each becomes tallyform's own
:class:`~tallyform.model.changes.AttrChange` with its
:class:`~tallyform.model.changes.ItemChange` list, so no deepdiff type leaves this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from deepdiff import DeepDiff

from tallyform.model.changes import AttrChange, ItemChange

_INDEX = re.compile(r"^root((?:\['[^']*'\])*)\[(\d+)\]$")
_KEY = re.compile(r"\['([^']*)'\]")
_MISSING = object()


def attr_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[AttrChange]:
    """Every top-level attribute whose value differs, in the declared order.

    Values compare as Python compares them, so ``True`` equals ``1`` and ``1`` equals
    ``1.0``: Tallyfy is a PHP application and may answer ``1`` for a setting sent as
    ``true``, and a plan must never list a write that would change nothing (it would be
    listed again after every apply). An attribute present on one side only differs, even
    when the other side's value is null.
    """
    if old == new:
        return []  # the usual case of a plan: most objects have not changed
    order = [*new, *(k for k in old if k not in new)]
    return [
        AttrChange(name, old.get(name), new.get(name), item_changes(old.get(name), new.get(name)))
        for name in order
        if old.get(name, _MISSING) != new.get(name, _MISSING)
    ]


def _where(path: str) -> tuple[str, int] | None:
    """``root['users'][2]`` as ("users", 2); None for a path that is not a list element."""
    found = _INDEX.match(path)
    if not found:
        return None
    return "/".join(_KEY.findall(found.group(1))), int(found.group(2))


def _shifted(old: Any, new: Any, at: str, was: Any, now: Any) -> bool:
    old_list = old.get(at, []) if isinstance(old, dict) else old
    new_list = new.get(at, []) if isinstance(new, dict) else new
    return was in new_list or now in old_list


def item_changes(old: Any, new: Any) -> tuple[ItemChange, ...]:
    """Elements added, removed or renamed in the lists of a value (a list, or a mapping of
    lists such as assignees); empty when the value is not made of plain lists."""
    if not isinstance(old, (list, dict)) or not isinstance(new, (list, dict)):
        return ()
    if type(old) is not type(new):
        return ()
    diff = DeepDiff(old, new, ignore_order=False, view="tree")
    items: list[ItemChange] = []
    for report, action in (
        ("iterable_item_added", "add"),
        ("iterable_item_removed", "remove"),
        ("values_changed", "rename"),
    ):
        for level in diff.get(report, []):
            where = _where(level.path())
            if (
                where is None
                or isinstance(level.t1, (dict, list))
                or isinstance(level.t2, (dict, list))
            ):
                return ()  # a nested change deepdiff cannot pin to one element: show it whole
            at = where[0]
            if action == "add":
                items.append(ItemChange("add", new=level.t2, at=at))
            elif action == "remove":
                items.append(ItemChange("remove", old=level.t1, at=at))
            elif _shifted(old, new, at, level.t1, level.t2):
                return ()  # elements moved rather than renamed: the order is what changed
            else:
                items.append(ItemChange("rename", old=level.t1, new=level.t2, at=at))
    if set(diff) - {"iterable_item_added", "iterable_item_removed", "values_changed"}:
        return ()
    return tuple(items)
