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
from typing import Any, Protocol, TypeVar, cast

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
from tallyform.tallyfy.records import (
    ArchivedMatch,
    FieldRecord,
    ListedTemplate,
    RuleRecord,
    StepRecord,
    TagLink,
    TemplateRecord,
    Timing,
)


class Keyed(Protocol):
    """A live record matched to a declared key: its id, tallyform key and title or label."""

    @property
    def id(self) -> str: ...

    @property
    def key(self) -> str | None: ...

    @property
    def name(self) -> str: ...


R = TypeVar("R", bound=Keyed)


def assign_keys(
    records: Iterable[R],
    declared: dict[str, str],
    taken: set[str],
    clash: Callable[[str, list[R]], None] | None = None,
) -> list[tuple[str, R, MatchedBy | None]]:
    """Pair live records with declared keys: by key value, then by exact title or label.

    ``declared`` maps each declared key to its title. Returns (key, record, matched_by),
    matched_by None for records that match nothing (they will be deleted). Records of one
    list that carry the same key are reported to ``clash``, which decides what to do.
    """
    rows = list(records)
    result: list[tuple[str, R, MatchedBy | None]] = []
    unkeyed = []
    keyed: dict[str, list[R]] = {}
    for record in rows:
        key = record.key
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
        title = record.name
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


def _field_attrs(record: FieldRecord) -> FieldAttrs:
    attrs: dict[str, Any] = {
        "label": record.label,
        "type": record.field_type,
        "required": record.required,
        "options": [o.text for o in record.options],
        "columns": [c.text for c in record.columns],
    }
    for name, default in FIELD_SETTINGS.items():
        value = record.settings.get(name)
        value = default if value in (None, "") else value
        attrs[name] = text(value) if name == "guidance" else value
    if not attrs["validation"]:
        attrs["validation"] = []
    return cast(FieldAttrs, attrs)


def _deadline(found: Timing | None, step_keys: dict[str, str]) -> dict[str, Any] | None:
    if found is None:
        return None
    anchor = found.anchor
    return {
        "value": found.value,
        "unit": unit(found.unit),
        "option": found.option or "from",
        "step": None if anchor is None else step_keys.get(anchor, f"#{anchor}"),
    }


def _step_attrs(record: StepRecord, org: LiveOrg, step_keys: dict[str, str]) -> StepAttrs:
    start = record.start_date
    attrs: dict[str, Any] = {
        "title": record.title,
        "type": record.step_type or "task",
        "summary": text(record.summary),
        "assignees": assignees(
            [org.user_email(u) for u in record.assignees],
            [org.group_name(g) for g in record.groups],
            list(record.guests),
        ),
        "deadline": _deadline(record.deadline, step_keys),
        "start_date": None if start is None else {"value": start.value, "unit": unit(start.unit)},
    }
    for name, default in STEP_SETTINGS.items():
        value = record.settings.get(name)
        attrs[name] = default if value is None else value
    return cast(StepAttrs, attrs)


def _rule_attrs(record: RuleRecord, org: LiveOrg, ids: dict[str, str]) -> RuleAttrs:
    conditions = record.conditions
    when = []
    for condition in conditions:
        subject = "step" if condition.on_step else "field"
        target = condition.subject_id
        entry: dict[str, Any] = {
            subject: ids.get(target, f"#{target}"),
            "is": condition.operation,
        }
        if subject == "field":
            entry["value"] = statement(condition.statement)
        if condition.column:
            entry["column"] = condition.column
        when.append(entry)
    then = []
    for action in record.actions:
        verb = action.verb
        target = action.target_step_id
        entry = {"verb": verb, "step": ids.get(target, f"#{target}")}
        if verb in ("assign", "assign_only", "unassign"):
            found = action.assignees
            entry["assignees"] = assignees(
                [org.user_email(u) for u in found.users],
                [org.group_name(g) for g in found.groups],
                list(found.guests),
            )
        if action.deadline is not None:
            deadline = action.deadline
            entry["deadline"] = {
                "value": deadline.value,
                "unit": deadline.unit,
                "option": deadline.option,
            }
        if verb == "webhook":
            entry["webhook"] = {"url": action.webhook_url, "name": action.webhook_name}
        then.append(entry)
    logic = {c.logic for c in conditions}
    match = "any" if len(conditions) > 1 and logic == {"or"} else "all"
    return {"match": match, "when": when, "then": then}


def _tag_links(links: Iterable[TagLink], org: LiveOrg) -> dict[str, int | str | None]:
    """A template's tags by title, each with its association id (to detach it), or None
    where the item shows none.

    Items may carry the tag's own data or only ``tag_id`` (reference 9.21): the title
    comes from the item, else from the org's tag list by ``tag_id``. The association id is
    the item's ``id`` only when it is an integer: in the shape Tallyfy's documentation
    shows (``{id, title, color}``) ``id`` is the tag's own hex id, and a detach sent with it
    would be cast to an integer by PHP and could detach another template's tag (audit W22;
    Tallyfy's SDK refuses a non-numeric association id for the same reason).
    """
    found: dict[str, int | str | None] = {}
    for link in links:
        tag_id = link.tag_id
        title = org.tags.get(tag_id) if tag_id is not None else None
        if title is None and tag_id is None and link.item_id is not None:
            title = org.tags.get(link.item_id)  # the documented shape: the tag itself
        title = title or link.title or f"#{tag_id}"
        found[str(title)] = link.association_id
    return found


