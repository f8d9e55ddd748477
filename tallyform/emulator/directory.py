"""The org's people and catalogues: the caller, users, guests, groups, tags, folders.

These are read by a sync tool to resolve emails, group names, tag titles and folder
paths to ids; tags and folders can also be created and attached.

A deleted tag is gone; under the ``deleted_tags_keep_title`` quirk it is soft-deleted
instead (``deleted_at`` set, hidden from lists and reads) and its title stays taken. A tag
link's id in ``DELETE /checklists/tags/{id}`` is an integer; a non-numeric one is 0 (no
link), or under ``tags_without_tag_id`` its leading number, as PHP casts it
(:func:`php_int`), so a tag's hex id can name another template's link.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from tallyform.emulator.call import Call
from tallyform.emulator.store import copied, new_id, now
from tallyform.emulator.templates import drop_links
from tallyform.emulator.wire import Response, invalid, item, not_found, page_of, wrapped

TAG_TITLE_MAX = 30
FOLDER_NAME_MAX = 32


def me(call: Call) -> Response:
    return item(copied(call.user))


def my_organizations(call: Call) -> Response:
    return page_of(call.request, [copied(call.state["org"])])


def organization(call: Call) -> Response:
    return item(copied(call.state["org"]))


def list_users(call: Call) -> Response:
    rows = call.state["users"]
    text = call.request.query.get("q", "").lower()
    if text:
        rows = [u for u in rows if text in u["email"].lower() or text in u["full_name"].lower()]
    return page_of(call.request, copied(rows))


def get_user(call: Call) -> Response:
    for user in call.state["users"]:
        if str(user["id"]) == call.params["user"]:
            return item(copied(user))
    raise not_found()


def list_guests(call: Call) -> Response:
    return page_of(call.request, copied(call.state["guests"]))


def get_guest(call: Call) -> Response:
    email = unquote(call.params["guest"])
    for guest in call.state["guests"]:
        if guest["email"] == email:
            return item(copied(guest))
    raise not_found()


def list_groups(call: Call) -> Response:
    rows = call.state["groups"]
    text = call.request.query.get("q", "").lower()
    if text:
        rows = [g for g in rows if text in g["name"].lower()]
    return page_of(call.request, copied(rows))


def get_group(call: Call) -> Response:
    for group in call.state["groups"]:
        if group["id"] == call.params["group"]:
            return item(copied(group))
    raise not_found()


# Tags ------------------------------------------------------------------------------------


def _row(call: Call, table: str, param: str) -> dict[str, Any]:
    """The row of ``state[table]`` named by the path parameter ``param``, or a 404."""
    found: dict[str, Any] | None = call.state[table].get(call.params[param])
    if found is None:
        raise not_found()
    return found


def _tag(call: Call) -> dict[str, Any]:
    tag = _row(call, "tags", "tag")
    if tag.get("deleted_at") is not None:
        raise not_found()
    return tag


def _check_tag_title(call: Call, title: Any, except_id: str | None = None) -> None:
    if not isinstance(title, str) or not title.strip():
        raise invalid({"title": ["The title field is required."]})
    if len(title) > TAG_TITLE_MAX:
        raise invalid({"title": [f"The title may not be greater than {TAG_TITLE_MAX} characters."]})
    for tag in call.state["tags"].values():
        if tag["title"].lower() == title.lower() and tag["id"] != except_id:
            raise invalid({"title": ["The title has already been taken."]})


def list_tags(call: Call) -> Response:
    rows = [t for t in call.state["tags"].values() if t.get("deleted_at") is None]
    if call.request.query.get("all") != "true":  # auto-generated tags hidden unless all=true
        rows = [t for t in rows if not t["auto_generated"]]
    text = call.request.query.get("q", "").lower()
    if text:
        rows = [t for t in rows if text in t["title"].lower()]
    return page_of(call.request, copied(sorted(rows, key=lambda t: t["title"].lower())))


def get_tag(call: Call) -> Response:
    return item(copied(_tag(call)))


def create_tag(call: Call) -> Response:
    body = call.body()
    _check_tag_title(call, body.get("title"))
    tag = {
        "id": new_id(),
        "title": body["title"],
        "color": body.get("color") or "#3fb65b",
        "type": "private",
        "auto_generated": False,
        "created_at": now(),
        "deleted_at": None,
        "custom_fields": {},
    }
    call.state["tags"][tag["id"]] = tag
    call.changes.row("tags", tag["id"])
    return item(copied(tag), 201)


def update_tag(call: Call) -> Response:
    tag = _tag(call)
    call.changes.row("tags", tag["id"])
    body = call.body()
    if "title" in body:
        _check_tag_title(call, body["title"], except_id=tag["id"])
        tag["title"] = body["title"]
    if "color" in body:
        tag["color"] = body["color"]
    return item(copied(tag))


def delete_tag(call: Call) -> Response:
    tag = _tag(call)
    if call.quirks.deleted_tags_keep_title:
        tag["deleted_at"] = now()  # soft-deleted: its title stays taken
    else:
        del call.state["tags"][tag["id"]]
    call.changes.row("tags", tag["id"])
    call.state["tag_links"] = drop_links(call, lambda x: x["tag_id"] == tag["id"])
    return Response(200, {"message": "Tag deleted."})


def attach_tag(call: Call) -> Response:
    body = call.body()
    errors: dict[str, list[str]] = {}
    if body.get("tag_type") not in ("private", "public"):
        errors["tag_type"] = ["The tag type field is required."]
    if body.get("subject_type") not in ("Checklist", "Run"):
        errors["subject_type"] = ["The selected subject type is invalid."]
    tag = call.state["tags"].get(body.get("tag_id", ""))
    if tag is None or tag.get("deleted_at") is not None:
        errors["tag_id"] = ["The selected tag id is invalid."]
    subject = call.state["checklists"].get(body.get("subject_id", ""))
    if subject is None or subject["archived_at"] is not None:
        errors["subject_id"] = ["Subject not found"]
    if errors:
        raise invalid(errors)
    links = call.state["tag_links"]
    for link in call.links.of(links, body["subject_id"]):
        if link["tag_id"] == body["tag_id"]:
            return item(copied(link), 200)  # unique on subject + tag
    call.state["counters"]["tag_link"] += 1
    call.changes.doc("counters")
    link = {
        "id": call.state["counters"]["tag_link"],
        "tag_id": body["tag_id"],
        "subject_id": body["subject_id"],
        "subject_type": body["subject_type"],
        "created_at": now(),
    }
    links.append(link)
    call.links.added(links, link)
    call.changes.link(link["id"])
    return item(copied(link), 201)


def _link_id(call: Call, raw: str) -> int:
    """A link id from the path: a non-numeric one is 0 (no link), or PHP's cast of it."""
    if call.quirks.tags_without_tag_id:
        return php_int(raw)
    return int(raw) if raw.isdigit() else 0


