"""Steps of a template and their form fields (API: captures).

``POST /checklists`` is answered here, as it may build nested steps
(:func:`create_template`). Choices where the reference is uncertain: a step create answers 201 and appends the
step whatever ``position`` says (9.5); a capture create honours ``position`` (the SDK
sends one) and appends without one (first under the ``unpositioned_first`` quirk), while
a capture update ignores it: order changes go through the reorder call. A capture update
may change ``field_type`` (a 422 under ``field_type_immutable``). A step's GET carries its
own ``custom_fields`` and its captures' (captures have no route of their own); the steps
list under ``no_custom_fields_in_lists`` carries neither.
"""

from __future__ import annotations

from typing import Any

from tallyform.emulator import templates, validation
from tallyform.emulator.call import Call, move, pick, renumber
from tallyform.emulator.store import copied, new_id, now
from tallyform.emulator.templates import (
    FIELD_KEYS,
    FIELD_TYPE_FIXED,
    alias_for,
    field_record,
    nested_step_view,
    rules_using,
    update_field_record,
)
from tallyform.emulator.views import render_step
from tallyform.emulator.wire import ApiError, Response, forbidden, invalid, item, page_of

_STEP_KEYS = frozenset(
    {
        "title",
        "checklist_id",
        "position",
        "max_assignable",
        "assignees",
        "guests",
        "groups",
        "deadline",
        "start_date",
        "summary",
        "step_type",
        "webhook",
        "allow_guest_owners",
        "skip_start_process",
        "can_complete_only_assignees",
        "everyone_must_complete",
        "prevent_guest_comment",
        "is_soft_start_date",
        "role_changes_every_time",
        "assign_run_starter",
        "top_secret",
        "send_chromeless",
    }
)
_PEOPLE = ("assignees", "guests", "groups")
_STEP_DEFAULTS: dict[str, Any] = {
    "summary": None,
    "step_type": "task",
    "allow_guest_owners": False,
    "max_assignable": None,
    "skip_start_process": False,
    "can_complete_only_assignees": False,
    "everyone_must_complete": False,
    "webhook": None,
    "start_date": None,
    "is_soft_start_date": False,
    "deadline": None,
    "bp_to_launch": None,
    "assignees": [],
    "guests": [],
    "groups": [],
    "prevent_guest_comment": False,
    "roles": [],
    "role_changes_every_time": False,
    "archived_at": None,
    "assign_run_starter": False,
    "top_secret": False,
    "send_chromeless": False,
}


def _remember_guests(call: Call, emails: list[str]) -> None:
    known = {g["email"] for g in call.state["guests"]}
    for email in emails:
        if email not in known:
            call.changes.doc("guests")
            call.state["guests"].append(
                {
                    "email": email,
                    "first_name": "",
                    "last_name": "",
                    "link": f"/guest/{new_id()[:12]}",
                    "details": {},
                    "created_at": now(),
                    "deleted_at": None,
                    "custom_fields": {},
                }
            )
            known.add(email)


def _position(value: Any) -> int:
    """A 1-based position from a request body, or the API's 422."""
    if not validation.is_int(value) or value < 1:
        raise invalid({"position": ["The position must be an integer of at least 1."]})
    return value


def _touch(template: dict[str, Any], stamp: str) -> None:
    template["last_updated"] = stamp


def list_steps(call: Call) -> Response:
    view = nested_step_view(call.quirks)
    return page_of(call.request, [render_step(s, view) for s in call.template()["steps"]])


def get_step(call: Call) -> Response:
    return item(render_step(call.step()))


def create_step(call: Call) -> Response:
    template = call.template()
    body = pick(call.body(), _STEP_KEYS)
    validation.check_step(body, call.state, creating=True, checklist_id=template["id"])
    stamp = now()
    step = _new_step(call, template, body, stamp)
    _touch(template, stamp)
    return item(render_step(step), 201)