def _template_attrs(record: TemplateRecord, org: LiveOrg) -> TemplateAttrs:
    attrs: dict[str, Any] = {
        "title": record.title,
        "type": record.type,
        "summary": text(record.summary),
        "access": people(
            [org.user_email(u) for u in record.users],
            [org.group_name(g) for g in record.groups],
        ),
        "folder": org.folder_path(record.folder_id),
    }
    for name, default in TEMPLATE_SETTINGS.items():
        value = record.settings.get(name)
        value = default if value is None else value
        attrs[name] = text(value) if name in ("guidance", "kickoff_description") else value
    return cast(TemplateAttrs, attrs)


def live_state(
    record: TemplateRecord,
    key: str,
    matched_by: MatchedBy | None,
    org: LiveOrg,
    desired: TemplateState | None,
) -> TemplateState:
    """A live template (from :func:`~tallyform.tallyfy.read.read_all_whole`) as a state
    matched against ``desired``. Each state keeps the record it was decoded from, for
    apply's writes (:class:`~tallyform.model.state.LiveRecord`)."""
    state = TemplateState(
        key=key,
        attrs=_template_attrs(record, org),
        live_id=record.id,
        matched_by=matched_by,
        record=record,
    )
    state.tags = _tag_links(record.tags, org)
    wanted_steps = {k: s.attrs["title"] for k, s in desired.steps.items()} if desired else {}

    def clash(what: str) -> Callable[[str, list[Any]], None]:
        return lambda k, group: state.conflicts.append(
            conflict(f"{what} of template {key}", k, group)
        )

    step_rows = assign_keys(record.steps, wanted_steps, set(), clash("steps"))
    ids = {step.id: k for k, step, _ in step_rows}

    # A key both a kick-off field and a form field carry (a field moving between them, cut
    # off halfway) belongs to the kind the repository declares it as.
    declared_in_steps = set(desired.fields) if desired else set()
    field_taken = {c.key for s in record.steps for c in s.fields if c.key} & declared_in_steps
    wanted_kickoff = {k: f.attrs["label"] for k, f in desired.kickoff.items()} if desired else {}
    for k, item, how in assign_keys(
        record.kickoff, wanted_kickoff, field_taken, clash("kick-off fields")
    ):
        state.kickoff[k] = FieldState(k, _field_attrs(item), item.id, how, record=item)
        ids[item.id] = k
    field_taken = set(state.kickoff)
    # A label matches a declared field of the same step; keys match template-wide.
    labels: dict[str | None, dict[str, str]] = {}
    for k, f in desired.fields.items() if desired else []:
        labels.setdefault(f.step, {})[k] = f.attrs["label"]
    for step_key, step, _ in step_rows:
        rows = assign_keys(step.fields, labels.get(step_key, {}), field_taken, clash("form fields"))
        for k, item, how in rows:
            state.fields[k] = FieldState(
                k, _field_attrs(item), item.id, how, record=item, step=step_key
            )
            ids[item.id] = k
    for step_key, step, how in step_rows:
        state.steps[step_key] = StepState(
            step_key, _step_attrs(step, org, ids), step.id, how, record=step
        )

    for rule in record.rules:
        unique, number = rule.name, 2
        while unique in state.rules:
            unique, number = f"{rule.name} ({number})", number + 1
        state.rules[unique] = RuleState(unique, _rule_attrs(rule, org, ids), rule.id, record=rule)
    return state


def conflict(what: str, key: str, group: Iterable[Keyed]) -> Conflict:
    rows = list(group)
    return Conflict(what, key, tuple(r.id for r in rows), tuple(r.name for r in rows))


def match_templates(
    org: LiveOrg, declared: dict[str, str], conflicts: list[Conflict]
) -> list[tuple[str, ListedTemplate, MatchedBy | None]]:
    """Live templates tallyform owns (by key) or may adopt (same title as a declared one).

    Live templates with neither are not tallyform's and are left out entirely. Two live
    templates with one key (a copy made in Tallyfy, or two applies at once) are a conflict.
    """
    rows = assign_keys(
        org.templates,
        declared,
        set(),
        lambda key, group: conflicts.append(conflict("templates", key, group)),
    )
    return [(key, record, how) for key, record, how in rows if how is not None]


def archived_with_key(org: LiveOrg, key: str, title: str | None = None) -> ArchivedMatch | None:
    """The most recently archived template carrying ``key``, if any.

    Where the archived list carries no custom fields at all (and an archived template
    cannot be read on its own: it answers 404), one with the same ``title`` stands in;
    the match then says so (``by_title``), and so does the plan.
    """
    found = [t for t in org.archived if t.key == key]
    by_title = False
    keyless = bool(org.archived) and not any(t.shows_keys for t in org.archived)
    if not found and keyless and title is not None:
        found, by_title = [t for t in org.archived if t.title == title], True
    if not found:
        return None
    latest = max(found, key=lambda t: t.archived_at)
    return ArchivedMatch(latest.id, by_title)
