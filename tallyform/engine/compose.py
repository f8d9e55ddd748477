"""One template's changes, in the order apply carries them out, with their positions and writes.

Per template, the plan lists (and apply runs) its changes in the order the API needs:

1. the template itself: restore, create, or update (its settings, people and folder);
2. kick-off fields: creates, updates, order (all carried by the template's own write);
3. steps: creates (the API appends them), then updates;
4. form fields: moves to another step, creates (each at a stated position), updates;
5. rules: deletes, updates, creates (rules name the new steps and fields);
6. deletes of form fields, kick-off fields and steps (nothing refers to them any more);
7. the order of steps, then of each step's fields, as explicit moves;
8. tags attached and detached.

Where the org builds the steps nested in a template's create (its probe found so), a new
template's steps and form fields are still listed as creates, made by its POST.

Positions and moves are worked out here by following what each change does to each
list, so apply needs no second look at the org. Each change's ``writes`` is counted by
its spec, from the duties :func:`assign_duties` gives it (see :mod:`tallyform.model.kinds`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tallyform.engine.diff import attr_changes
from tallyform.model.changes import AttrChange, Change
from tallyform.model.kinds import Action, Kind
from tallyform.model.state import FieldState, RuleAttrs, StepState, TemplateState
from tallyform.tallyfy.records import ArchivedMatch
from tallyform.tallyfy.wire import map_names_all

TITLE_MATCH_NOTE = "matched by {what} (it had no tallyform key); the key will be written"
KICKOFF_FORM = "kickoff"  # the reorder path of a template's kick-off fields


def _created(kind: Kind, path: tuple[str, ...], attrs: Mapping[str, Any], desired: Any) -> Change:
    return Change(
        Action.CREATE,
        kind,
        path,
        [AttrChange(k, None, v) for k, v in attrs.items()],
        desired=desired,
    )


def _updated(
    kind: Kind,
    path: tuple[str, ...],
    found: TemplateState | StepState | FieldState,
    attrs: Mapping[str, Any],
    wanted: Any,
) -> Change | None:
    attributes = attr_changes(found.attrs, attrs)
    note = None
    if found.matched_by == "title":
        attributes.insert(0, AttrChange("key", None, path[-1]))
        note = TITLE_MATCH_NOTE.format(what=kind.named_by)
    if not attributes:
        return None
    return Change(
        Action.UPDATE, kind, path, attributes, found.live_id, note, desired=wanted, live=found
    )


def _reorder(
    kind: Kind, path: tuple[str, ...], live: list[str], current: list[str], wanted: list[str]
) -> Change | None:
    """The moves that turn ``current`` into ``wanted``; the plan shows the live order as old."""
    moves = []
    order = list(current)
    for index, key in enumerate(wanted):
        if order[index] != key:
            order.remove(key)
            order.insert(index, key)
            moves.append((key, index + 1))
    if not moves:
        return None
    return Change(
        Action.REORDER, kind, path, [AttrChange("order", live, wanted)], moves=tuple(moves)
    )


def wanted_step(change: Change) -> str | None:
    """The step a changed form field is in once the change is made."""
    return getattr(change.desired, "step", None)


def _rule_fields(attrs: RuleAttrs) -> set[str]:
    return {str(c["field"]) for c in attrs["when"] if "field" in c}


def _anchor(step: StepState) -> str | None:
    """The step a step's deadline counts from, if any."""
    deadline = step.attrs["deadline"]
    return deadline["step"] if deadline else None


