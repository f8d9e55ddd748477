"""How Tallyfy shapes a template on the wire, and where tallyform's identity lives in it.

A template read with its includes (``with=steps,tags,folder``) carries its steps (each
with its form fields, "captures"), its kick-off fields ("prerun"), its rules
("automated_actions") and its tags; an include may come bare or wrapped in ``{"data":
...}``, and lists in any order. :func:`whole_template` turns either into one shape.

Identity: every object tallyform owns carries the custom field ``tallyform_key``
(reference 3.9), defined once per record kind with an ``applies_to`` value; the values
below are the likeliest (the API's own nouns for the records, reference 3.9 and audit
10.6), and an org whose API names them otherwise sets ``applies_to:`` in tallyform.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tallyform.client import unwrap

KEY_FIELD = "tallyform_key"
# A template's own map of its children's keys by their ids, so that one read of the
# template tells every child's key where Tallyfy shows nested objects without their custom
# fields (audit Q1; quirks no_custom_fields_in_lists and kin). Ids are the objects'
# timeline ids, stable across edits (reference 4.1, 9.7); each is kept by its first
# ID_PREFIX hex digits (48 bits: no two children of one template share them in practice).
# A textarea value, as a text value holds 255 characters at most (reference 4.3).
IDS_FIELD = "tallyform_ids"
ID_PREFIX = 12
IDS_LIMIT = 6000  # characters of a textarea value (reference 4.3)
MAPPED = "_tallyform_mapped_key"  # a child's key as its template's map names it
# The API's ``applies_to`` value for each record kind that carries a tallyform_key.
DEFAULT_APPLIES_TO = {
    "template": "checklist",
    "step": "step",
    "field": "capture",
    "kickoff": "prerun",
}
# What an org that names record kinds as Tallyfy's UI does may call each (the custom-fields
# page's one example, "process", names a run by the UI's noun: reference 3.9, audit W1).
UI_APPLIES_TO = {
    "template": "template",
    "step": "step",
    "field": "form_field",
    "kickoff": "kickoff_field",
}
# The YAML's name of a form field's setting where the API names it otherwise.
FIELD_API_NAMES = {"validation": "field_validation"}

WHOLE = "steps,tags,folder"  # the includes that make a template read whole
_WHOLE_PARTS = ("steps", "tags", "prerun", "automated_actions")
# What a step read whole carries besides its form fields (reference 4.2): a list row may
# nest thinner steps than a GET of the template gives (audit Q1, quirk thin_listed_steps).
_STEP_PARTS = ("captures", "assignees", "groups", "guests", "deadline")


def field_api_name(name: str) -> str:
    """The API's name of a form field's setting (the YAML's name, mostly)."""
    return FIELD_API_NAMES.get(name, name)


def is_whole(row: dict[str, Any]) -> bool:
    """Whether a template as read carries its steps (each whole), tags, kick-off fields and
    rules."""
    return all(part in row for part in _WHOLE_PARTS) and all(
        all(part in step for part in _STEP_PARTS)
        for step in unwrap(row["steps"]) or []
        if isinstance(step, dict)
    )


def whole_template(template: dict[str, Any]) -> dict[str, Any]:
    """A template read with its includes, unwrapped, its lists sorted by position."""
    template = dict(template)
    steps = [dict(s) for s in unwrap(template.get("steps")) or []]
    for step in steps:
        step["captures"] = sorted(unwrap(step.get("captures")) or [], key=_position)
    template["steps"] = sorted(steps, key=_position)
    template["prerun"] = sorted(unwrap(template.get("prerun")) or [], key=_position)
    template["tags"] = unwrap(template.get("tags")) or []
    template["folder"] = unwrap(template.get("folder"))
    template["automated_actions"] = unwrap(template.get("automated_actions")) or []
    return template


def shows_keys(record: Any) -> bool:
    """Whether a record as read shows its custom-field values at all, or its template's map
    names its key.

    A record may leave ``custom_fields`` out (a list row, a nested object) or carry it as
    ``null`` (what a guest or public view gets, reference 3.9); both mean its tallyform key
    is unknown from this answer, not that it has none.
    """
    return isinstance(record, dict) and (
        isinstance(record.get("custom_fields"), dict) or MAPPED in record
    )


def hides_keys(record: Any) -> bool:
    """Whether a record says outright that these credentials cannot see custom fields:
    ``custom_fields`` is there, and ``null``."""
    return (
        isinstance(record, dict) and "custom_fields" in record and record["custom_fields"] is None
    )


def template_shows_keys(template: dict[str, Any]) -> bool:
    """Whether a whole template shows the custom fields of the template and every kick-off
    field, step and form field in it (else some must be read on their own)."""
    steps = template.get("steps") or []
    return (
        shows_keys(template)
        and all(shows_keys(entry) for entry in template.get("prerun") or [])
        and all(steps_show_keys(steps))
    )


def steps_show_keys(steps: list[dict[str, Any]]) -> list[bool]:
    """For each step, whether it and each of its form fields show their custom fields."""
    return [
        shows_keys(step) and all(shows_keys(c) for c in step.get("captures") or [])
        for step in steps
    ]


def key_of(record: Mapping[str, Any]) -> str | None:
    """The ``tallyform_key`` value of a live record, if it has one; else the key its
    template's map names it by."""
    value = _own_key(record) or record.get(MAPPED)
    return str(value) if value else None


def _own_key(record: Mapping[str, Any]) -> Any:
    """The ``tallyform_key`` value a record's own custom fields hold, if any."""
    values = record.get("custom_fields")
    return values.get(KEY_FIELD) if isinstance(values, dict) else None


def ids_of(template: dict[str, Any]) -> dict[str, str]:
    """A template's map of its children's keys, by id prefix (empty if it has none)."""
    values = template.get("custom_fields")
    text = values.get(IDS_FIELD) if isinstance(values, dict) else None
    try:
        found = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items() if isinstance(v, str)}


