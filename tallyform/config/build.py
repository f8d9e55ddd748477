"""Turning a template document into :class:`~tallyform.model.template.Template`.

The parts that are built have passed the JSON Schema, so their shapes are trusted;
defaults (keys from titles and labels, field type ``text``, step type ``task``) are filled
in here, once. What the schema refused is named in ``broken`` and left out, so that
``validate`` can still check the rest in the same run: a setting of the template or of a
step (by its path), or a whole kick-off field, step, form field or rule (a step whose key
or title is refused is left out whole). :func:`declared_keys` reads the keys of every
part, broken or not, for checking references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tallyform.config.source import DataPath, Document, DocumentOrigin
from tallyform.model.template import (
    ACTION_VERBS,
    Action,
    Assignees,
    Column,
    Condition,
    Deadline,
    Event,
    Expectations,
    Field,
    Option,
    Rule,
    Scenario,
    Step,
    Template,
    slugify,
)

_TEMPLATE_OWN = {
    "key",
    "title",
    "type",
    "summary",
    "access",
    "kickoff",
    "steps",
    "tags",
    "folder",
    "rules",
    "tests",
}
_STEP_OWN = {"key", "title", "type", "summary", "assignees", "deadline", "start_date", "fields"}
_FIELD_OWN = {"key", "label", "type", "required", "options", "columns"}

Broken = frozenset[DataPath]  # paths of the parts the schema refused


@dataclass(frozen=True)
class DeclaredKeys:
    """Step and field keys a template declares, and whether every one of them could be read."""

    steps: frozenset[str]
    fields: frozenset[str]
    steps_known: bool = True
    fields_known: bool = True

    @classmethod
    def of(cls, template: Template) -> DeclaredKeys:
        return cls(
            frozenset(s.key for s in template.steps),
            frozenset(f.key for f in template.all_fields()),
        )


def assignees_from(data: dict[str, Any] | None) -> Assignees:
    data = data or {}
    return Assignees(
        users=tuple(data.get("users", ())),
        groups=tuple(data.get("groups", ())),
        guests=tuple(data.get("guests", ())),
    )


def field_key(data: dict[str, Any]) -> str:
    return str(data.get("key") or slugify(data["label"]))


def step_key(data: dict[str, Any]) -> str:
    return str(data.get("key") or slugify(data["title"]))


def _option(raw: Any) -> Option:
    return Option(raw) if isinstance(raw, str) else Option(raw["text"], raw.get("id"))


def _column(raw: Any) -> Column:
    return Column(raw) if isinstance(raw, str) else Column(raw["label"], raw.get("id"))


def build_field(data: dict[str, Any], origin: DocumentOrigin) -> Field:
    return Field(
        key=field_key(data),
        key_written="key" in data,
        label=data["label"],
        type=data.get("type", "text"),
        required=bool(data.get("required", False)),
        options=tuple(_option(o) for o in data.get("options", ())),
        columns=tuple(_column(c) for c in data.get("columns", ())),
        settings={k: v for k, v in data.items() if k not in _FIELD_OWN},
        origin=origin,
    )


def _listed(
    data: dict[str, Any], name: str, path: DataPath, broken: Broken
) -> list[tuple[int, Any]]:
    """``(index, item)`` of the list ``data[name]`` whose items are not broken."""
    items = data.get(name, ())
    if (*path, name) in broken or not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if (*path, name, i) not in broken]


# One idea, two words in Tallyfy's API: a step's deadline counts back with `prior_to`, a
# rule's deadline action with `before`. A template file may use either word in either
# place (the schema says so); the model keeps the word the API takes there.
STEP_DEADLINE_OPTIONS = {"from": "from", "prior_to": "prior_to", "before": "prior_to"}
ACTION_DEADLINE_OPTIONS = {"from": "from", "before": "before", "prior_to": "before"}


def _deadline(data: dict[str, Any] | None) -> Deadline | None:
    if data is None:
        return None
    option = data.get("option", "from")
    return Deadline(
        data["value"], data["unit"], STEP_DEADLINE_OPTIONS.get(option, option), data.get("step")
    )


def build_step(data: dict[str, Any], origin: DocumentOrigin, broken: Broken = frozenset()) -> Step:
    start = data.get("start_date")
    return Step(
        key=step_key(data),
        key_written="key" in data,
        title=data["title"],
        type=data.get("type", "task"),
        summary=data.get("summary"),
        assignees=assignees_from(data.get("assignees")),
        deadline=_deadline(data.get("deadline")),
        start_date=(start["value"], start["unit"]) if start else None,
        fields=[
            build_field(f, DocumentOrigin(origin.document, (*origin.path, "fields", i)))
            for i, f in _listed(data, "fields", origin.path, broken)
        ],
        settings={k: v for k, v in data.items() if k not in _STEP_OWN},
        origin=origin,
    )


def action_verb(data: dict[str, Any]) -> str | None:
    verbs = [v for v in ACTION_VERBS if v in data]
    return verbs[0] if len(verbs) == 1 else None


def _action(data: dict[str, Any], rule_name: str) -> Action:
    verb = action_verb(data) or ""
    # A missing value or unit is a problem checks.py reports; it must not stop the build.
    deadline = (
        (
            data.get("value", 0),
            data.get("unit", ""),
            ACTION_DEADLINE_OPTIONS.get(data.get("option", "from"), data.get("option", "from")),
        )
        if verb == "deadline"
        else None
    )
    webhook = (
        (str(data.get("url", "")), str(data.get("name") or rule_name))
        if verb == "webhook"
        else None
    )
    return Action(
        verb, data.get(verb, ""), assignees_from(data.get("assignees")), deadline, webhook
    )


def _condition(data: dict[str, Any]) -> Condition:
    subject = "field" if "field" in data else "step"
    return Condition(
        subject, data.get(subject, ""), data["is"], data.get("value"), data.get("column")
    )


def build_rule(data: dict[str, Any], origin: DocumentOrigin) -> Rule:
    return Rule(
        name=data["name"],
        match=data.get("match", "all"),
        when=tuple(_condition(c) for c in data["when"]),
        then=tuple(_action(a, data["name"]) for a in data["then"]),
        origin=origin,
    )


def _answers(data: Any) -> tuple[tuple[str, Any], ...]:
    return tuple((str(k), v) for k, v in data.items()) if isinstance(data, dict) else ()


def _expected_deadline(data: Any) -> Deadline | None:
    return None if data is None else _deadline(data)


def build_scenario(data: dict[str, Any], origin: DocumentOrigin) -> Scenario:
    """A scenario of a template's ``tests:`` (passed by the schema)."""
    expect = data.get("expect") or {}
    return Scenario(
        name=data["name"],
        kickoff=_answers(data.get("kickoff")),
        events=tuple(
            Event(
                step=event["step"],
                outcome=event.get("is", "completed"),
                values=_answers(event.get("fields")),
                origin=DocumentOrigin(origin.document, (*origin.path, "steps", i)),
            )
            for i, event in enumerate(data.get("steps", ()))
        ),
        expect=Expectations(
            shown=tuple(expect.get("shown", ())),
            hidden=tuple(expect.get("hidden", ())),
            assignees=tuple(
                (key, assignees_from(people)) for key, people in expect.get("assignees", {}).items()
            ),
            deadlines=tuple(
                (key, _expected_deadline(value))
                for key, value in expect.get("deadlines", {}).items()
            ),
            webhooks=tuple(expect["webhooks"]) if "webhooks" in expect else None,
            fired=tuple(expect["fired"]) if "fired" in expect else None,
        ),
        origin=origin,
    )