class _Composer:
    """Builds one template's change list; ``lists`` follows each step's fields as apply changes them."""

    def __init__(
        self, desired: TemplateState, live: TemplateState | None, builds_nested: bool = False
    ) -> None:
        self.desired = desired
        self.live = live
        self.builds_nested = builds_nested
        self.key = desired.key
        self.changes: list[Change] = []
        self.live_fields = live.fields_by_step() if live else {}  # as the plan found them
        self.lists = {step: list(keys) for step, keys in self.live_fields.items()}

    def add(self, change: Change | None) -> None:
        if change is not None:
            self.changes.append(change)

    def path(self, *keys: str) -> tuple[str, ...]:
        return (self.key, *keys)

    # -- 1 and 2: the template and its kick-off form ------------------------------------

    def template(self) -> None:
        desired, live = self.desired, self.live
        if live is None:
            self.add(_created(Kind.TEMPLATE, self.path(), desired.attrs, desired))
        else:
            self.add(_updated(Kind.TEMPLATE, self.path(), live, desired.attrs, desired))

    def kickoff(self) -> None:
        live_kickoff = self.live.kickoff if self.live else {}
        for key, wanted in self.desired.kickoff.items():
            found = live_kickoff.get(key)
            if found is None:
                self.add(_created(Kind.KICKOFF, self.path(key), wanted.attrs, wanted))
            else:
                self.add(_updated(Kind.KICKOFF, self.path(key), found, wanted.attrs, wanted))
        if self.live is not None:
            wanted_order = list(self.desired.kickoff)
            kept = [k for k in live_kickoff if k in self.desired.kickoff]
            projected = kept + [k for k in wanted_order if k not in kept]
            self.add(
                _reorder(
                    Kind.KICKOFF,
                    self.path(KICKOFF_FORM),
                    list(live_kickoff),
                    projected,
                    wanted_order,
                )
            )

    # -- 3 and 4: steps and their form fields -------------------------------------------

    def steps(self) -> None:
        live_steps = self.live.steps if self.live else {}
        updates = []
        for key, wanted in self.desired.steps.items():
            found = live_steps.get(key)
            if found is None:
                self.add(_created(Kind.STEP, self.path(key), wanted.attrs, wanted))
                self.lists[key] = []
            else:
                updates.append(_updated(Kind.STEP, self.path(key), found, wanted.attrs, wanted))
        for change in updates:
            self.add(change)

    def fields(self) -> None:
        live_fields = self.live.fields if self.live else {}
        updates = []
        for key, wanted in self.desired.fields.items():  # moves first: creates then append
            found = live_fields.get(key)
            if found is None or found.step == wanted.step:
                continue
            old_step, new_step = str(found.step), str(wanted.step)
            self.lists[old_step].remove(key)
            self.lists[new_step].append(key)
            self.add(
                Change(
                    Action.MOVE,
                    Kind.FIELD,
                    self.path(key),
                    [AttrChange("step", old_step, new_step)],
                    found.live_id,
                    position=len(self.lists[new_step]),
                    step=new_step,
                    desired=wanted,
                    live=found,
                )
            )
        for key, wanted in self.desired.fields.items():
            found = live_fields.get(key)
            if found is None:
                step_list = self.lists[str(wanted.step)]
                step_list.append(key)
                new = _created(
                    Kind.FIELD, self.path(key), {**wanted.attrs, "step": wanted.step}, wanted
                )
                new.position, new.step = len(step_list), wanted.step
                self.add(new)
                continue
            updates.append(_updated(Kind.FIELD, self.path(key), found, wanted.attrs, wanted))
        for update in updates:
            if update is not None:
                update.step = wanted_step(update)
            self.add(update)

    # -- 5: rules --------------------------------------------------------------------------

    def rules(self) -> None:
        live_rules = self.live.rules if self.live else {}
        for name, found_rule in live_rules.items():
            if name not in self.desired.rules:
                self.add(
                    Change(Action.DELETE, Kind.RULE, self.path(name), live_id=found_rule.live_id)
                )
        remade = self.remade_fields()
        for name, rule in self.desired.rules.items():
            found = live_rules.get(name)
            if found is None:
                continue
            attributes = attr_changes(found.attrs, rule.attrs)
            moved = sorted(remade & _rule_fields(rule.attrs))
            if attributes or moved:
                note = (
                    f"it is sent again to name {', '.join(moved)} where it is made anew"
                    if moved
                    else None
                )
                self.add(
                    Change(
                        Action.UPDATE,
                        Kind.RULE,
                        self.path(name),
                        attributes,
                        found.live_id,
                        note,
                        desired=rule,
                        live=found,
                    )
                )
        for name, rule in self.desired.rules.items():
            if name not in live_rules:
                self.add(_created(Kind.RULE, self.path(name), rule.attrs, rule))

    def remade_fields(self) -> set[str]:
        """Keys that move between the kick-off form and a step: deleted in one, made in the
        other, so a rule naming them must point at the new object before the old one goes."""
        live = self.live
        if live is None:
            return set()
        to_steps = {k for k in self.desired.fields if k in live.kickoff}
        to_kickoff = {k for k in self.desired.kickoff if k in live.fields}
        return to_steps | to_kickoff

    # -- 6: deletes --------------------------------------------------------------------------

    def deletes(self) -> None:
        live = self.live
        if live is None:
            return
        for key, found in live.fields.items():
            if key not in self.desired.fields:
                self.lists[str(found.step)].remove(key)
                self.add(
                    Change(
                        Action.DELETE,
                        Kind.FIELD,
                        self.path(key),
                        live_id=found.live_id,
                        step=found.step,
                        live=found,
                    )
                )
        for key, found in live.kickoff.items():
            if key not in self.desired.kickoff:
                self.add(
                    Change(
                        Action.DELETE,
                        Kind.KICKOFF,
                        self.path(key),
                        live_id=found.live_id,
                        live=found,
                    )
                )
        doomed = [k for k in live.steps if k not in self.desired.steps]
        while doomed:  # a step another doomed step counts its deadline from goes after it
            anchors = {_anchor(live.steps[k]) for k in doomed}
            key = next((k for k in doomed if k not in anchors), doomed[0])
            doomed.remove(key)
            found_step = live.steps[key]
            self.add(
                Change(
                    Action.DELETE,
                    Kind.STEP,
                    self.path(key),
                    live_id=found_step.live_id,
                    live=found_step,
                )
            )

    # -- 7: order ----------------------------------------------------------------------------

    def order(self) -> None:
        live_steps = list(self.live.steps) if self.live else []
        wanted = list(self.desired.steps)
        kept = [k for k in live_steps if k in self.desired.steps]
        projected = kept + [k for k in wanted if k not in kept]
        self.add(_reorder(Kind.STEP, self.path("steps"), live_steps, projected, wanted))
        wanted_fields = self.desired.fields_by_step()
        for step_key in wanted:
            self.add(
                _reorder(
                    Kind.FIELD,
                    self.path(step_key, "fields"),
                    self.live_fields.get(step_key, []),
                    self.lists[step_key],
                    wanted_fields[step_key],
                )
            )

    # -- 8: tags -------------------------------------------------------------------------------

    def tags(self) -> None:
        live_tags = self.live.tags if self.live else {}
        have = {title.lower(): title for title in live_tags}
        wanted = {title.lower() for title in self.desired.tags}
        for title in self.desired.tags:
            if title.lower() not in have:
                self.add(Change(Action.CREATE, Kind.TAGGING, self.path(title)))
        for lower, title in have.items():
            link = live_tags[title]
            if lower not in wanted and link is not None:  # see undetachable_tags
                self.add(Change(Action.DELETE, Kind.TAGGING, self.path(title), live_id=str(link)))

    def compose(self) -> list[Change]:
        for phase in (
            self.template,
            self.kickoff,
            self.steps,
            self.fields,
            self.rules,
            self.deletes,
            self.order,
            self.tags,
        ):
            phase()
        explain_replacements(self.changes)
        new_template = self.live is None
        nested = new_template and self.builds_nested and map_holds(self.desired)
        assign_duties(self.changes, new_template, nested)
        return self.changes