def _new_step(
    call: Call, template: dict[str, Any], body: dict[str, Any], stamp: str
) -> dict[str, Any]:
    """A step made from a checked body, appended to ``template`` whatever its position."""
    body.pop("position", None)  # discarded by the API: new steps always append
    step: dict[str, Any] = {
        "id": new_id(),
        "checklist_id": template["id"],
        "alias": alias_for(body["title"]),
        **copied(_STEP_DEFAULTS),
        "captures": [],
        "created_at": stamp,
        "last_updated": stamp,
        "custom_fields": {},
    }
    step.update({k: v for k, v in body.items() if k != "checklist_id"})
    template["steps"].append(step)
    renumber(template["steps"])
    _remember_guests(call, step["guests"])
    return step


# A template created with nested steps (the nested_steps_built quirk) ---------------------

_UNMADE = "the template being created"


def create_template(call: Call) -> Response:
    """``POST /checklists``. A nested ``steps`` array is dropped (reference 9.3); under
    ``nested_steps_built`` each step is built with its ``captures``, in the array's order,
    after every one is checked as ``POST .../steps`` and ``.../captures`` check them (one
    422 naming ``steps.N.key`` and ``steps.N.captures.M.key``, nothing made)."""
    if not call.quirks.nested_steps_built:
        return templates.create_template(call)
    entries = _listed(call.body().get("steps"), "steps")
    validation.raise_if(_nested_errors(call, entries))
    answer = templates.create_template(call)
    template = call.state["checklists"][answer.body["data"]["id"]]
    stamp = now()
    for entry in entries:
        step = _new_step(call, template, _nested_step_body(entry), stamp)
        for capture in _listed(entry.get("captures"), "captures"):
            step["captures"].append(field_record(capture, {"step_id": step["id"]}, stamp))
        renumber(step["captures"])
    return item(templates.render(template, call), 201)


def _listed(raw: Any, name: str) -> list[Any]:
    """A nested array, bare or wrapped in ``{"data": [...]}`` as an export has it."""
    if isinstance(raw, dict) and "data" in raw:
        raw = raw["data"]
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid({name: [f"The {name} must be an array."]})
    return raw


def _nested_step_body(entry: dict[str, Any]) -> dict[str, Any]:
    return {**pick(entry, _STEP_KEYS), "checklist_id": _UNMADE}


def _nested_errors(call: Call, entries: list[Any]) -> validation.Errors:
    """Every broken rule of a create's nested steps and their form fields."""
    errors: validation.Errors = {}
    for index, entry in enumerate(entries):
        prefix = f"steps.{index}"
        if not isinstance(entry, dict):
            errors[prefix] = ["Each step must be an object."]
            continue
        try:
            validation.check_step(
                _nested_step_body(entry), call.state, creating=True, checklist_id=_UNMADE
            )
        except ApiError as error:
            for key, messages in error.body["errors"].items():
                errors[f"{prefix}.{key}"] = messages
        for number, capture in enumerate(_listed(entry.get("captures"), f"{prefix}.captures")):
            errors.update(
                validation.check_field_definition(capture, f"{prefix}.captures.{number}.")
            )
    return errors


def update_step(call: Call) -> Response:
    template = call.template()
    step = call.step()
    raw = call.body()
    validation.check_step(raw, call.state, creating=False, checklist_id=template["id"])
    body = pick(raw, _STEP_KEYS - {"checklist_id", "position"})
    for key in _PEOPLE:
        body.setdefault(key, [])  # an absent list detaches everyone (reference 6.2)
    stamp = now()
    step.update(body)
    step["last_updated"] = stamp
    _remember_guests(call, step["guests"])
    _touch(template, stamp)
    return item(render_step(step))


def _deadline_anchors(template: dict[str, Any], step_id: str) -> list[dict[str, Any]]:
    return [s for s in template["steps"] if (s.get("deadline") or {}).get("step") == step_id]


