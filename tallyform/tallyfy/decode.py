"""Live templates as normalised, matched states: the wire's template made comparable.

Matching (no state file): a live object carrying a ``tallyform_key`` value is that key's
object. One without a value (made by hand, or the value was cleared) is matched to a
declared sibling with the same title (steps, templates) or label (fields) that nothing
else matched; the plan says so, and apply writes its key.

Decoding: people by email, groups by name, tags by title, folders by path, steps and
fields named by key, defaults filled in, as :mod:`tallyform.model.state` defines them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from tallyform.model import slugify
from tallyform.model.changes import Conflict
from tallyform.model.state import (
    FIELD_SETTINGS,
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
from tallyform.tallyfy.read import LiveOrg
from tallyform.tallyfy.wire import field_api_name, key_of, shows_keys


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
    for name, default in FIELD_SETTINGS.items():
        value = raw.get(field_api_name(name))
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
    """A template's tags by title, each with its association id (to detach it), or None
    where the item shows none.

    Items may carry the tag's own data or only ``tag_id`` (reference 9.21): the title
    comes from the item, else from the org's tag list by ``tag_id``. The association id is
    the item's ``id`` only when it is an integer: in the shape Tallyfy's documentation
    shows (``{id, title, color}``) ``id`` is the tag's own hex id, and a detach sent with it
    would be cast to an integer by PHP and could detach another template's tag (audit W22;
    Tallyfy's SDK refuses a non-numeric association id for the same reason).
    """
    links: dict[str, int | str | None] = {}
    for item in raw.get("tags") or []:
        tag_id = item.get("tag_id")
        title = org.tags.get(str(tag_id)) if tag_id is not None else None
        if title is None and tag_id is None and item.get("id") is not None:
            title = org.tags.get(str(item["id"]))  # the documented shape: the tag itself
        title = title or item.get("title") or f"#{tag_id}"
        links[str(title)] = association_id(item.get("id"))
    return links


def association_id(value: Any) -> int | None:
    """A tag association's id: an integer (or the digits of one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


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
    """A live template (from :func:`~tallyform.tallyfy.read.get_template`) as a state matched against ``desired``."""
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
    keyless = bool(org.archived) and not any(shows_keys(t) for t in org.archived)
    if not found and keyless and title is not None:
        found = [{**t, "matched_by_title": True} for t in org.archived if t.get("title") == title]
    return max(found, key=lambda t: str(t.get("archived_at") or "")) if found else None
