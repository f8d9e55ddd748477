"""Turning a schema-valid template document into :class:`~tallyform.model.template.Template`.

The input has already passed the JSON Schema, so shapes are trusted; defaults (keys from
titles and labels, field type ``text``, step type ``task``) are filled in here, once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tallyform.model.template import (
    ACTION_VERBS,
    Action,
    Assignees,
    Column,
    Condition,
    Deadline,
    Field,
    Option,
    Origin,
    Rule,
    Step,
    Template,
    slugify,
)

if TYPE_CHECKING:
    from tallyform.config.source import DataPath, Document

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
}
_STEP_OWN = {"key", "title", "type", "summary", "assignees", "deadline", "start_date", "fields"}
_FIELD_OWN = {"key", "label", "type", "required", "options", "columns"}


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


def build_field(data: dict[str, Any], origin: Origin) -> Field:
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


def _deadline(data: dict[str, Any] | None) -> Deadline | None:
    if data is None:
        return None
    return Deadline(data["value"], data["unit"], data.get("option", "from"), data.get("step"))


def build_step(data: dict[str, Any], origin: Origin) -> Step:
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
            build_field(f, Origin(origin.document, (*origin.path, "fields", i)))
            for i, f in enumerate(data.get("fields", ()))
        ],
        settings={k: v for k, v in data.items() if k not in _STEP_OWN},
        origin=origin,
    )


def action_verb(data: dict[str, Any]) -> str | None:
    verbs = [v for v in ACTION_VERBS if v in data]
    return verbs[0] if len(verbs) == 1 else None


def _action(data: dict[str, Any]) -> Action:
    verb = action_verb(data) or ""
    deadline = (
        (data["value"], data["unit"], data.get("option", "from")) if verb == "deadline" else None
    )
    return Action(verb, data.get(verb, ""), assignees_from(data.get("assignees")), deadline)


def _condition(data: dict[str, Any]) -> Condition:
    subject = "field" if "field" in data else "step"
    return Condition(
        subject, data.get(subject, ""), data["is"], data.get("value"), data.get("column")
    )


def build_rule(data: dict[str, Any], origin: Origin) -> Rule:
    return Rule(
        name=data["name"],
        match=data.get("match", "all"),
        when=tuple(_condition(c) for c in data["when"]),
        then=tuple(_action(a) for a in data["then"]),
        origin=origin,
    )


def build_template(document: Document, default_key: str) -> Template:
    """The template a schema-valid document declares."""
    data: dict[str, Any] = document.data

    def at(*path: str | int) -> Origin:
        full: DataPath = path
        return Origin(document, full)

    return Template(
        key=data.get("key") or default_key,
        key_written="key" in data,
        title=data["title"],
        type=data.get("type", "procedure"),
        summary=data.get("summary"),
        settings={k: v for k, v in data.items() if k not in _TEMPLATE_OWN},
        access=assignees_from(data.get("access")),
        kickoff=[build_field(f, at("kickoff", i)) for i, f in enumerate(data.get("kickoff", ()))],
        steps=[build_step(s, at("steps", i)) for i, s in enumerate(data.get("steps", ()))],
        tags=tuple(data.get("tags", ())),
        folder=data.get("folder"),
        rules=[build_rule(r, at("rules", i)) for i, r in enumerate(data.get("rules", ()))],
        origin=at(),
    )
