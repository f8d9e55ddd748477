"""Comparing a declared template with its live counterpart: the only user of deepdiff.

deepdiff finds which attributes differ; each is turned into tallyform's own
:class:`~tallyform.engine.changes.AttrChange` (the whole attribute, old and new), so no
deepdiff type leaves this module.
"""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff

from tallyform.engine.changes import AttrChange, Change
from tallyform.engine.state import FieldState, TemplateState

TITLE_MATCH_NOTE = "matched by {what} (it had no tallyform key); the key will be written"


def attr_changes(old: dict[str, Any], new: dict[str, Any]) -> list[AttrChange]:
    """Every top-level attribute whose value differs, in the declared order."""
    roots = set(
        DeepDiff(old, new, ignore_order=False, ignore_numeric_type_changes=True).affected_root_keys
    )
    order = [*new, *(k for k in old if k not in new)]
    return [AttrChange(name, old.get(name), new.get(name)) for name in order if name in roots]


def _created(kind: str, path: tuple[str, ...], attrs: dict[str, Any]) -> Change:
    return Change("create", kind, path, [AttrChange(k, None, v) for k, v in attrs.items()])


def _updated(
    kind: str,
    path: tuple[str, ...],
    old: dict[str, Any],
    new: dict[str, Any],
    live_id: str | None,
    matched_by: str | None,
    what: str,
) -> Change | None:
    attributes = attr_changes(old, new)
    note = None
    if matched_by == "title":
        attributes.insert(0, AttrChange("key", None, path[-1]))
        note = TITLE_MATCH_NOTE.format(what=what)
    if not attributes:
        return None
    return Change("update", kind, path, attributes, live_id, note)


def _fields(
    kind: str, template: str, desired: dict[str, FieldState], live: dict[str, FieldState]
) -> list[Change]:
    changes: list[Change] = []
    for key, wanted in desired.items():
        found = live.get(key)
        if found is None:
            changes.append(_created(kind, (template, key), wanted.attrs))
            continue
        change = _updated(
            kind,
            (template, key),
            found.attrs,
            wanted.attrs,
            found.live_id,
            found.matched_by,
            "label",
        )
        if change:
            changes.append(change)
    changes += [
        Change("delete", kind, (template, key), live_id=found.live_id)
        for key, found in live.items()
        if key not in desired
    ]
    return changes


def _order_change(
    kind: str, path: tuple[str, ...], projected: list[str], wanted: list[str]
) -> list[Change]:
    if projected == wanted:
        return []
    return [Change("reorder", kind, path, [AttrChange("order", projected, wanted)])]


def _projected(live_order: list[str], wanted: list[str]) -> list[str]:
    """The order after deletes and creates (a new object goes last) but before reordering."""
    kept = [k for k in live_order if k in wanted]
    return kept + [k for k in wanted if k not in kept]


def diff_template(desired: TemplateState | None, live: TemplateState | None) -> list[Change]:
    """Every change that makes ``live`` what ``desired`` declares (None: absent)."""
    if desired is None:
        assert live is not None
        return [Change("delete", "template", (live.key,), live_id=live.live_id)]
    key = desired.key
    if live is None:
        changes = [_created("template", (key,), desired.attrs)]
        changes += [_created("kickoff", (key, k), f.attrs) for k, f in desired.kickoff.items()]
        for step_key, step in desired.steps.items():
            changes.append(_created("step", (key, step_key), step.attrs))
            changes += [
                _created("field", (key, k), desired.fields[k].attrs)
                for k in desired.field_order(step_key)
            ]
        changes += [
            _created("rule", (key, name), rule.attrs) for name, rule in desired.rules.items()
        ]
        return changes

    changes = []
    template_change = _updated(
        "template", (key,), live.attrs, desired.attrs, live.live_id, live.matched_by, "title"
    )
    if template_change:
        changes.append(template_change)
    changes += _fields("kickoff", key, desired.kickoff, live.kickoff)
    changes += _order_change(
        "kickoff",
        (key, "kickoff"),
        _projected(list(live.kickoff), list(desired.kickoff)),
        list(desired.kickoff),
    )
    for step_key, wanted in desired.steps.items():
        found = live.steps.get(step_key)
        if found is None:
            changes.append(_created("step", (key, step_key), wanted.attrs))
            continue
        change = _updated(
            "step",
            (key, step_key),
            found.attrs,
            wanted.attrs,
            found.live_id,
            found.matched_by,
            "title",
        )
        if change:
            changes.append(change)
    changes += [
        Change("delete", "step", (key, k), live_id=s.live_id)
        for k, s in live.steps.items()
        if k not in desired.steps
    ]
    changes += _order_change(
        "step",
        (key, "steps"),
        _projected(list(live.steps), list(desired.steps)),
        list(desired.steps),
    )
    changes += _fields("field", key, desired.fields, live.fields)
    for step_key in desired.steps:
        wanted_order = desired.field_order(step_key)
        live_order = live.field_order(step_key) if step_key in live.steps else []
        changes += _order_change(
            "field", (key, step_key, "fields"), _projected(live_order, wanted_order), wanted_order
        )
    for name, rule in desired.rules.items():
        found_rule = live.rules.get(name)
        if found_rule is None:
            changes.append(_created("rule", (key, name), rule.attrs))
        elif attributes := attr_changes(found_rule.attrs, rule.attrs):
            changes.append(Change("update", "rule", (key, name), attributes, found_rule.live_id))
    changes += [
        Change("delete", "rule", (key, n), live_id=r.live_id)
        for n, r in live.rules.items()
        if n not in desired.rules
    ]
    _explain_replacements(changes, desired)
    return changes


def _implied_key(source: object) -> bool:
    """Whether an object's key was made from its title or label rather than written."""
    origin = getattr(source, "origin", None)
    if origin is None:
        return False
    node = origin.data()
    return isinstance(node, dict) and "key" not in node


def _explain_replacements(changes: list[Change], desired: TemplateState) -> None:
    """A delete and a create of one kind, where the new key came from a title or label, is
    most likely a rename that lost its identity: say how to keep the object."""
    deleted = {
        c.kind: c
        for c in changes
        if c.action == "delete" and c.kind in ("step", "field", "kickoff")
    }
    for change in changes:
        if change.action != "create" or change.kind not in deleted:
            continue
        key = change.path[-1]
        state = desired.steps.get(key) or desired.fields.get(key) or desired.kickoff.get(key)
        if state is not None and _implied_key(state.source):
            old = deleted[change.kind].path[-1]
            named = "title" if change.kind == "step" else "label"
            change.note = (
                f"its key '{key}' comes from its {named}; if it replaces '{old}', "
                f"add `key: {old}` to update that one in place and keep its data"
            )
