"""Reading the live org and turning its templates into normalised, matched states.

What is read, and nothing more: the custom-field keys (is ``tallyform_key`` defined?),
users, groups, tags and template folders (to name people, tags and folders as the YAML
does), the template list (to find the templates tallyform owns), and each owned or
declared template whole, in one request each, in parallel.

Matching (no state file): a live object carrying a ``tallyform_key`` value is that key's
object. One without a value (made by hand, or the value was cleared) is matched to a
declared sibling with the same title (steps, templates) or label (fields) that nothing
else matched; the plan says so, and apply writes its key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from tallyform.client import TallyfyClient, is_whole, unwrap, whole_template
from tallyform.engine.changes import Conflict
from tallyform.engine.state import (
    DEFAULT_APPLIES_TO,
    FIELD_SETTINGS,
    KEY_FIELD,
    KEY_RECORDS,
    STEP_SETTINGS,
    TEMPLATE_SETTINGS,
    FieldAttrs,
    FieldState,
    MatchedBy,
    RuleAttrs,
    RuleState,
    StepAttrs,
    StepState,
    TemplateAttrs,
    TemplateState,
    assignees,
    people,
    statement,
    text,
    unit,
)
from tallyform.model import slugify


@dataclass
class LiveOrg:
    """The org as far as a plan needs it."""

    users: dict[int, str] = field(default_factory=dict)  # id -> lowercase email
    groups: dict[str, str] = field(default_factory=dict)  # id -> name
    tags: dict[str, str] = field(default_factory=dict)  # id -> title
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> folder
    key_kinds: set[str] = field(default_factory=set)  # applies_to values with tallyform_key
    applies_to: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_APPLIES_TO))
    templates: list[dict[str, Any]] = field(default_factory=list)  # the list, not archived
    archived: list[dict[str, Any]] = field(default_factory=list)  # archived templates
    key_defs: list[dict[str, Any]] = field(default_factory=list)  # active custom-field keys

    def writable_keys(self, record: str) -> set[str]:
        """Custom-field keys of a record kind that a PUT may carry (system keys may not)."""
        kind = self.applies_to[record]
        return {
            k["key"]
            for k in self.key_defs
            if k.get("applies_to") == kind and k.get("key_type") != "system"
        }

    def user_id(self, email: str) -> int:
        return next(uid for uid, known in self.users.items() if known == email.lower())

    def group_id(self, name: str) -> str:
        return next(gid for gid, known in self.groups.items() if known == name)

    def tag_id(self, title: str) -> str | None:
        return next(
            (tid for tid, known in self.tags.items() if known.lower() == title.lower()), None
        )

    def folder_id(self, path: str) -> str | None:
        return next((fid for fid in self.folders if self.folder_path(fid) == path), None)

    def folder_path(self, folder_id: str | None) -> str | None:
        names: list[str] = []
        seen: set[str] = set()
        while folder_id and folder_id in self.folders and folder_id not in seen:
            seen.add(folder_id)
            names.append(self.folders[folder_id]["name"])
            folder_id = self.folders[folder_id].get("parent_id")
        return "/".join(reversed(names)) or None

    @property
    def missing_key_kinds(self) -> list[str]:
        """The record kinds (template, step, field, kickoff) whose tallyform_key is missing."""
        return [r for r in KEY_RECORDS if self.applies_to[r] not in self.key_kinds]

    def user_email(self, user_id: Any) -> str:
        return self.users.get(user_id, f"#{user_id}") if isinstance(user_id, int) else str(user_id)

    def group_name(self, group_id: Any) -> str:
        return self.groups.get(str(group_id), f"#{group_id}")


def read_org(
    client: TallyfyClient,
    applies_to: dict[str, str] | None = None,
    search: Mapping[str, tuple[str, ...]] | None = None,
) -> LiveOrg:
    """Everything but the templates' contents, read in parallel (the template list too).

    With ``search`` (key -> title, a plan of a few templates), the template list is
    searched by those titles instead of read whole (:func:`find_templates`); when that
    cannot find every key, the whole list is read after all.
    """
    readers: dict[str, Callable[[], Any]] = {
        "users": lambda: client.list_all("/users"),
        "groups": lambda: client.list_all("/groups"),
        "tags": lambda: client.list_all("/tags"),
        "folders": lambda: read_folders(client),
        "keys": lambda: client.list_all("/custom-field-keys", {"is_active": "true"}),
    }
    lists: dict[str, Callable[[], Any]] = {
        "templates": client.list_templates,
        "archived": lambda: client.list_all("/checklists", {"archived": "only"}),
    }
    if search is not None:
        readers["found"] = lambda: find_templates(client, search)
    else:
        readers.update(lists)  # with the rest, not after it: one round trip fewer
    results = dict(
        zip(readers, client.map(lambda name: readers[name](), list(readers)), strict=True)
    )
    if results.get("found") is not None:
        results["templates"], results["archived"] = results["found"], []
    elif search is not None:  # the search could not find every key: read the whole list
        read = client.map(lambda name: lists[name](), list(lists))
        results["templates"], results["archived"] = read
    return LiveOrg(
        users={u["id"]: str(u.get("email", "")).lower() for u in results["users"]},
        groups={str(g["id"]): g["name"] for g in results["groups"]},
        tags={str(t["id"]): t["title"] for t in results["tags"]},
        folders=results["folders"],
        key_kinds={k["applies_to"] for k in results["keys"] if k.get("key") == KEY_FIELD},
        templates=list(results["templates"]),
        archived=list(results["archived"]),
        key_defs=list(results["keys"]),
        applies_to={**DEFAULT_APPLIES_TO, **(applies_to or {})},
    )


def find_templates(
    client: TallyfyClient, titles: Mapping[str, tuple[str, ...]]
) -> list[dict[str, Any]] | None:
    """The live templates that carry each key of ``titles``, found by searching the list
    for the key's titles (``q``, Tallyfy's case-insensitive title search), whole.

    None unless every key is carried by a row found that way: a key not found (a new
    template, or one renamed in Tallyfy) could still be carried by a template of another
    title, and only the whole list can say it is not, so the caller reads the whole list.
    Rows whose custom fields the list leaves out are read on their own to learn their key.
    """
    every = {title for named in titles.values() for title in named}
    # The search matches part of a title: one for "Intake" finds "Intake (EU)" too.
    wanted = sorted(t for t in every if not any(o != t and o.lower() in t.lower() for o in every))
    searches = client.map(lambda title: client.list_templates({"q": title}), wanted)
    rows = {str(row["id"]): row for found in searches for row in found}
    unkeyed = [row for row in rows.values() if "custom_fields" not in row]
    for read in client.map(lambda row: client.get_template(str(row["id"])), unkeyed):
        rows[str(read["id"])] = read
    carried = {key_of(row) for row in rows.values()}
    if not set(titles) <= carried:
        return None
    return list(rows.values())


def read_folders(client: TallyfyClient) -> dict[str, dict[str, Any]]:
    """Every template folder by id, however deep: Tallyfy's list may hold only the top
    level, with each folder's ``children`` nested (as its SDK and n8n node read them), or
    every folder flat; both are walked, and each folder gets its ``parent_id``."""
    rows = client.list_all("/folders", {"folder_type": "checklist", "with": "children"})
    folders: dict[str, dict[str, Any]] = {}
    pending: list[tuple[Any, str | None]] = [(row, None) for row in rows]
    while pending:
        row, parent = pending.pop()
        if not isinstance(row, dict) or row.get("id") is None:
            continue
        folder_id = str(row["id"])
        known = row.get("parent_id")
        parent_id = str(known) if known not in (None, "") else parent
        folders.setdefault(folder_id, {**row, "parent_id": parent_id})
        pending += [(child, folder_id) for child in unwrap(row.get("children")) or []]
    return folders


def read_all_whole(client: TallyfyClient, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The live template of each row of the list, whole, in order: from the row itself when
    it carries everything (no request, and no worker thread), else read on its own
    (:func:`read_template`) or missing only its steps' keys (:func:`with_step_keys`)."""
    found = [whole_template(row) if is_whole(row) else None for row in rows]

    def complete(index: int) -> dict[str, Any]:
        raw = found[index]
        if raw is None:
            return read_template(client, str(rows[index]["id"]))
        return with_step_keys(client, raw)

    rest = [i for i, raw in enumerate(found) if raw is None or not _has_step_keys(raw)]
    for index, raw in zip(rest, client.map(complete, rest), strict=True):
        found[index] = raw
    return [raw for raw in found if raw is not None]


