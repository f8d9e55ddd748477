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

from typing import Any

from tallyform.client import unwrap

KEY_FIELD = "tallyform_key"
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
    """Whether a record as read shows its custom-field values at all.

    A record may leave ``custom_fields`` out (a list row, a nested object) or carry it as
    ``null`` (what a guest or public view gets, reference 3.9); both mean its tallyform key
    is unknown from this answer, not that it has none.
    """
    return isinstance(record, dict) and isinstance(record.get("custom_fields"), dict)


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


def key_of(record: dict[str, Any]) -> str | None:
    """The ``tallyform_key`` value of a live record, if it has one."""
    values = record.get("custom_fields")
    value = values.get(KEY_FIELD) if isinstance(values, dict) else None
    return str(value) if value else None


def _position(row: Any) -> int:
    value = row.get("position") if isinstance(row, dict) else None
    return value if isinstance(value, int) else 0