def detach_tag(call: Call) -> Response:
    raw = call.params["link"]
    link_id = _link_id(call, raw)
    links = call.state["tag_links"]
    link = call.links.get(links, link_id)
    if link is None:
        raise not_found()
    links.remove(link)
    call.links.removed(links, link)
    call.changes.link(link_id)
    return call.deleted("Tag removed.")


_LEADING_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def php_int(raw: str) -> int:
    """``(int) $raw`` in PHP 8: the number a string starts with (``"12ab"`` is 12, ``"1e3f"``
    is 1000, ``"ab12"`` is 0), truncated toward zero."""
    found = _LEADING_NUMBER.match(raw)
    if found is None:
        return 0
    try:
        return int(float(found.group(0)))
    except OverflowError:
        return 0


# Folders ---------------------------------------------------------------------------------


def _folder(call: Call) -> dict[str, Any]:
    return _row(call, "folders", "folder")


def _in_folder_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda f: (f["position"], f["name"].lower()))


def _children(call: Call, folder_id: str) -> list[dict[str, Any]]:
    return _in_folder_order(
        [f for f in call.state["folders"].values() if f["parent_id"] == folder_id]
    )


def _render_folder(call: Call, folder: dict[str, Any]) -> dict[str, Any]:
    """A folder as read; with ``with=children`` its subfolders nest as {"data": [...]}."""
    out = copied(folder)
    if "children" in call.includes:
        out["children"] = wrapped([_render_folder(call, c) for c in _children(call, folder["id"])])
    return out