def _implied_key(change: Change) -> bool:
    """Whether a new object's key was made from its title or label rather than written."""
    source = getattr(change.desired, "source", None)
    return source is not None and not getattr(source, "key_written", True)


def explain_replacements(changes: list[Change]) -> None:
    """A delete and a create of one kind, where the new key came from a title or label, is
    most likely a rename that lost its identity: say how to keep the object."""
    deleted = {c.kind: c for c in changes if c.action is Action.DELETE and c.kind.child}
    for change in changes:
        if not change.creates or change.kind not in deleted or not _implied_key(change):
            continue
        key, old = change.path[-1], deleted[change.kind].path[-1]
        change.note = (
            f"its key '{key}' comes from its {change.kind.named_by}; if it replaces '{old}', "
            f"add `key: {old}` to update that one in place and keep its data"
        )


def undetachable_tags(desired: TemplateState | None, live: TemplateState) -> list[str]:
    """Tags a template should lose whose attachment Tallyfy's answer gives no id for: no
    detach is planned (it could hit another attachment), and the plan says so instead."""
    wanted = {title.lower() for title in desired.tags} if desired is not None else None
    if wanted is None:
        return []
    return [
        title for title, link in live.tags.items() if link is None and title.lower() not in wanted
    ]


def template_changes(
    desired: TemplateState | None,
    live: TemplateState | None,
    archived: ArchivedMatch | None = None,
    builds_nested: bool = False,
) -> list[Change]:
    """Every change that makes ``live`` what ``desired`` declares, in apply's order.

    ``archived`` is the archived live template with the same key, when there is one and
    no live one: it is restored rather than made again. ``builds_nested``: the org builds
    the steps nested in a template's create (its probe found so), so a new template is
    made with its steps and form fields in one POST (see :func:`assign_duties`).
    """
    if desired is None:
        assert live is not None
        return _priced([Change(Action.ARCHIVE, Kind.TEMPLATE, (live.key,), live_id=live.live_id)])
    if live is None and archived is not None:
        how = (
            "an archived template of the same title (Tallyfy's archived list shows no keys)"
            if archived.by_title
            else "it was archived"
        )
        return _priced(
            [
                Change(
                    Action.RESTORE,
                    Kind.TEMPLATE,
                    (desired.key,),
                    live_id=archived.id,
                    note=f"{how}; its steps and fields are compared once it is back, "
                    "so run apply again after this one",
                )
            ]
        )
    changes = _Composer(desired, live, builds_nested).compose()
    note_type_changes(changes)
    return changes


RETYPE_NOTE = (
    "if Tallyfy refuses the new type in place, apply replaces the field instead: about "
    "3 more writes than listed, and one for each rule that names it"
)


