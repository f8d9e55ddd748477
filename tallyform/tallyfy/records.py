"""Typed records of what Tallyfy answers: the one place a wire dict becomes a value.

Each record is a frozen dataclass built from one answer by its ``from_wire``, called only
inside this package (mostly by :mod:`.read`): a template (whole, or a row of the template
list), its steps, form fields and kick-off fields, its rules and tag links, and the org's
members, groups, tags, folders and custom-field keys. The planner, the engine and the
model read their attributes; none of them indexes a wire dict (``tests/test_wire_boundary.py``
holds that). A new attribute Tallyfy names as the YAML does needs nothing here: the
settings of templates, steps and fields are read by the model's names
(``TEMPLATE_SETTINGS`` and kin), through :func:`~.wire.field_api_name` where the API's name
differs.

What a record keeps beyond the attributes a plan compares, and why:

- ``key``: its tallyform key (its own custom field, or its template's map);
- ``custom_fields``: its custom-field values, which a key write sends back as they were
  (Tallyfy replaces them all at once);
- ``filled``: the wire names holding a value, so a write clears with an empty string
  what the org holds and the repository leaves out (the normalised attributes cannot
  tell: ``"<p></p>"`` compares as no summary, yet it is there to clear);
- a live state keeps the record it was decoded from (``record``, opaque to the model, see
  :class:`tallyform.model.state.LiveRecord`) for those writes and for stable option ids;
- a whole template keeps its answer privately, for :meth:`TemplateRecord.fingerprint`
  alone: a saved plan notices any change to the template, also to what tallyform does
  not model, so the digest is of everything Tallyfy sent. A list row keeps its answer
  for :mod:`.read` alone, which may take a whole row as the template itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tallyform.client import unwrap
from tallyform.model.state import FIELD_SETTINGS, STEP_SETTINGS, TEMPLATE_SETTINGS
from tallyform.tallyfy.wire import field_api_name, key_of, shows_keys

Wire = Mapping[str, Any]  # one object of an answer, as Tallyfy shaped it


def _dict(value: Any) -> Wire:
    return value if isinstance(value, Mapping) else {}


def _rows(value: Any) -> list[Wire]:
    return [row for row in unwrap(value) or [] if isinstance(row, Mapping)]


def _id(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _filled(wire: Wire) -> frozenset[str]:
    """The names holding a value: not None, nor an empty text, list or object (a zero or
    ``false`` is a value)."""
    return frozenset(
        [name for name, value in wire.items() if value or isinstance(value, int | float)]
    )


def _custom_fields(wire: Wire) -> Mapping[str, Any]:
    return dict(_dict(wire.get("custom_fields")))


# -- the org ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """A member of the org (``GET /users``), by id, with the email a YAML names them by."""

    id: int
    email: str  # lowercase

    @classmethod
    def from_wire(cls, wire: Wire) -> Member:
        return cls(wire["id"], str(wire.get("email", "")).lower())


@dataclass(frozen=True)
class Group:
    id: str
    name: str

    @classmethod
    def from_wire(cls, wire: Wire) -> Group:
        return cls(str(wire["id"]), wire["name"])


@dataclass(frozen=True)
class Tag:
    """An org's tag; the lease of an apply lock lives in ``color`` and ``created_at``."""

    id: str
    title: str
    color: str | None = None
    created_at: str | None = None

    @classmethod
    def from_wire(cls, wire: Wire) -> Tag:
        return cls(
            str(wire.get("id")),
            str(wire.get("title") or ""),
            _text(wire.get("color")),
            _text(wire.get("created_at")),
        )


@dataclass(frozen=True)
class Folder:
    """A template folder, with its parent's id however the list nested it."""

    id: str
    name: str
    parent_id: str | None

    @classmethod
    def from_wire(cls, wire: Wire, parent_id: str | None) -> Folder:
        return cls(str(wire["id"]), str(wire.get("name") or ""), parent_id)


@dataclass(frozen=True)
class KeyDefinition:
    """A custom-field key defined in the org (``GET /custom-field-keys``)."""

    key: str | None
    applies_to: str
    system: bool = False  # Tallyfy's own: a custom-field PUT may not carry it

    @classmethod
    def from_wire(cls, wire: Wire) -> KeyDefinition:
        return cls(
            _text(wire.get("key")), str(wire["applies_to"]), wire.get("key_type") == "system"
        )


# -- a template as the list shows it ----------------------------------------------------------


@dataclass(frozen=True)
class ListedTemplate:
    """A row of the template list (live or archived): enough to match it by key or title."""

    id: str
    title: str
    key: str | None
    shows_keys: bool  # the row shows its custom fields (else its key is unknown from it)
    folder_id: str | None
    archived_at: str
    wire: dict[str, Any] = field(repr=False, compare=False)  # for tallyform.tallyfy.read alone

    @property
    def name(self) -> str:
        return self.title

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> ListedTemplate:
        return cls(
            str(wire.get("id")),
            str(wire.get("title") or ""),
            key_of(wire),
            shows_keys(wire),
            _id(wire.get("folder_id")),
            str(wire.get("archived_at") or ""),
            wire,
        )


