"""Templates (API: checklists), their kick-off fields (the ``prerun`` array) and archiving.

Choices where the reference is uncertain (section 9):
- ``POST /checklists`` ignores a nested ``steps`` array (9.3): steps are created one by one
  (built under ``nested_steps_built``, :func:`.steps.create_template`); it keeps ``prerun``
  (dropped under ``prerun_dropped_on_create``).
- ``kickoff_title``/``kickoff_description`` are writable only on update (4.1 lists them there).
- On a PUT, ``prerun`` entries with a known ``id`` are updated, others created, and entries
  left out are kept (9.4): deleting one takes ``DELETE .../preruns/{id}``. With the
  ``prerun_omitted_deleted`` quirk they are deleted instead (a 422 if a rule uses one), and
  with ``field_type_immutable`` an entry changing a field's type is a 422.
- With ``no_custom_fields_in_lists``, list rows (and their kick-off fields) and steps under
  ``with=steps`` carry no ``custom_fields``; the template's own GET still carries its
  values and its kick-off fields' (they have no route of their own). The other
  custom-field quirks pick what each level shows (:func:`listed_step_view`,
  :func:`nested_step_view`, :mod:`.views`); ``thin_listed_steps`` thins listed steps.
- The list honours ``with`` (refused under ``list_with_refused``) and keeps its order while
  read (rows drift between pages under ``page_drift``, :mod:`.page_drift`).
- ``with=tags`` items carry the link's id, ``tag_id`` and the tag's data (the tag's alone
  under ``tags_without_tag_id``).
- An absent ``prerun`` on a PUT leaves kick-off fields alone; absent ``users``/``groups`` clear
  them (6.2).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tallyform.emulator import validation
from tallyform.emulator.call import Call, pick, renumber
from tallyform.emulator.quirks import Quirks
from tallyform.emulator.store import copied, new_id, now
from tallyform.emulator.views import StepView, Values, render_step, shown
from tallyform.emulator.wire import (
    ApiError,
    Response,
    invalid,
    item,
    not_found,
    page_of,
    page_window,
    wrapped,
)

_CREATE = frozenset(
    {
        "title",
        "type",
        "summary",
        "owner_id",
        "webhook",
        "explanation_video",
        "starred",
        "guidance",
        "icon",
        "is_public",
        "is_featured",
        "public_cover",
        "folder_id",
        "default_process_name_format",
        "is_public_kickoff",
        "auto_naming",
        "dual_version_enabled",
        "users",
        "groups",
        "prerun",
        "folderize_process",
        "tag_process",
        "allow_launcher_change_name",
        "can_add_oot",
    }
)
_UPDATE = (_CREATE - {"dual_version_enabled"}) | {
    "kickoff_title",
    "kickoff_description",
    "is_pinned",
    "default_folder",
    "folder_changeable_by_launcher",
}
FIELD_KEYS = frozenset(
    {
        "field_type",
        "label",
        "guidance",
        "position",
        "required",
        "options",
        "default_value",
        "default_value_enabled",
        "columns",
        "collect_time",
        "use_wysiwyg_editor",
        "field_validation",
        "prefix",
        "suffix",
        "settings",
    }
)
FIELD_TYPE_FIXED = "The field type of an existing field cannot be changed."
_DEFAULTS: dict[str, Any] = {
    "summary": None,
    "starred": False,
    "webhook": None,
    "guidance": None,
    "folder_id": None,
    "kickoff_title": None,
    "kickoff_description": None,
    "started_processes": 0,
    "archived_at": None,
    "is_public": False,
    "topic_tags": [],
    "industry_tags": [],
    "public_cover": None,
    "icon": None,
    "is_public_kickoff": False,
    "default_process_name_format": None,
    "dual_version_enabled": False,
    "is_published_state": True,
    "is_featured": False,
    "auto_naming": False,
    "status": None,
    "explanation_video": None,
    "users": [],
    "groups": [],
    "is_pinned": False,
    "folderize_process": False,
    "tag_process": False,
    "allow_launcher_change_name": False,
    "ko_form_blueprint_id": None,
    "default_folder": None,
    "folder_changeable_by_launcher": False,
    "can_add_oot": False,
    "kickoff_sharing_user_id": None,
}


def alias_for(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "item"
    return f"{slug}-{new_id()[:6]}"


def field_record(entry: dict[str, Any], owner: dict[str, str], stamp: str) -> dict[str, Any]:
    """A stored capture or prerun entry, with the API's read shape."""
    record = {
        "id": new_id(),
        **owner,
        "alias": alias_for(entry["label"]),
        "label": entry["label"],
        "field_type": entry["field_type"],
        "guidance": None,
        "position": entry.get("position", 1),
        "required": entry["required"],
        "options": [],
        "columns": [],
        "default_value": None,
        "default_value_enabled": False,
        "collect_time": False,
        "use_wysiwyg_editor": False,
        "field_validation": [],
        "prefix": None,
        "suffix": None,
        "settings": {},
        "created_at": stamp,
        "last_updated": stamp,
        "custom_fields": {},
    }
    update_field_record(record, entry, stamp)
    return record


