"""Custom fields: admin-defined metadata keys and their values on template-side records.

Choice where the reference is uncertain (3.9): ``applies_to`` takes one value per record
kind, named as the API names the records: ``checklist``, ``step``, ``capture``, ``prerun``;
under the ``applies_to_ui_names`` quirk, as the UI names them instead (:data:`UI_NAMES`).
Under ``custom_field_write_forbidden`` only an admin may write values on these records.
Values are replaced whole by ``PUT .../custom-fields`` (no PATCH on these records): keys
left out are cleared, system keys are kept, unknown keys and writes to system keys are 422,
missing required keys are 422. A create body's ``custom_fields`` is dropped like any
unvalidated key, so setting values always takes the extra PUT.
"""

from __future__ import annotations

from typing import Any

from tallyform.emulator.call import Call, dict_of
from tallyform.emulator.store import copied, now
from tallyform.emulator.templates import render
from tallyform.emulator.wire import Response, forbidden, invalid, item, not_found, page_of

RECORD_KINDS = ("checklist", "step", "capture", "prerun")
#: The UI's name of each record kind (``applies_to_ui_names``): Tallyfy's custom-fields page
#: lists "template, step, form field, kick-off field", and its one example is ``process``.
UI_NAMES = {
    "checklist": "template",
    "step": "step",
    "capture": "form_field",
    "prerun": "kickoff_field",
}
VALUES_FORBIDDEN = "You don't have permission to update custom fields of this template."
FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "boolean",
    "date",
    "email",
    "url",
    "radio",
    "dropdown",
    "multiselect",
    "table",
)


def list_keys(call: Call) -> Response:
    query = call.request.query
    rows = call.state["custom_field_keys"]
    if query.get("applies_to"):
        rows = [k for k in rows if k["applies_to"] == query["applies_to"]]
    if query.get("is_active") in ("true", "1", "false", "0"):
        wanted = query["is_active"] in ("true", "1")
        rows = [k for k in rows if k["is_active"] == wanted]
    return page_of(call.request, copied(rows))


def create_key(call: Call) -> Response:
    call.require_admin("define custom field keys")
    body = call.body()
    errors: dict[str, list[str]] = {}
    key = body.get("key")
    if not isinstance(key, str) or not key:
        errors["key"] = ["The key field is required."]
    if body.get("applies_to") not in _accepted_kinds(call):
        errors["applies_to"] = ["The selected applies to is invalid."]
    if body.get("field_type") not in FIELD_TYPES:
        errors["field_type"] = ["The selected field type is invalid."]
    taken = any(
        k["key"] == key and k["applies_to"] == body.get("applies_to")
        for k in call.state["custom_field_keys"]
    )
    if taken:
        errors["key"] = ["The key has already been taken."]
    if errors:
        raise invalid(errors)
    call.state["counters"]["custom_field_key"] += 1
    record = {
        "id": call.state["counters"]["custom_field_key"],
        "key": key,
        "label": body.get("label") or key,
        "applies_to": body["applies_to"],
        "field_type": body["field_type"],
        "key_type": "custom",
        "is_required": bool(body.get("is_required", False)),
        "is_active": bool(body.get("is_active", True)),
        "created_at": now(),
    }
    call.state["custom_field_keys"].append(record)
    call.changes.doc("custom_field_keys")
    call.changes.doc("counters")
    return item(copied(record), 201)


def _accepted_kinds(call: Call) -> tuple[str, ...]:
    """The ``applies_to`` values a key may take: the API's nouns, or the UI's names."""
    if call.quirks.applies_to_ui_names:
        return tuple(UI_NAMES.values())
    return RECORD_KINDS


def _applies(definition: dict[str, Any], kind: str) -> bool:
    """Whether a key applies to records of ``kind`` (an API noun), in either vocabulary."""
    return definition["applies_to"] in (kind, UI_NAMES[kind]) and bool(definition["is_active"])


def _record(call: Call, kind: str) -> dict[str, Any]:
    if kind == "checklist":
        return call.template()
    if kind == "step":
        return call.step()
    if kind == "capture":
        return call.capture()
    for entry in call.template()["prerun"]:
        if entry["id"] == call.params["prerun"]:
            return dict_of(entry)
    raise not_found()


def _check_value(field_type: str, value: Any) -> bool:
    if value is None:
        return True
    if field_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if field_type == "boolean":
        return isinstance(value, bool)
    if field_type in ("multiselect", "table"):
        return isinstance(value, list)
    return isinstance(value, str)


def put_values(call: Call, kind: str) -> Response:
    record = _record(call, kind)
    if call.quirks.custom_field_write_forbidden and not call.is_admin:
        raise forbidden(VALUES_FORBIDDEN)
    body = call.body()
    values = body.get("custom_fields")
    if not isinstance(values, dict):
        raise invalid({"custom_fields": ["The custom fields field is required."]})
    keys = {k["key"]: k for k in call.state["custom_field_keys"] if _applies(k, kind)}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        definition = keys.get(name)
        if definition is None:
            errors[f"custom_fields.{name}"] = [
                f"There is no custom field key {name!r} for this record."
            ]
        elif definition["key_type"] == "system":
            errors[f"custom_fields.{name}"] = [f"The system key {name!r} cannot be written."]
        elif not _check_value(definition["field_type"], value):
            errors[f"custom_fields.{name}"] = [f"The value of {name!r} does not fit its type."]
    for name, definition in keys.items():
        if (
            definition["is_required"]
            and values.get(name) in (None, "")
            and definition["key_type"] != "system"
        ):
            errors[f"custom_fields.{name}"] = [f"The custom field {name!r} is required."]
    if errors:
        raise invalid(errors)
    kept = {
        k: v
        for k, v in record["custom_fields"].items()
        if keys.get(k, {}).get("key_type") == "system"
    }
    record["custom_fields"] = {**kept, **{k: v for k, v in values.items() if v is not None}}
    record["last_updated"] = now()
    return item(render(record, call) if kind == "checklist" else copied(record))