def _usable(data: dict[str, Any], path: DataPath, broken: Broken) -> dict[str, Any]:
    """``data`` without the keys of its own that the schema refused."""
    return {k: v for k, v in data.items() if (*path, k) not in broken}


def _steps(document: Document, broken: Broken) -> list[Step]:
    """The steps that can be built: whole, with a readable key and title."""
    steps = []
    for i, data in _listed(document.data, "steps", (), broken):
        path: DataPath = ("steps", i)
        if {path, (*path, "key"), (*path, "title")} & broken:
            continue
        steps.append(
            build_step(_usable(data, path, broken), DocumentOrigin(document, path), broken)
        )
    return steps


def build_template(document: Document, default_key: str, broken: Broken = frozenset()) -> Template:
    """The template a document declares, leaving out the ``broken`` parts."""
    data = _usable(document.data, (), broken)

    def at(*path: str | int) -> DocumentOrigin:
        full: DataPath = path
        return DocumentOrigin(document, full)

    return Template(
        key=data.get("key") or default_key,
        key_written="key" in data,
        title=data.get("title", ""),  # only a broken template has none
        type=data.get("type", "procedure"),
        summary=data.get("summary"),
        settings={k: v for k, v in data.items() if k not in _TEMPLATE_OWN},
        access=assignees_from(data.get("access")),
        kickoff=[build_field(f, at("kickoff", i)) for i, f in _listed(data, "kickoff", (), broken)],
        steps=_steps(document, broken),
        tags=tuple(data.get("tags", ())),
        folder=data.get("folder"),
        rules=[build_rule(r, at("rules", i)) for i, r in _listed(data, "rules", (), broken)],
        origin=at(),
        tests=[build_scenario(t, at("tests", i)) for i, t in _listed(data, "tests", (), broken)],
    )


def _loose_key(item: Any, named_by: str) -> str | None:
    """The key an object of any shape declares, or None when it cannot be read."""
    if not isinstance(item, dict):
        return None
    key = item.get("key")
    if isinstance(key, str | int) and not isinstance(key, bool):
        return str(key)
    name = item.get(named_by)
    return slugify(name) if key is None and isinstance(name, str) else None


def _loose_list(data: dict[str, Any], name: str) -> list[Any] | None:
    items = data.get(name, [])
    return items if isinstance(items, list) else None


def declared_keys(data: dict[str, Any]) -> DeclaredKeys:
    """The step and field keys of a template's data, read from parts of any shape."""
    steps = _loose_list(data, "steps")
    fields = list(_loose_list(data, "kickoff") or [])
    fields_known = steps is not None and _loose_list(data, "kickoff") is not None
    for step in steps or []:
        own = _loose_list(step, "fields") if isinstance(step, dict) else []
        fields_known = fields_known and own is not None
        fields += own or []
    step_keys = [_loose_key(s, "title") for s in steps or []]
    field_keys = [_loose_key(f, "label") for f in fields]
    return DeclaredKeys(
        steps=frozenset(k for k in step_keys if k is not None),
        fields=frozenset(k for k in field_keys if k is not None),
        steps_known=steps is not None and None not in step_keys,
        fields_known=fields_known and None not in field_keys,
    )