def update_field_record(record: dict[str, Any], entry: dict[str, Any], stamp: str) -> None:
    for key, value in pick(entry, FIELD_KEYS - {"position"}).items():
        if key == "options":
            value = [
                {"id": o["id"], "text": o["text"], "value": o.get("value")} for o in value or []
            ]
        elif key == "columns":
            value = [{"id": c["id"], "label": c["label"]} for c in value or []]
        record[key] = value
    record["last_updated"] = stamp


def _sent_ids(entries: list[dict[str, Any]]) -> set[str]:
    return {e["id"] for e in entries if isinstance(e.get("id"), str)}


def _omitted_prerun(
    template: dict[str, Any], entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Kick-off fields a PUT's ``prerun`` array leaves out."""
    sent = _sent_ids(entries)
    return [p for p in template["prerun"] if p["id"] not in sent]


def _omitted_in_rules(template: dict[str, Any], entries: list[dict[str, Any]]) -> validation.Errors:
    """Under ``prerun_omitted_deleted``: left-out kick-off fields a rule still uses."""
    used = [
        p for p in _omitted_prerun(template, entries) if rules_using(template, "Prerun", p["id"])
    ]
    if not used:
        return {}
    labels = ", ".join(repr(p["label"]) for p in used)
    return {"prerun": [f"Cannot delete a form field that is being used in a rule: {labels}."]}


def _field_type_changes(
    template: dict[str, Any], entries: list[dict[str, Any]]
) -> validation.Errors:
    """Under ``field_type_immutable``: entries that change a kick-off field's type."""
    existing = {p["id"]: p for p in template["prerun"]}
    errors: validation.Errors = {}
    for index, entry in enumerate(entries):
        known = existing.get(entry["id"]) if isinstance(entry.get("id"), str) else None
        if known is not None and entry.get("field_type") != known["field_type"]:
            errors[f"prerun.{index}.field_type"] = [FIELD_TYPE_FIXED]
    return errors


def _check_prerun_change(
    call: Call, template: dict[str, Any], entries: list[dict[str, Any]]
) -> None:
    """The 422s a PUT's ``prerun`` meets under the quirks, before anything changes."""
    errors: validation.Errors = {}
    if call.quirks.field_type_immutable:
        errors.update(_field_type_changes(template, entries))
    if call.quirks.prerun_omitted_deleted:
        errors.update(_omitted_in_rules(template, entries))
    validation.raise_if(errors)


def _delete_omitted_prerun(template: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    for entry in _omitted_prerun(template, entries):
        template["prerun"].remove(entry)
    renumber(template["prerun"])


def _apply_prerun(template: dict[str, Any], entries: list[dict[str, Any]], stamp: str) -> None:
    existing = {p["id"]: p for p in template["prerun"]}
    for entry in entries:
        position = entry.get("position", len(template["prerun"]) + 1)
        known = existing.get(entry.get("id", ""))
        if known is not None:
            update_field_record(known, entry, stamp)
            known["position"] = position
        else:
            record = field_record(
                {**entry, "position": position}, {"checklist_id": template["id"]}, stamp
            )
            template["prerun"].append(record)
            existing[record["id"]] = record
    template["prerun"].sort(key=lambda p: p["position"])
    renumber(template["prerun"])


def _check_folder(call: Call, body: dict[str, Any]) -> None:
    folder_id = body.get("folder_id")
    if folder_id is None:
        return
    folder = call.state["folders"].get(folder_id)
    if folder is None or folder["folder_type"] != "checklist":
        raise invalid({"folder_id": ["The selected folder id is invalid."]})


def render(template: dict[str, Any], call: Call, *, listed: bool = False) -> dict[str, Any]:
    """A template as GET returns it, with the includes named in ``with``; ``listed`` for a
    row of the list, which shows custom-field values and nested steps as the quirks say
    (:func:`listed_step_view`) and carries no includes under ``list_without_includes``."""
    quirks = call.quirks
    include = set() if listed and quirks.list_without_includes else call.includes
    out = {k: v for k, v in template.items() if k != "steps"}
    out["steps_count"] = len(template["steps"])
    if listed:
        if quirks.no_custom_fields_in_lists:
            out.pop("custom_fields", None)
        prerun_values = listed_prerun_values(quirks)
        if prerun_values != "present":
            out["prerun"] = [shown(entry, prerun_values) for entry in out["prerun"]]
    view = listed_step_view(quirks) if listed else nested_step_view(quirks)
    if "steps" in include:
        out["steps"] = wrapped([render_step(s, view) for s in template["steps"]])
    if "tags" in include:
        out["tags"] = wrapped(tags_of(call, template["id"]))
    if "folder" in include:
        folder = call.state["folders"].get(template["folder_id"] or "")
        out["folder"] = wrapped(folder)
    return out


def listed_prerun_values(quirks: Quirks) -> Values:
    """How kick-off entries in a list row show their values (quirk 10.6 and its kin)."""
    if quirks.no_custom_fields_in_lists or quirks.prerun_without_custom_fields:
        return "absent"
    return quirks.partial_custom_fields


def listed_step_view(quirks: Quirks) -> StepView:
    """How the steps nested in a template list row are shown."""
    if quirks.no_custom_fields_in_lists:
        return StepView("absent", "absent", quirks.thin_listed_steps)
    values = quirks.partial_custom_fields
    captures: Values = "absent" if quirks.captures_without_custom_fields else values
    return StepView(values, captures, quirks.thin_listed_steps)


def nested_step_view(quirks: Quirks) -> StepView:
    """How steps are shown under a template's own ``with=steps`` and in the steps list:
    whole, but for the custom-field quirks that reach them."""
    values: Values = "absent" if quirks.no_custom_fields_in_lists else "present"
    hidden = quirks.no_custom_fields_in_lists or quirks.captures_without_custom_fields
    return StepView(values, "absent" if hidden else "present")


def tags_of(call: Call, subject_id: str) -> list[dict[str, Any]]:
    """Tag associations of a template, carrying both the association id and the tag's data;
    under ``tags_without_tag_id`` the tags alone, as the documentation shows them (9.21)."""
    rows = []
    for link in call.links.of(call.state["tag_links"], subject_id):
        tag = call.state["tags"].get(link["tag_id"])
        if tag is None or tag.get("deleted_at") is not None:
            continue
        shape = {"title": tag["title"], "color": tag["color"]}
        if call.quirks.tags_without_tag_id:
            rows.append({"id": tag["id"], **shape})
        else:
            rows.append({"id": link["id"], "tag_id": tag["id"], **shape})
    return rows


def drop_links(call: Call, doomed: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The tag links without those ``doomed`` picks, which are marked deleted."""
    kept = []
    for link in call.state["tag_links"]:
        if doomed(link):
            call.changes.link(link["id"])
        else:
            kept.append(link)
    return kept


def list_templates(call: Call) -> Response:
    query = call.request.query
    archived = query.get("archived", "")
    rows = list(call.state["checklists"].values())
    if archived == "only":
        rows = [t for t in rows if t["archived_at"] is not None]
    elif archived.lower() in ("", "0", "false"):
        rows = [t for t in rows if t["archived_at"] is None]
    text = query.get("q", "").lower()
    if text:
        rows = [t for t in rows if text in t["title"].lower()]
    for key in ("type", "folder"):
        if query.get(key):
            field = "folder_id" if key == "folder" else key
            rows = [t for t in rows if t[field] == query[key]]
    rows.sort(key=lambda t: t["last_updated"], reverse=True)
    rows.sort(key=lambda t: not t["is_pinned"])
    _refuse_with(call)
    if call.quirks.page_drift:
        page, per_page = page_window(call.request)
        rows = call.drift.order(rows, page, per_page)
    return page_of(call.request, rows, lambda t: render(t, call, listed=True))


def _refuse_with(call: Call) -> None:
    """Under ``list_with_refused``: a 400 or 422 to a ``with`` naming ``tags`` (the 2025
    Swagger enum of the list's ``with`` lacks it), or a 500 to any ``with``."""
    refusal = call.quirks.list_with_refused
    if refusal == "accepted" or not call.includes:
        return
    if refusal == "500":
        raise ApiError(500, {"error": True, "message": "Server Error"})
    if "tags" in call.includes:
        if refusal == "400":
            raise ApiError(400, {"error": True, "message": "The selected with is invalid."})
        raise invalid({"with": ["The selected with is invalid."]})


def get_template(call: Call) -> Response:
    return item(render(call.template(), call))


def create_template(call: Call) -> Response:
    """``POST /checklists``: nested ``steps`` are dropped here (built by
    :func:`.steps.create_template` under ``nested_steps_built``), and ``prerun`` too under
    ``prerun_dropped_on_create``."""
    body = pick(call.body(), _CREATE)
    if call.quirks.prerun_dropped_on_create:
        body.pop("prerun", None)
    validation.check_template(body, call.state, creating=True)
    _check_folder(call, body)
    stamp = now()
    counters = call.state["counters"]
    counters["increment_id"] += 1
    template: dict[str, Any] = {
        "id": new_id(),
        "increment_id": counters["increment_id"],
        **copied(_DEFAULTS),
        "alias": alias_for(body["title"]),
        "created_by": call.user["id"],
        "owner_id": call.user["id"],
        "last_updated_by": call.user["id"],
        "created_at": stamp,
        "last_updated": stamp,
        "prerun": [],
        "automated_actions": [],
        "custom_fields": {},
        "steps": [],
    }
    template.update({k: v for k, v in body.items() if k != "prerun"})
    _apply_prerun(template, body.get("prerun") or [], stamp)
    call.state["checklists"][template["id"]] = template
    call.changes.template(template)
    call.changes.doc("counters")
    return item(render(template, call), 201)


def update_template(call: Call) -> Response:
    template = call.template()
    body = pick(call.body(), _UPDATE)
    validation.check_template(body, call.state, creating=False)
    _check_folder(call, body)
    entries = body.get("prerun") or []
    if "prerun" in body:
        _check_prerun_change(call, template, entries)
    stamp = now()
    body.setdefault("users", [])  # absent permission lists clear them (reference 6.2)
    body.setdefault("groups", [])
    template.update({k: v for k, v in body.items() if k != "prerun"})
    if "prerun" in body:
        if call.quirks.prerun_omitted_deleted:
            _delete_omitted_prerun(template, entries)
        _apply_prerun(template, entries, stamp)
    template["last_updated"] = stamp
    template["last_updated_by"] = call.user["id"]
    return item(render(template, call))


def archive_template(call: Call) -> Response:
    template = call.template()
    template["archived_at"] = now()
    return Response(
        200,
        {
            "message": "The Template was deleted, and references were also deleted from:",
            "deleted_references": [],
        },
    )


def restore_template(call: Call) -> Response:
    template = call.template(archived=True)
    template["archived_at"] = None
    template["last_updated"] = now()
    return item(render(template, call))


def delete_template_forever(call: Call) -> Response:
    call.require_admin("delete a template permanently")
    template = call.template(archived=True)
    if template["archived_at"] is None:
        raise invalid({"checklist": ["Archive the template before deleting it permanently."]})
    del call.state["checklists"][template["id"]]
    call.state["tag_links"] = drop_links(call, lambda x: x["subject_id"] == template["id"])
    return Response(200, {"message": "The Template was permanently deleted."})


def rules_using(template: dict[str, Any], kind: str, object_id: str) -> list[dict[str, Any]]:
    """Automations whose conditions (or, for steps, actions) refer to an object."""
    return [
        rule
        for rule in template["automated_actions"]
        if any(
            c["conditionable_type"] == kind and c["conditionable_id"] == object_id
            for c in rule["conditions"]
        )
        or (kind == "Step" and any(a["target_step_id"] == object_id for a in rule["then_actions"]))
    ]


def delete_prerun(call: Call) -> Response:
    template = call.template()
    entry = next((p for p in template["prerun"] if p["id"] == call.params["prerun"]), None)
    if entry is None:
        raise not_found()
    if rules_using(template, "Prerun", entry["id"]):
        raise ApiError(
            403,
            {"error": True, "message": "Cannot delete a form field that is being used in a rule."},
        )
    template["prerun"].remove(entry)
    renumber(template["prerun"])
    template["last_updated"] = now()
    return call.deleted("Kick-off field deleted.")