def _has_step_keys(raw: dict[str, Any]) -> bool:
    return all("custom_fields" in s for s in raw.get("steps") or [])


def read_template(client: TallyfyClient, template_id: str) -> dict[str, Any]:
    """A live template whole, with the tallyform keys of its steps and form fields."""
    return with_step_keys(client, client.get_template(template_id))


def with_step_keys(client: TallyfyClient, raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` with the tallyform keys of its steps and form fields.

    Where the template's steps come without their custom fields (Tallyfy may show those
    only on a direct read), each step is read on its own, with its form fields.
    """
    template_id = raw["id"]
    steps = raw.get("steps") or []
    if _has_step_keys(raw):
        return raw
    full = client.map(lambda s: client.get(f"/checklists/{template_id}/steps/{s['id']}"), steps)
    for step, read in zip(steps, full, strict=True):
        if not isinstance(read, dict):
            continue
        step["custom_fields"] = read.get("custom_fields")
        by_id = {str(c.get("id")): c for c in unwrap(read.get("captures")) or []}
        for capture in step.get("captures") or []:
            found = by_id.get(str(capture.get("id")))
            if found is not None and "custom_fields" in found:
                capture["custom_fields"] = found["custom_fields"]
    return raw


def key_of(record: dict[str, Any]) -> str | None:
    """The ``tallyform_key`` value of a live record, if it has one."""
    values = record.get("custom_fields")
    value = values.get(KEY_FIELD) if isinstance(values, dict) else None
    return str(value) if value else None


def assign_keys(
    records: Iterable[dict[str, Any]],
    declared: dict[str, str],
    title_of: Callable[[dict[str, Any]], str],
    taken: set[str],
    clash: Callable[[str, list[dict[str, Any]]], None] | None = None,
) -> list[tuple[str, dict[str, Any], MatchedBy | None]]:
    """Pair live records with declared keys: by key value, then by exact title.

    ``declared`` maps each declared key to its title. Returns (key, record, matched_by),
    matched_by None for records that match nothing (they will be deleted). Records of one
    list that carry the same key are reported to ``clash``, which decides what to do.
    """
    rows = list(records)
    result: list[tuple[str, dict[str, Any], MatchedBy | None]] = []
    unkeyed = []
    keyed: dict[str, list[dict[str, Any]]] = {}
    for record in rows:
        key = key_of(record)
        if key:
            keyed.setdefault(key, []).append(record)
        if key and key not in taken:
            taken.add(key)
            result.append((key, record, "key"))
        else:
            unkeyed.append(record)
    for key, group in keyed.items():
        if len(group) > 1 and clash is not None:
            clash(key, group)
    for record in unkeyed:
        title = title_of(record)
        match = next((k for k, t in declared.items() if k not in taken and t == title), None)
        if match is not None:
            taken.add(match)
            result.append((match, record, "title"))
            continue
        base = slugify(title) or "untitled"
        key, number = base, 2
        while key in taken or key in declared:
            key, number = f"{base}-{number}", number + 1
        taken.add(key)
        result.append((key, record, None))
    order = {id(r): i for i, r in enumerate(rows)}
    return sorted(result, key=lambda row: order[id(row[1])])


def _field_attrs(raw: dict[str, Any]) -> FieldAttrs:
    attrs: dict[str, Any] = {
        "label": raw.get("label"),
        "type": raw.get("field_type"),
        "required": bool(raw.get("required")),
        "options": [o.get("text") for o in raw.get("options") or []],
        "columns": [c.get("label") for c in raw.get("columns") or []],
    }
    for name, (api_name, default) in FIELD_SETTINGS.items():
        value = raw.get(api_name)
        value = default if value in (None, "") else value
        attrs[name] = text(value) if name == "guidance" else value
    if not attrs["validation"]:
        attrs["validation"] = []
    return cast(FieldAttrs, attrs)


def _deadline(raw: Any, step_keys: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or raw.get("value") is None:
        return None
    anchor = raw.get("step")
    step = None if anchor in (None, "", "start_run") else step_keys.get(str(anchor), f"#{anchor}")
    return {
        "value": raw.get("value"),
        "unit": unit(raw.get("unit")),
        "option": raw.get("option") or "from",
        "step": step,
    }


def _step_attrs(raw: dict[str, Any], org: LiveOrg, step_keys: dict[str, str]) -> StepAttrs:
    start = raw.get("start_date")
    attrs: dict[str, Any] = {
        "title": raw.get("title"),
        "type": raw.get("step_type") or "task",
        "summary": text(raw.get("summary")),
        "assignees": assignees(
            [org.user_email(u) for u in raw.get("assignees") or []],
            [org.group_name(g) for g in raw.get("groups") or []],
            list(raw.get("guests") or []),
        ),
        "deadline": _deadline(raw.get("deadline"), step_keys),
        "start_date": {"value": start.get("value"), "unit": unit(start.get("unit"))}
        if isinstance(start, dict) and start.get("value") is not None
        else None,
    }
    for name, default in STEP_SETTINGS.items():
        value = raw.get(name)
        attrs[name] = default if value is None else value
    return cast(StepAttrs, attrs)


def _rule_attrs(raw: dict[str, Any], org: LiveOrg, ids: dict[str, str]) -> RuleAttrs:
    conditions = sorted(raw.get("conditions") or [], key=lambda c: c.get("position") or 0)
    when = []
    for condition in conditions:
        subject = "step" if condition.get("conditionable_type") == "Step" else "field"
        target = str(condition.get("conditionable_id"))
        entry: dict[str, Any] = {
            subject: ids.get(target, f"#{target}"),
            "is": condition.get("operation"),
        }
        if subject == "field":
            entry["value"] = statement(condition.get("statement"))
        if condition.get("column_contains_name"):
            entry["column"] = condition["column_contains_name"]
        when.append(entry)
    then = []
    for action in sorted(raw.get("then_actions") or [], key=lambda a: a.get("position") or 0):
        verb = action.get("action_verb")
        verb = "webhook" if verb == "emit_webhook" else verb  # as the YAML names it
        target = str(action.get("target_step_id"))
        entry = {"verb": verb, "step": ids.get(target, f"#{target}")}
        if verb in ("assign", "assign_only", "unassign"):
            found = action.get("assignees") or {}
            entry["assignees"] = assignees(
                [org.user_email(u) for u in found.get("users") or []],
                [org.group_name(g) for g in found.get("groups") or []],
                list(found.get("guests") or []),
            )
        if action.get("action_type") == "deadline" and isinstance(action.get("deadline"), dict):
            deadline = action["deadline"]
            entry["deadline"] = {
                "value": deadline.get("value"),
                "unit": deadline.get("unit"),
                "option": deadline.get("option"),
            }
        if verb == "webhook":
            entry["webhook"] = {"url": action.get("webhook_url"), "name": action.get("alias_name")}
        then.append(entry)
    logic = {c.get("logic") for c in conditions}
    match = "any" if len(conditions) > 1 and logic == {"or"} else "all"
    return {"match": match, "when": when, "then": then}


def _tag_links(raw: dict[str, Any], org: LiveOrg) -> dict[str, int | str | None]:
    """A template's tags by title, each with its association id (to detach it).

    Items may carry the tag's own data or only ``tag_id`` (reference 9.21): the title
    comes from the item, else from the org's tag list by ``tag_id``.
    """
    links: dict[str, int | str | None] = {}
    for item in raw.get("tags") or []:
        tag_id = item.get("tag_id")
        title = org.tags.get(str(tag_id)) if tag_id is not None else None
        title = title or item.get("title") or f"#{tag_id}"
        links[str(title)] = item.get("id")
    return links


def _template_attrs(raw: dict[str, Any], org: LiveOrg) -> TemplateAttrs:
    attrs: dict[str, Any] = {
        "title": raw.get("title"),
        "type": raw.get("type"),
        "summary": text(raw.get("summary")),
        "access": people(
            [org.user_email(u) for u in raw.get("users") or []],
            [org.group_name(g) for g in raw.get("groups") or []],
        ),
        "folder": org.folder_path(raw.get("folder_id")),
    }
    for name, default in TEMPLATE_SETTINGS.items():
        value = raw.get(name)
        value = default if value is None else value
        attrs[name] = text(value) if name in ("guidance", "kickoff_description") else value
    return cast(TemplateAttrs, attrs)


def live_state(
    raw: dict[str, Any],
    key: str,
    matched_by: MatchedBy | None,
    org: LiveOrg,
    desired: TemplateState | None,
) -> TemplateState:
    """A live template (from ``client.get_template``) as a state matched against ``desired``."""
    state = TemplateState(
        key=key, attrs=_template_attrs(raw, org), live_id=raw["id"], matched_by=matched_by, raw=raw
    )
    state.tags = _tag_links(raw, org)
    wanted_steps = {k: s.attrs["title"] for k, s in desired.steps.items()} if desired else {}

    def clash(what: str) -> Callable[[str, list[dict[str, Any]]], None]:
        return lambda k, group: state.conflicts.append(
            conflict(f"{what} of template {key}", k, group)
        )

    step_rows = assign_keys(
        raw.get("steps") or [],
        wanted_steps,
        lambda r: str(r.get("title") or ""),
        set(),
        clash("steps"),
    )
    ids = {str(record["id"]): k for k, record, _ in step_rows}

    # A key both a kick-off field and a form field carry (a field moving between them, cut
    # off halfway) belongs to the kind the repository declares it as.
    declared_in_steps = set(desired.fields) if desired else set()
    field_taken = {
        k for s in raw.get("steps") or [] for c in s.get("captures") or [] if (k := key_of(c))
    } & declared_in_steps
    wanted_kickoff = {k: f.attrs["label"] for k, f in desired.kickoff.items()} if desired else {}
    for k, record, how in assign_keys(
        raw.get("prerun") or [],
        wanted_kickoff,
        lambda r: str(r.get("label") or ""),
        field_taken,
        clash("kick-off fields"),
    ):
        state.kickoff[k] = FieldState(k, _field_attrs(record), record["id"], how, raw=record)
        ids[str(record["id"])] = k
    field_taken = set(state.kickoff)
    # A label matches a declared field of the same step; keys match template-wide.
    labels: dict[str | None, dict[str, str]] = {}
    for k, f in desired.fields.items() if desired else []:
        labels.setdefault(f.step, {})[k] = f.attrs["label"]
    for step_key, step_record, _ in step_rows:
        rows = assign_keys(
            step_record.get("captures") or [],
            labels.get(step_key, {}),
            lambda r: str(r.get("label") or ""),
            field_taken,
            clash("form fields"),
        )
        for k, record, how in rows:
            state.fields[k] = FieldState(
                k, _field_attrs(record), record["id"], how, raw=record, step=step_key
            )
            ids[str(record["id"])] = k
    for step_key, record, how in step_rows:
        state.steps[step_key] = StepState(
            step_key, _step_attrs(record, org, ids), record["id"], how, raw=record
        )

    for rule in raw.get("automated_actions") or []:
        name = str(rule.get("automated_alias") or "unnamed rule")
        unique, number = name, 2
        while unique in state.rules:
            unique, number = f"{name} ({number})", number + 1
        state.rules[unique] = RuleState(
            unique, _rule_attrs(rule, org, ids), rule.get("id"), raw=rule
        )
    return state


def conflict(what: str, key: str, group: list[dict[str, Any]]) -> Conflict:
    return Conflict(
        what,
        key,
        tuple(str(r.get("id")) for r in group),
        tuple(str(r.get("title") or r.get("label") or "") for r in group),
    )


def match_templates(
    org: LiveOrg, declared: dict[str, str], conflicts: list[Conflict]
) -> list[tuple[str, dict[str, Any], MatchedBy | None]]:
    """Live templates tallyform owns (by key) or may adopt (same title as a declared one).

    Live templates with neither are not tallyform's and are left out entirely. Two live
    templates with one key (a copy made in Tallyfy, or two applies at once) are a conflict.
    """
    rows = assign_keys(
        org.templates,
        declared,
        lambda r: str(r.get("title") or ""),
        set(),
        lambda key, group: conflicts.append(conflict("templates", key, group)),
    )
    return [(key, record, how) for key, record, how in rows if how is not None]


def archived_with_key(org: LiveOrg, key: str, title: str | None = None) -> dict[str, Any] | None:
    """The most recently archived template carrying ``key``, if any.

    Where the archived list carries no custom fields at all (and an archived template
    cannot be read on its own: it answers 404), one with the same ``title`` stands in;
    the row is then marked ``matched_by_title``, which the plan says.
    """
    found = [t for t in org.archived if key_of(t) == key]
    keyless = bool(org.archived) and all("custom_fields" not in t for t in org.archived)
    if not found and keyless and title is not None:
        found = [{**t, "matched_by_title": True} for t in org.archived if t.get("title") == title]
    return max(found, key=lambda t: str(t.get("archived_at") or "")) if found else None