@dataclass(frozen=True)
class ArchivedMatch:
    """The archived template a new one restores; ``by_title``: found by its title, as the
    archived list showed no keys."""

    id: str
    by_title: bool = False


# -- a whole template's parts -----------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    """A dropdown's, radio's or checklist's option (or a table's column: ``text`` its label)."""

    id: int | str | None
    text: Any

    @classmethod
    def from_wire(cls, wire: Wire, name: str = "text") -> Option:
        found = wire.get("id")
        return cls(found if isinstance(found, int | str) else None, wire.get(name))


@dataclass(frozen=True)
class FieldRecord:
    """A form field (a step's "capture") or a kick-off field (a template's "prerun")."""

    id: str
    key: str | None
    shows_keys: bool
    label: Any
    field_type: Any
    required: bool
    options: tuple[Option, ...]
    columns: tuple[Option, ...]
    settings: Mapping[str, Any]  # by the YAML's name (FIELD_SETTINGS), as sent
    custom_fields: Mapping[str, Any]
    filled: frozenset[str]

    @property
    def name(self) -> str:
        return str(self.label or "")

    @classmethod
    def from_wire(cls, wire: Wire) -> FieldRecord:
        return cls(
            id=str(wire["id"]),
            key=key_of(wire),
            shows_keys=shows_keys(wire),
            label=wire.get("label"),
            field_type=wire.get("field_type"),
            required=bool(wire.get("required")),
            options=tuple(Option.from_wire(o) for o in _rows(wire.get("options"))),
            columns=tuple(Option.from_wire(c, "label") for c in _rows(wire.get("columns"))),
            settings={name: wire.get(field_api_name(name)) for name in FIELD_SETTINGS},
            custom_fields=_custom_fields(wire),
            filled=_filled(wire),
        )


@dataclass(frozen=True)
class Timing:
    """A deadline or start date: ``anchor``, the step id it counts from (None: the
    process launch); ``option``, before or after it."""

    value: Any
    unit: Any
    option: Any = None
    anchor: str | None = None

    @classmethod
    def from_wire(cls, wire: Any) -> Timing | None:
        if not isinstance(wire, Mapping) or wire.get("value") is None:
            return None
        anchor = wire.get("step")
        return cls(
            wire.get("value"),
            wire.get("unit"),
            wire.get("option"),
            None if anchor in (None, "", "start_run") else str(anchor),
        )


@dataclass(frozen=True)
class StepRecord:
    id: str
    key: str | None
    shows_keys: bool
    title: Any
    step_type: Any
    summary: Any
    assignees: tuple[Any, ...]  # member ids
    groups: tuple[Any, ...]  # group ids
    guests: tuple[Any, ...]  # emails
    deadline: Timing | None
    start_date: Timing | None
    settings: Mapping[str, Any]  # STEP_SETTINGS, as sent
    fields: tuple[FieldRecord, ...]  # in position order
    custom_fields: Mapping[str, Any]
    filled: frozenset[str]

    @property
    def name(self) -> str:
        return str(self.title or "")

    @classmethod
    def from_wire(cls, wire: Wire) -> StepRecord:
        return cls(
            id=str(wire["id"]),
            key=key_of(wire),
            shows_keys=shows_keys(wire),
            title=wire.get("title"),
            step_type=wire.get("step_type"),
            summary=wire.get("summary"),
            assignees=tuple(wire.get("assignees") or ()),
            groups=tuple(wire.get("groups") or ()),
            guests=tuple(wire.get("guests") or ()),
            deadline=Timing.from_wire(wire.get("deadline")),
            start_date=Timing.from_wire(wire.get("start_date")),
            settings={name: wire.get(name) for name in STEP_SETTINGS},
            fields=tuple(FieldRecord.from_wire(c) for c in _rows(wire.get("captures"))),
            custom_fields=_custom_fields(wire),
            filled=_filled(wire),
        )


@dataclass(frozen=True)
class Condition:
    """A rule's condition: ``subject_id`` names a step (``on_step``) or a field."""

    on_step: bool
    subject_id: str
    operation: Any
    statement: Any
    column: Any
    logic: Any

    @classmethod
    def from_wire(cls, wire: Wire) -> Condition:
        return cls(
            wire.get("conditionable_type") == "Step",
            str(wire.get("conditionable_id")),
            wire.get("operation"),
            wire.get("statement"),
            wire.get("column_contains_name"),
            wire.get("logic"),
        )


@dataclass(frozen=True)
class People:
    users: tuple[Any, ...] = ()  # member ids
    groups: tuple[Any, ...] = ()  # group ids
    guests: tuple[Any, ...] = ()  # emails

    @classmethod
    def from_wire(cls, wire: Any) -> People:
        found = _dict(wire)
        return cls(
            tuple(found.get("users") or ()),
            tuple(found.get("groups") or ()),
            tuple(found.get("guests") or ()),
        )