def note_type_changes(changes: list[Change]) -> None:
    """Say on a field's change of type what it costs if Tallyfy refuses it in place.

    Whether Tallyfy changes a field's type in place is unconfirmed (reference 9.8); when it
    refuses, apply makes the field anew and deletes the old one, so the writes it sends
    exceed the plan's count by what the note says.
    """
    for change in changes:
        retyped = change.action is Action.UPDATE and change.attribute("type") is not None
        if change.kind in (Kind.FIELD, Kind.KICKOFF) and retyped:
            change.note = f"{change.note}; {RETYPE_NOTE}" if change.note else RETYPE_NOTE


# -- duties and writes -------------------------------------------------------------------------


def _deadline_anchor(change: Change) -> str | None:
    deadline = next((a.new for a in change.attributes if a.name == "deadline"), None)
    return deadline.get("step") if isinstance(deadline, dict) else None


def _new_form(create: Change, changes: list[Change]) -> bool:
    """Whether a new template has a kick-off form to PUT after its POST: kick-off fields,
    or a kick-off title or description (writable only on update)."""
    texts = [create.attribute(n) for n in ("kickoff_title", "kickoff_description")]
    return any(c.kind is Kind.KICKOFF and c.creates for c in changes) or any(
        t is not None and t.new for t in texts
    )


def assign_duties(changes: list[Change], new_template: bool, nested: bool = False) -> None:
    """Decide, once and in plan order, what each of one template's changes sends besides
    its own writes (see :class:`Change`), then set its ``writes`` by its spec. Apply
    follows these duties and decides none of them again.

    - The template's own PUT: a new template's create sends it when there is a kick-off
      form to add; otherwise the first change it carries sends it, and the others ride on it.
    - A new step whose deadline counts from a step made later waits for that step.
    - The first change that gives an existing template a child counts the write of the
      template's map of its children, made once every change is made.
    - ``nested`` (a new template, in an org that builds the steps nested in a template's
      create): the template's POST carries its steps and their form fields, which cost
      nothing of their own; a step whose deadline counts from a step waits for it (no step
      has an id when the POST is sent). Every new child is keyed by the template's map
      alone, written with the template's own key.
    """
    form_sent = map_counted = new_template
    made_later = [c.path[-1] for c in changes if c.kind is Kind.STEP and c.creates]
    for change in changes:
        if new_template and change.creates_template:
            change.sends_form = _new_form(change, changes)
            change.sends_steps = nested and any(_built_by_post(c) for c in changes)
        elif not form_sent and change.spec.carried_by_template_write(change):
            change.sends_form = form_sent = True
        if nested and change.creates_child:
            change.keyed_by_map = True
            change.built_by_template = _built_by_post(change)
        if change.kind is Kind.STEP and change.creates:
            made_later.remove(change.path[-1])
            anchor = _deadline_anchor(change)
            waits = anchor is not None and (nested or anchor in made_later)
            change.waits_for = anchor if waits else None
        if not map_counted and change.creates_child:
            change.writes_map = map_counted = True
        change.writes = change.spec.writes(change)


def _built_by_post(change: Change) -> bool:
    """Whether a change is one a template's create can carry nested: a new step or form
    field (kick-off fields are the form's, sent by the template's PUT)."""
    return change.creates and change.kind in (Kind.STEP, Kind.FIELD)


def map_holds(desired: TemplateState) -> bool:
    """Whether a template's map of its children can name every one of them
    (:func:`~tallyform.tallyfy.wire.map_names_all`). A template too large for it is made
    one object at a time, each keyed on its own."""
    return map_names_all([*desired.kickoff, *desired.steps, *desired.fields])


def _priced(changes: list[Change]) -> list[Change]:
    """Changes with no duties to decide (org-wide ones, an archive, a restore), their
    writes set by their spec."""
    for change in changes:
        change.writes = change.spec.writes(change)
    return changes


def org_wide_changes(
    missing_key_kinds: list[str],
    kind_names: dict[str, str],
    folder_paths: Iterator[str] | list[str],
    folder_exists: Callable[[str], bool],
    tag_titles: list[str],
    tag_exists: Callable[[str], bool],
) -> list[Change]:
    """What the org needs before any template: tallyform's keys, folders, tags."""
    changes = [
        Change(
            Action.CREATE,
            Kind.KEY,
            (kind_names[kind],),
            desired=kind,
        )
        for kind in missing_key_kinds
    ]
    planned: set[str] = set()
    for path in folder_paths:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if prefix not in planned and not folder_exists(prefix):
                planned.add(prefix)
                changes.append(Change(Action.CREATE, Kind.FOLDER, (prefix,), desired=prefix))
    seen: set[str] = set()
    for title in tag_titles:
        if title.lower() not in seen and not tag_exists(title):
            seen.add(title.lower())
            changes.append(Change(Action.CREATE, Kind.TAG, (title,), desired=title))
    return _priced(changes)
