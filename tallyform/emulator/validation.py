"""The API's validation rules (422s), as the reference gives them (sections 4 and 6).

Each ``check_*`` function collects every broken rule of one payload into Laravel's
``errors`` map (``{"field.path": ["message"]}``) and raises one 422. Shapes are checked
only as far as the reference says the API checks them: step deadlines, for example,
are stored without checking their unit (the API does the same, reference 4.2).
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from tallyform.emulator.wire import invalid

TEMPLATE_TYPES = ("procedure", "form", "document")
STEP_TYPES = ("task", "approval", "expiring", "email", "expiring_email")
FIELD_TYPES = (
    "text",
    "textarea",
    "radio",
    "dropdown",
    "multiselect",
    "date",
    "email",
    "file",
    "table",
    "assignees_form",
)
CHOICE_TYPES = ("radio", "dropdown", "multiselect")
CONDITIONABLE_TYPES = ("Capture", "Prerun", "Step")
STEP_OPERATIONS = (
    "completed",
    "reopened",
    "approved",
    "rejected",
    "acknowledged",
    "expired",
    "not_assigned",
)
FIELD_OPERATIONS = (
    "contains",
    "not_contains",
    "equals",
    "not_equals",
    "equals_any",
    "greater_than",
    "less_than",
    "is_empty",
    "is_not_empty",
)
ACTION_VERBS = {
    "visibility": ("show", "hide"),
    "deadline": ("deadline",),
    "status": ("reopen",),
    "assignment": ("assign", "assign_only", "clear_assignees", "unassign"),
    "webhook": ("emit_webhook",),
}
AUTOMATION_UNITS = ("minutes", "hours", "days", "weeks", "months")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Errors = dict[str, list[str]]


def _add(errors: Errors, key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def raise_if(errors: Errors) -> None:
    if errors:
        raise invalid(errors)


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def check_string(
    errors: Errors,
    body: dict[str, Any],
    key: str,
    *,
    required: bool,
    max_length: int | None = None,
    prefix: str = "",
) -> None:
    name = f"{prefix}{key}"
    if key not in body or body[key] is None or body[key] == "":
        if required:
            _add(errors, name, f"The {name} field is required.")
        return
    value = body[key]
    if not isinstance(value, str):
        _add(errors, name, f"The {name} must be a string.")
    elif max_length is not None and len(value) > max_length:
        _add(errors, name, f"The {name} may not be greater than {max_length} characters.")


def check_enum(
    errors: Errors,
    body: dict[str, Any],
    key: str,
    allowed: tuple[str, ...],
    *,
    required: bool,
    prefix: str = "",
) -> None:
    name = f"{prefix}{key}"
    if key not in body or body[key] is None:
        if required:
            _add(errors, name, f"The {name} field is required.")
        return
    if body[key] not in allowed:
        _add(errors, name, f"The selected {name} is invalid.")


def check_boolean(
    errors: Errors, body: dict[str, Any], key: str, *, present: bool = False, prefix: str = ""
) -> None:
    name = f"{prefix}{key}"
    if key not in body:
        if present:
            _add(errors, name, f"The {name} field must be present.")
        return
    if not isinstance(body[key], bool):
        _add(errors, name, f"The {name} field must be true or false.")


def check_field_definition(body: Any, prefix: str = "") -> Errors:
    """CaptureRequestValidator: the rules shared by step captures and kick-off (prerun) entries."""
    errors: Errors = {}
    if not isinstance(body, dict):
        _add(errors, prefix.rstrip(".") or "body", "Each field must be an object.")
        return errors
    check_string(errors, body, "label", required=True, max_length=200, prefix=prefix)
    check_enum(errors, body, "field_type", FIELD_TYPES, required=True, prefix=prefix)
    check_boolean(errors, body, "required", present=True, prefix=prefix)
    if "position" in body and not (is_int(body["position"]) and body["position"] >= 1):
        _add(errors, f"{prefix}position", f"The {prefix}position must be an integer of at least 1.")
    field_type = body.get("field_type")
    if field_type in CHOICE_TYPES:
        _check_options(errors, body.get("options"), field_type, prefix)
    if field_type == "table":
        _check_columns(errors, body.get("columns"), prefix)
    for flag in ("collect_time", "use_wysiwyg_editor", "default_value_enabled"):
        check_boolean(errors, body, flag, prefix=prefix)
    if (
        "field_validation" in body
        and body["field_validation"] is not None
        and not (
            isinstance(body["field_validation"], list)
            and all(isinstance(v, str) for v in body["field_validation"])
        )
    ):
        _add(
            errors,
            f"{prefix}field_validation",
            f"The {prefix}field_validation must be an array of rule names.",
        )
    return errors


def _check_options(errors: Errors, options: Any, field_type: str, prefix: str) -> None:
    name = f"{prefix}options"
    if not isinstance(options, list) or not options:
        _add(errors, name, f"The {name} field is required when field type is {field_type}.")
        return
    if field_type == "radio" and len(options) < 2:
        _add(errors, name, f"The {name} must have at least 2 items.")
    for index, option in enumerate(options):
        where = f"{name}.{index}"
        if not isinstance(option, dict):
            _add(errors, where, f"The {where} must be an object.")
            continue
        if "id" not in option:
            _add(errors, f"{where}.id", f"The {where}.id field is required.")
        elif not is_int(option["id"]):
            _add(errors, f"{where}.id", f"The {where}.id must be an integer.")
        if not isinstance(option.get("text"), str) or not option.get("text"):
            _add(errors, f"{where}.text", f"The {where}.text field is required.")


def _check_columns(errors: Errors, columns: Any, prefix: str) -> None:
    name = f"{prefix}columns"
    if not isinstance(columns, list) or not columns:
        _add(errors, name, f"The {name} field is required when field type is table.")
        return
    for index, column in enumerate(columns):
        where = f"{name}.{index}"
        if not isinstance(column, dict):
            _add(errors, where, f"The {where} must be an object.")
            continue
        if not is_int(column.get("id")):
            _add(errors, f"{where}.id", f"The {where}.id must be an integer.")
        if not isinstance(column.get("label"), str) or not column.get("label"):
            _add(errors, f"{where}.label", f"The {where}.label field is required.")


def check_people(
    errors: Errors, body: dict[str, Any], state: dict[str, Any], users_key: str = "assignees"
) -> None:
    """Member ids must be known integers, guests emails, groups known group ids."""
    user_ids = {u["id"] for u in state["users"]}
    group_ids = {g["id"] for g in state["groups"]}
    users = body.get(users_key)
    if users is not None:
        if not isinstance(users, list):
            _add(errors, users_key, f"The {users_key} must be an array.")
        else:
            for index, uid in enumerate(users):
                if not is_int(uid) or uid not in user_ids:
                    _add(
                        errors,
                        f"{users_key}.{index}",
                        f"The selected {users_key}.{index} is invalid.",
                    )
    for index, email in enumerate(body.get("guests") or []):
        if not isinstance(email, str) or not EMAIL.match(email):
            _add(errors, f"guests.{index}", f"The guests.{index} must be a valid email address.")
    for index, gid in enumerate(body.get("groups") or []):
        if gid not in group_ids:
            _add(errors, f"groups.{index}", f"The selected groups.{index} is invalid.")


def check_template(body: dict[str, Any], state: dict[str, Any], *, creating: bool) -> None:
    errors: Errors = {}
    check_string(errors, body, "title", required=True, max_length=250)
    check_enum(errors, body, "type", TEMPLATE_TYPES, required=creating)
    check_string(errors, body, "summary", required=False, max_length=2000)
    check_string(errors, body, "default_process_name_format", required=False, max_length=550)
    check_people(errors, body, state, users_key="users")
    prerun = body.get("prerun")
    if prerun is not None:
        if not isinstance(prerun, list):
            _add(errors, "prerun", "The prerun must be an array.")
        else:
            for index, entry in enumerate(prerun):
                errors.update(check_field_definition(entry, prefix=f"prerun.{index}."))
    raise_if(errors)


def check_step(
    body: dict[str, Any], state: dict[str, Any], *, creating: bool, checklist_id: str
) -> None:
    errors: Errors = {}
    check_string(errors, body, "title", required=True, max_length=600)
    if creating:
        if not body.get("checklist_id"):
            _add(errors, "checklist_id", "The checklist id field is required.")
        elif body["checklist_id"] != checklist_id:
            _add(errors, "checklist_id", "The selected checklist id is invalid.")
    check_enum(errors, body, "step_type", STEP_TYPES, required=False)
    if (
        "max_assignable" in body
        and body["max_assignable"] is not None
        and not (is_int(body["max_assignable"]) and body["max_assignable"] >= 1)
    ):
        _add(errors, "max_assignable", "The max assignable must be a positive integer.")
    for key in ("deadline", "start_date"):
        value = body.get(key)
        if value is not None and not (isinstance(value, dict) and is_int(value.get("value"))):
            _add(errors, key, f"The {key} must be an object with an integer value.")
    if not creating and ("captures" in body or "id" in body):
        # The API rejects an echoed full step (reference 6.4): only a minimal body is accepted.
        _add(
            errors,
            "captures" if "captures" in body else "id",
            "Send only the step fields you change.",
        )
    check_people(errors, body, state)
    raise_if(errors)


def check_automation(body: dict[str, Any], template: dict[str, Any], state: dict[str, Any]) -> None:
    errors: Errors = {}
    check_string(errors, body, "automated_alias", required=True, max_length=300)
    steps = {s["id"] for s in template["steps"]}
    captures = {c["id"] for s in template["steps"] for c in s["captures"]}
    preruns = {p["id"] for p in template["prerun"]}
    known = {"Step": steps, "Capture": captures, "Prerun": preruns}
    conditions = body.get("conditions")
    if not isinstance(conditions, list):
        _add(errors, "conditions", "The conditions field is required.")
        conditions = []
    for index, condition in enumerate(conditions):
        _check_condition(errors, condition, f"conditions.{index}.", known)
    actions = body.get("then_actions")
    if not isinstance(actions, list):
        _add(errors, "then_actions", "The then actions field is required.")
        actions = []
    for index, action in enumerate(actions):
        _check_action(errors, action, f"then_actions.{index}.", steps, state)
    raise_if(errors)


def _check_condition(
    errors: Errors, condition: Any, prefix: str, known: dict[str, set[str]]
) -> None:
    if not isinstance(condition, dict):
        _add(errors, prefix.rstrip("."), "Each condition must be an object.")
        return
    check_enum(
        errors, condition, "conditionable_type", CONDITIONABLE_TYPES, required=True, prefix=prefix
    )
    kind = condition.get("conditionable_type")
    if kind in known and condition.get("conditionable_id") not in known[kind]:
        _add(
            errors,
            f"{prefix}conditionable_id",
            f"The selected {prefix}conditionable_id is invalid.",
        )
    operations = STEP_OPERATIONS if kind == "Step" else FIELD_OPERATIONS
    check_enum(errors, condition, "operation", operations, required=True, prefix=prefix)
    if "statement" not in condition:
        _add(errors, f"{prefix}statement", f"The {prefix}statement field must be present.")
    check_enum(errors, condition, "logic", ("and", "or"), required=False, prefix=prefix)


def _check_action(
    errors: Errors, action: Any, prefix: str, steps: set[str], state: dict[str, Any]
) -> None:
    if not isinstance(action, dict):
        _add(errors, prefix.rstrip("."), "Each action must be an object.")
        return
    check_enum(errors, action, "action_type", tuple(ACTION_VERBS), required=True, prefix=prefix)
    verbs = ACTION_VERBS.get(action.get("action_type", ""), ())
    if verbs and action.get("action_verb") not in verbs:
        _add(errors, f"{prefix}action_verb", f"The action verb only accepts {', '.join(verbs)}.")
    if action.get("target_step_id") not in steps:
        _add(errors, f"{prefix}target_step_id", f"The selected {prefix}target_step_id is invalid.")
    if action.get("action_type") == "deadline":
        deadline = action.get("deadline")
        if not (
            isinstance(deadline, dict)
            and is_int(deadline.get("value"))
            and deadline.get("unit") in AUTOMATION_UNITS
            and deadline.get("option") in ("before", "from")
        ):
            _add(
                errors,
                f"{prefix}deadline",
                "The deadline needs an integer value, a unit and an option (before or from).",
            )
    verb = action.get("action_verb")
    if (
        action.get("action_type") == "assignment"
        and verb != "clear_assignees"
        and not action.get("actionable_id")
    ):
        people = action.get("assignees")
        if not isinstance(people, dict) or not any(
            people.get(k) for k in ("users", "guests", "groups")
        ):
            _add(errors, f"{prefix}assignees", "The assignees field is required for this action.")
        else:
            nested: Errors = {}
            check_people(
                nested,
                {
                    "assignees": people.get("users"),
                    "guests": people.get("guests"),
                    "groups": people.get("groups"),
                },
                state,
            )
            for key, messages in nested.items():
                errors.setdefault(f"{prefix}assignees.{key}", []).extend(messages)
    if action.get("action_type") == "webhook" and not (
        action.get("webhook_url") and action.get("alias_name")
    ):
        _add(errors, f"{prefix}webhook_url", "The webhook url and alias name are required.")