def delete_step(call: Call) -> Response:
    template = call.template()
    step = call.step()
    if rules_using(template, "Step", step["id"]):
        raise forbidden(
            "This step is used by an automation; change or delete the automation first."
        )
    if _deadline_anchors(template, step["id"]):
        raise forbidden("Another step's deadline depends on this step; change that deadline first.")
    for capture in step["captures"]:
        if rules_using(template, "Capture", capture["id"]):
            raise forbidden(
                "A form field of this step is used by an automation; change the automation first."
            )
    template["steps"].remove(step)
    renumber(template["steps"])
    _touch(template, now())
    return call.deleted("Step deleted.")


def reorder_step(call: Call) -> Response:
    template = call.template()
    step = call.step()
    position = _position(call.body().get("position"))
    move(template["steps"], step, position)
    _touch(template, now())
    return item(render_step(step))


def create_capture(call: Call) -> Response:
    template = call.template()
    step = call.step()
    body = pick(call.body(), FIELD_KEYS)
    validation.raise_if(validation.check_field_definition(body))
    stamp = now()
    capture = field_record(body, {"step_id": step["id"]}, stamp)
    step["captures"].append(capture)
    move(step["captures"], capture, _new_capture_position(call, body, step))
    _touch(template, stamp)
    return item(copied(capture), 201)


def _new_capture_position(call: Call, body: dict[str, Any], step: dict[str, Any]) -> int:
    """Where a new form field goes: its ``position``, else last (first under the
    ``unpositioned_first`` quirk, 10.4)."""
    if "position" in body:
        return int(body["position"])
    return 1 if call.quirks.unpositioned_first else len(step["captures"])


def _check_field_type_kept(call: Call, capture: dict[str, Any], body: dict[str, Any]) -> None:
    """Under ``field_type_immutable`` (9.8), a changed ``field_type`` is a 422."""
    if call.quirks.field_type_immutable and body.get("field_type") != capture["field_type"]:
        raise invalid({"field_type": [FIELD_TYPE_FIXED]})


def update_capture(call: Call) -> Response:
    template = call.template()
    capture = call.capture()
    body = pick(call.body(), FIELD_KEYS)
    validation.raise_if(validation.check_field_definition(body))
    _check_field_type_kept(call, capture, body)
    stamp = now()
    update_field_record(capture, body, stamp)
    _touch(template, stamp)
    return item(copied(capture))


def delete_capture(call: Call) -> Response:
    template = call.template()
    step = call.step()
    capture = call.capture()
    if rules_using(template, "Capture", capture["id"]):
        raise forbidden("Cannot delete a form field that is being used in a rule in other steps.")
    step["captures"].remove(capture)
    renumber(step["captures"])
    _touch(template, now())
    return call.deleted("Form field deleted.")


def reorder_capture(call: Call) -> Response:
    """``PUT .../captures`` with ``{capture_id, position}``: one field per call."""
    template = call.template()
    step = call.step()
    body = call.body()
    capture = next((c for c in step["captures"] if c["id"] == body.get("capture_id")), None)
    if capture is None:
        raise invalid({"capture_id": ["The selected capture id is invalid."]})
    position = _position(body.get("position"))
    move(step["captures"], capture, position)
    _touch(template, now())
    return item(copied(capture))


def move_capture_out(call: Call) -> Response:
    template = call.template()
    step = call.step()
    capture = call.capture()
    body = call.body()
    target = next((s for s in template["steps"] if s["id"] == body.get("target_step_id")), None)
    if target is None:
        raise invalid({"target_step_id": ["The selected target step id is invalid."]})
    position = _position(body.get("position", len(target["captures"]) + 1))
    step["captures"].remove(capture)
    renumber(step["captures"])
    capture["step_id"] = target["id"]
    call.changes.step(template, target["id"])
    target["captures"].append(capture)
    move(target["captures"], capture, position)
    _touch(template, now())
    return item(copied(capture))