def _listed_folders(call: Call) -> list[dict[str, Any]]:
    """The rows of ``GET /folders``: X's direct children with ``parent_id=X``; otherwise
    every folder, or only top-level ones with the ``top_level_folders`` quirk (10.1)."""
    query = call.request.query
    rows = [
        f
        for f in call.state["folders"].values()
        if not query.get("folder_type") or f["folder_type"] == query["folder_type"]
    ]
    if query.get("parent_id"):
        rows = [f for f in rows if f["parent_id"] == query["parent_id"]]
    elif call.quirks.top_level_folders:
        rows = [f for f in rows if f["parent_id"] is None]
    return _in_folder_order(rows)


def list_folders(call: Call) -> Response:
    rows = [_render_folder(call, f) for f in _listed_folders(call)]
    if call.request.query.get("pagination") == "false":
        return Response(200, {"data": rows})
    return page_of(call.request, rows)


def get_folder(call: Call) -> Response:
    return item(_render_folder(call, _folder(call)))


def _check_folder(call: Call, body: dict[str, Any], folder_type: str, creating: bool) -> None:
    errors: dict[str, list[str]] = {}
    name = body.get("name")
    if creating or "name" in body:
        if not isinstance(name, str) or not name.strip():
            errors["name"] = ["The name field is required."]
        elif len(name) > FOLDER_NAME_MAX:
            errors["name"] = [f"The name may not be greater than {FOLDER_NAME_MAX} characters."]
    if creating and folder_type not in ("checklist", "run"):
        errors["folder_type"] = ["The selected folder type is invalid."]
    parent_id = body.get("parent_id")
    if parent_id is not None:
        parent = call.state["folders"].get(parent_id)
        if parent is None or parent["folder_type"] != folder_type:
            errors["parent_id"] = ["The selected parent id is invalid."]
    if errors:
        raise invalid(errors)


def create_folder(call: Call) -> Response:
    body = call.body()
    folder_type = body.get("folder_type", "")
    _check_folder(call, body, folder_type, creating=True)
    siblings = [
        f for f in call.state["folders"].values() if f["parent_id"] == body.get("parent_id")
    ]
    folder = {
        "id": new_id(),
        "name": body["name"],
        "parent_id": body.get("parent_id"),
        "folder_type": folder_type,
        "position": len(siblings) + 1,
        "created_at": now(),
        "custom_fields": {},
    }
    call.state["folders"][folder["id"]] = folder
    call.changes.row("folders", folder["id"])
    return item(copied(folder), 201)


def update_folder(call: Call) -> Response:
    folder = _folder(call)
    body = call.body()
    _check_folder(call, body, folder["folder_type"], creating=False)
    call.changes.row("folders", folder["id"])
    for key in ("name", "parent_id"):
        if key in body:
            folder[key] = body[key]
    return item(copied(folder))


def delete_folder(call: Call) -> Response:
    folder = _folder(call)
    del call.state["folders"][folder["id"]]
    call.changes.row("folders", folder["id"])
    for child in call.state["folders"].values():
        if child["parent_id"] == folder["id"]:
            call.changes.row("folders", child["id"])
            child["parent_id"] = folder["parent_id"]
    for template in call.state["checklists"].values():
        if template["folder_id"] == folder["id"]:
            call.changes.template(template)
            template["folder_id"] = None  # contents are moved out, not deleted
    return Response(200, {"message": "Folder deleted."})
