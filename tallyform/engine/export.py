"""Live templates as the template documents a repository would declare (``tallyform export``).

The live org is read as a plan reads it (:mod:`tallyform.tallyfy.read`), so each template becomes the same
normalised :class:`~tallyform.model.state.TemplateState` a plan compares; this module
turns that state back into a template document (plain data in the shape of
``schemas/template.schema.json``), the inverse of :func:`~.state.desired_state`. Planning
the document against the same org therefore finds nothing to change.

Keys: a live object's ``tallyform_key`` when it has one; else the key the repository
already declares for it (matched by title or label, as a plan matches); else one made
from its title or label, unique among its siblings (steps) or across the template
(fields). Every key is written explicitly, so a later rename never changes identity.

A template in a folder whose name holds a "/" is not exported, with a warning: a
template's ``folder:`` is a path of names joined by "/", which cannot name that folder
(the rest of the org is exported). Values a document cannot name are left out, each with a warning: a person or group the
org's lists do not show (a deactivated member), or a step a deadline counts from that
no longer exists. Settings at their default value are left out, as a person writing the
file by hand would leave them out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tallyform.client import TallyfyClient
from tallyform.model import Template
from tallyform.model.changes import Conflict
from tallyform.model.state import (
    FIELD_SETTINGS,
    STEP_SETTINGS,
    TEMPLATE_SETTINGS,
    FieldState,
    RuleState,
    StepState,
    TemplateState,
    desired_state,
)
from tallyform.parallel import DEFAULT_WORKERS
from tallyform.tallyfy.decode import assign_keys, conflict, live_state
from tallyform.tallyfy.read import LiveOrg, read_all_whole

NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
UNKNOWN = "#"  # how live.py names an id the org's lists do not know


@dataclass
class Exported:
    """One live template as a document, with what could not be said in it."""

    key: str
    title: str
    folder: str | None
    document: dict[str, Any]
    live_id: str
    warnings: list[str] = field(default_factory=list)


@dataclass
class Export:
    """Every template exported from an org, and the ones that could not be."""

    templates: list[Exported] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # templates left out, and why


def _known(names: Iterable[str], what: str, where: str, warnings: list[str]) -> list[str]:
    kept = []
    for name in names:
        if name.startswith(UNKNOWN):
            warnings.append(
                f"{where}: {what} {name[1:]} is not in the org's lists (deactivated?); left out"
            )
        else:
            kept.append(name)
    return kept


def _people(value: Mapping[str, object], where: str, warnings: list[str]) -> dict[str, Any]:
    """``{users, groups, guests}`` with only the lists that hold someone."""
    out: dict[str, Any] = {}
    for part, what in (("users", "member"), ("groups", "group"), ("guests", "guest")):
        listed = value.get(part)
        names = _known(listed if isinstance(listed, list) else [], what, where, warnings)
        if names:
            out[part] = names
    return out


def _settings(attrs: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: attrs[name]
        for name, default in defaults.items()
        if attrs.get(name) != default and attrs.get(name) not in (None, "", [])
    }


def _field_document(item: FieldState) -> dict[str, Any]:
    attrs = item.attrs
    out: dict[str, Any] = {"key": item.key, "label": attrs["label"], "type": attrs["type"]}
    if attrs["required"]:
        out["required"] = True
    if attrs["options"]:
        out["options"] = list(attrs["options"])
    if attrs["columns"]:
        out["columns"] = list(attrs["columns"])
    defaults = dict(FIELD_SETTINGS)
    out.update(_settings(attrs, defaults))
    return out


def _reference(key: str | None, what: str, where: str, warnings: list[str]) -> str | None:
    if key is not None and key.startswith(UNKNOWN):
        warnings.append(f"{where}: {what} refers to {key}, which no longer exists; left out")
        return None
    return key


def _step_document(
    step: StepState, fields: list[FieldState], where: str, warnings: list[str]
) -> dict[str, Any]:
    attrs = step.attrs
    out: dict[str, Any] = {"key": step.key, "title": attrs["title"]}
    if attrs["type"] != "task":
        out["type"] = attrs["type"]
    if attrs["summary"]:
        out["summary"] = attrs["summary"]
    assigned = _people(attrs["assignees"], f"{where}, assignees", warnings)
    if assigned:
        out["assignees"] = assigned
    deadline = attrs["deadline"]
    if deadline is not None:
        entry: dict[str, Any] = {"value": deadline["value"], "unit": deadline["unit"]}
        if deadline["option"] != "from":
            entry["option"] = deadline["option"]
        anchor = _reference(deadline["step"], "its deadline", where, warnings)
        if anchor is not None:
            entry["step"] = anchor
        out["deadline"] = entry
    start = attrs["start_date"]
    if start is not None:
        out["start_date"] = {"value": start["value"], "unit": start["unit"]}
    out.update(_settings(attrs, STEP_SETTINGS))
    if fields:
        out["fields"] = [_field_document(f) for f in fields]
    return out


def _number_or_text(value: str) -> int | float | str:
    """A condition's value as written by hand: ``100`` rather than ``'100'`` (the API
    stores both as the text "100", so a plan compares them as equal)."""
    if NUMBER.fullmatch(value) and len(value) <= 15:
        number: int | float = float(value) if "." in value else int(value)
        if str(number) == value:  # "007" and "1.50" stay text, so they compare equal
            return number
    return value


def _condition(entry: Mapping[str, Any]) -> dict[str, Any]:
    subject = "step" if "step" in entry else "field"
    out: dict[str, Any] = {subject: entry[subject], "is": entry["is"]}
    if subject == "field" and entry.get("value") is not None:
        out["value"] = _number_or_text(str(entry["value"]))
    if entry.get("column"):
        out["column"] = entry["column"]
    return out


def _action(entry: Mapping[str, Any], rule: str, where: str, warnings: list[str]) -> dict[str, Any]:
    verb = str(entry["verb"])
    out: dict[str, Any] = {verb: entry["step"]}
    if "assignees" in entry:
        out["assignees"] = _people(entry["assignees"], f"{where}, {verb}", warnings)
    deadline = entry.get("deadline")
    if isinstance(deadline, dict):
        out["value"] = deadline.get("value")
        out["unit"] = deadline.get("unit")
        if deadline.get("option"):
            out["option"] = deadline["option"]
    webhook = entry.get("webhook")
    if isinstance(webhook, dict):
        out["url"] = webhook.get("url")
        if webhook.get("name") and webhook["name"] != rule:
            out["name"] = webhook["name"]
    return out


def _rule_document(rule: RuleState, where: str, warnings: list[str]) -> dict[str, Any] | None:
    attrs = rule.attrs
    place = f"{where}, rule {rule.name!r}"
    refs = [str(c.get("step") or c.get("field")) for c in attrs["when"]]
    refs += [str(a["step"]) for a in attrs["then"]]
    missing = [r for r in refs if r.startswith(UNKNOWN)]
    if missing:
        warnings.append(f"{place} refers to {', '.join(missing)}, which no longer exist; left out")
        return None
    out: dict[str, Any] = {"name": rule.name}
    if attrs["match"] != "all":
        out["match"] = attrs["match"]
    out["when"] = [_condition(c) for c in attrs["when"]]
    out["then"] = [_action(a, rule.name, place, warnings) for a in attrs["then"]]
    return out


def template_document(state: TemplateState) -> tuple[dict[str, Any], list[str]]:
    """The document declaring ``state``, and warnings about what it had to leave out."""
    warnings: list[str] = []
    attrs = state.attrs
    where = f"template {state.key}"
    out: dict[str, Any] = {"key": state.key, "title": attrs["title"], "type": attrs["type"]}
    if attrs["summary"]:
        out["summary"] = attrs["summary"]
    out.update(_settings(attrs, TEMPLATE_SETTINGS))
    access = _people(attrs["access"], f"{where}, access", warnings)
    if access:
        out["access"] = access
    if state.kickoff:
        out["kickoff"] = [_field_document(f) for f in state.kickoff.values()]
    if state.steps:
        fields = state.fields_by_step()
        out["steps"] = [
            _step_document(
                step,
                [state.fields[k] for k in fields[key]],
                f"{where}, step {key}",
                warnings,
            )
            for key, step in state.steps.items()
        ]
    if state.tags:
        out["tags"] = sorted(state.tags)
    if attrs["folder"]:
        out["folder"] = attrs["folder"]
    rules = [_rule_document(rule, where, warnings) for rule in state.rules.values()]
    if any(rules):
        out["rules"] = [rule for rule in rules if rule is not None]
    return out, warnings


def export_org(
    client: TallyfyClient,
    org: LiveOrg,
    declared: Mapping[str, Template],
    wanted: Callable[[str], bool] = lambda key: True,
    workers: int = DEFAULT_WORKERS,
) -> Export:
    """Every live template of ``org`` whose key ``wanted`` accepts, as documents.

    ``declared`` holds the repository's templates by key: a live template without a
    tallyform key that has the title of a declared one takes that key (and its steps and
    fields the declared keys), as a plan would match it.
    """
    result = Export()
    rows = assign_keys(
        org.templates,
        {key: template.title for key, template in declared.items()},
        set(),
        lambda key, group: result.conflicts.append(conflict("templates", key, group)),
    )
    clashing = {c.key for c in result.conflicts}
    chosen = []
    for key, record, how in rows:
        if not wanted(key) or key in clashing:
            continue
        slashed = _slashed_folder(org, record.folder_id)
        if slashed is not None:
            result.skipped.append(
                f"template '{record.title}' ({key}) was not exported: it is in the "
                f"folder '{slashed}', and a folder path cannot name a folder whose name holds "
                "'/'. Rename that folder in Tallyfy, then export again."
            )
            continue
        chosen.append((key, record, how))
    records = read_all_whole(client, [row[1] for row in chosen], workers)
    for (key, _, how), live in zip(chosen, records, strict=True):
        desired = desired_state(declared[key]) if key in declared else None
        state = live_state(live, key, how, org, desired)
        if state.conflicts:
            result.conflicts += state.conflicts
            continue
        document, warnings = template_document(state)
        result.templates.append(
            Exported(key, state.attrs["title"], state.attrs["folder"], document, live.id, warnings)
        )
    return result


def _slashed_folder(org: LiveOrg, folder_id: str | None) -> str | None:
    """The name of a folder holding a "/" on the way from ``folder_id`` up (None: none)."""
    seen: set[str] = set()
    while folder_id and folder_id in org.folders and folder_id not in seen:
        seen.add(folder_id)
        folder = org.folders[folder_id]
        if "/" in folder.name:
            return folder.name
        folder_id = folder.parent_id
    return None


__all__ = ["Export", "Exported", "export_org", "template_document"]