@dataclass(frozen=True)
class RuleAction:
    """A rule's action; ``verb`` as the YAML names it (``webhook``, not ``emit_webhook``)."""

    verb: Any
    target_step_id: str
    assignees: People
    deadline: Timing | None  # only on a deadline action
    webhook_url: Any
    webhook_name: Any

    @classmethod
    def from_wire(cls, wire: Wire) -> RuleAction:
        verb = wire.get("action_verb")
        deadline = wire.get("deadline")
        return cls(
            "webhook" if verb == "emit_webhook" else verb,
            str(wire.get("target_step_id")),
            People.from_wire(wire.get("assignees")),
            Timing(deadline.get("value"), deadline.get("unit"), deadline.get("option"))
            if wire.get("action_type") == "deadline" and isinstance(deadline, Mapping)
            else None,
            wire.get("webhook_url"),
            wire.get("alias_name"),
        )


@dataclass(frozen=True)
class RuleRecord:
    """A rule ("automated action"), its conditions and actions in position order."""

    id: str | None
    name: str
    conditions: tuple[Condition, ...]
    actions: tuple[RuleAction, ...]

    @classmethod
    def from_wire(cls, wire: Wire) -> RuleRecord:
        return cls(
            _id(wire.get("id")),
            str(wire.get("automated_alias") or "unnamed rule"),
            tuple(Condition.from_wire(c) for c in _in_order(wire.get("conditions"))),
            tuple(RuleAction.from_wire(a) for a in _in_order(wire.get("then_actions"))),
        )


def _in_order(value: Any) -> list[Wire]:
    return sorted(_rows(value), key=lambda row: row.get("position") or 0)


@dataclass(frozen=True)
class TagLink:
    """A tag on a template: ``tag_id`` when the item names it; ``item_id``, the item's own
    id (the tag's id in the shape Tallyfy documents); ``association_id``, the id that
    detaches it, when the item shows one (an integer, audit W22)."""

    tag_id: str | None
    item_id: str | None
    association_id: int | None
    title: Any

    @classmethod
    def from_wire(cls, wire: Wire) -> TagLink:
        return cls(
            _text(wire.get("tag_id")),
            _text(wire.get("id")),
            association_id(wire.get("id")),
            wire.get("title"),
        )


def association_id(value: Any) -> int | None:
    """A tag association's id: an integer (or the digits of one), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


@dataclass(frozen=True)
class TemplateRecord:
    """A template read whole: its steps (with their form fields), kick-off fields, rules
    and tags, each list in Tallyfy's position order."""

    id: str
    key: str | None
    title: Any
    type: Any
    summary: Any
    users: tuple[Any, ...]  # member ids with access
    groups: tuple[Any, ...]  # group ids with access
    folder_id: str | None
    settings: Mapping[str, Any]  # TEMPLATE_SETTINGS, as sent
    steps: tuple[StepRecord, ...]
    kickoff: tuple[FieldRecord, ...]
    rules: tuple[RuleRecord, ...]
    tags: tuple[TagLink, ...]
    last_updated: Any
    custom_fields: Mapping[str, Any]
    filled: frozenset[str]
    _wire: Wire = field(repr=False, compare=False)  # for the fingerprint alone

    @classmethod
    def from_wire(cls, wire: Wire) -> TemplateRecord:
        """A template as :func:`~tallyform.tallyfy.wire.whole_template` shaped it."""
        return cls(
            id=str(wire["id"]),
            key=key_of(wire),
            title=wire.get("title"),
            type=wire.get("type"),
            summary=wire.get("summary"),
            users=tuple(wire.get("users") or ()),
            groups=tuple(wire.get("groups") or ()),
            folder_id=_id(wire.get("folder_id")),
            settings={name: wire.get(name) for name in TEMPLATE_SETTINGS},
            steps=tuple(StepRecord.from_wire(s) for s in _rows(wire.get("steps"))),
            kickoff=tuple(FieldRecord.from_wire(p) for p in _rows(wire.get("prerun"))),
            rules=tuple(RuleRecord.from_wire(r) for r in _rows(wire.get("automated_actions"))),
            tags=tuple(TagLink.from_wire(t) for t in _rows(wire.get("tags"))),
            last_updated=wire.get("last_updated"),
            custom_fields=_custom_fields(wire),
            filled=_filled(wire),
            _wire=wire,
        )

    def fingerprint(self) -> str:
        """A digest of everything Tallyfy sent of the template, to notice any change
        since a plan (its step count left out: it follows from the steps)."""
        stable = {k: v for k, v in self._wire.items() if k not in ("steps_count",)}
        text = json.dumps(stable, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


# A record a write may clear values of (its ``filled`` names what it holds).
Writable = TemplateRecord | StepRecord | FieldRecord