def ids_value(keys: dict[str, str]) -> str:
    """The map's value for ``keys`` (key -> live id), in at most :data:`IDS_LIMIT`
    characters: what does not fit is left out (those children are read on their own)."""
    entries: dict[str, str] = {}
    for key, object_id in keys.items():
        entries[str(object_id)[:ID_PREFIX]] = key
        if len(json.dumps(entries, separators=(",", ":"))) > IDS_LIMIT:
            del entries[str(object_id)[:ID_PREFIX]]
            break
    return json.dumps(entries, separators=(",", ":"), sort_keys=True)


def map_names_all(keys: Sequence[str]) -> bool:
    """Whether a template's map (:func:`ids_value`, at most :data:`IDS_LIMIT` characters)
    can name every child of these ``keys``: ids are kept by their first :data:`ID_PREFIX`
    characters, so the longest map the keys can make is known before any id exists."""
    stand_ins = {key: f"{n:0{ID_PREFIX}x}" for n, key in enumerate(keys)}
    return len(keys) == len(set(keys)) and len(json.loads(ids_value(stand_ins))) == len(keys)


def map_children(template: dict[str, Any]) -> None:
    """Mark each step, form field and kick-off field that shows no key of its own (no
    custom fields, or none holding its key) with the key its template's map names it by
    (:data:`MAPPED`), where the map names it: a template made in one request (its steps
    nested in its create) keys its children by its map alone."""
    ids = ids_of(template)
    if not ids:
        return
    steps = template.get("steps") or []
    nested = [*(template.get("prerun") or []), *steps]
    nested += [capture for step in steps for capture in step.get("captures") or []]
    for record in nested:
        if isinstance(record, dict) and not _own_key(record):
            key = ids.get(str(record.get("id"))[:ID_PREFIX])
            if key:
                record[MAPPED] = key


def _position(row: Any) -> int:
    value = row.get("position") if isinstance(row, dict) else None
    return value if isinstance(value, int) else 0
