"""What each kind of change is: one :class:`ChangeSpec` per kind and action a plan holds.

A spec says, in one place, everything about a kind of change that needs nothing from the
wire: how many writes it costs (given the duties the planner gave it, see
:class:`tallyform.model.changes.Change`), whether it is carried by its template's own PUT,
whether it gives its template a child, how many keys its path has, and how a plan names
it and says what happens to it. Its executor is the one thing a spec does not hold: the
requests are the Tallyfy package's, which keys its executors by these same specs
(:mod:`tallyform.tallyfy.writes`). A (kind, action) with no spec is no change tallyform
makes; adding one is an entry in :data:`SPECS` and an executor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tallyform.model.changes import Change


class _Word(str, Enum):
    """A str enum whose members are their values wherever text is wanted: equal to the
    string, saved in JSON as it, and shown as it (``f"{Action.CREATE}"`` is ``create``).
    Python 3.10 has no ``StrEnum``."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Kind(_Word):
    """What a change changes."""

    KEY = "key"  # the tallyform_key custom-field key of one record kind (org-wide)
    FOLDER = "folder"  # a template folder (org-wide), by path
    TAG = "tag"  # a tag (org-wide), by title
    TEMPLATE = "template"
    KICKOFF = "kickoff"  # a kick-off field (API: prerun entry)
    STEP = "step"
    FIELD = "field"  # a step's form field (API: capture)
    RULE = "rule"  # an automation (API: automated action)
    TAGGING = "tagging"  # a tag attached to a template

    @property
    def org_wide(self) -> bool:
        """Whether objects of this kind belong to the org rather than to one template."""
        return self in ORG_KINDS

    @property
    def child(self) -> bool:
        """Whether objects of this kind are the parts of a template its map of its children
        (tallyform_ids) names: steps, form fields and kick-off fields."""
        return self in (Kind.KICKOFF, Kind.STEP, Kind.FIELD)

    @property
    def named_by(self) -> str:
        """The attribute a key is made from when the file writes none: a title or a label."""
        return "label" if self in (Kind.FIELD, Kind.KICKOFF) else "title"


class Action(_Word):
    """What happens to the object a change names."""

    CREATE = "create"
    UPDATE = "update"
    MOVE = "move"  # a form field to another step
    DELETE = "delete"
    REORDER = "reorder"
    ARCHIVE = "archive"  # a template (Tallyfy keeps it, and it can be restored)
    RESTORE = "restore"

    @property
    def role(self) -> Action:
        """The action this one is shown as (its symbol and colour): a move is an update, an
        archive a delete, a restore a create."""
        return _ROLES.get(self, self)

    @property
    def symbol(self) -> str:
        """``+``, ``~`` or ``-``, as a plan line starts."""
        return _SYMBOLS[self.role]

    @property
    def verb(self) -> str:
        """What happens to the object, as a plan says it: 'created', 'moved to another step'."""
        return _VERBS[self]

    @property
    def past(self) -> str:
        """The action done, as a count says it: '2 created, 1 moved'."""
        return _PAST[self]


_ROLES = {Action.MOVE: Action.UPDATE, Action.ARCHIVE: Action.DELETE, Action.RESTORE: Action.CREATE}
_SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.DELETE: "-", Action.REORDER: "~"}
_PAST = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.MOVE: "moved",
    Action.DELETE: "deleted",
    Action.REORDER: "reordered",
    Action.ARCHIVE: "archived",
    Action.RESTORE: "restored",
}
_VERBS = {
    Action.CREATE: "created",
    Action.UPDATE: "updated in place",
    Action.MOVE: "moved to another step",
    Action.DELETE: "deleted",
    Action.REORDER: "reordered",
    Action.ARCHIVE: "archived",
    Action.RESTORE: "restored",
}

ACTIONS: tuple[Action, ...] = tuple(Action)
KINDS: tuple[Kind, ...] = tuple(Kind)
ORG_KINDS: tuple[Kind, ...] = (Kind.KEY, Kind.FOLDER, Kind.TAG)


class Carriage(Enum):
    """How a change relates to its template's own PUT (settings, people, folder and the
    whole kick-off form): the first change of a template it carries sends it, once."""

    NONE = "none"  # the change sends writes of its own only
    ALWAYS = "always"  # the PUT makes it (a kick-off field made, the kick-off fields' order)
    SETTINGS = "settings"  # the PUT makes it when more than its key changes (an update)


@dataclass(frozen=True)
class ChangeSpec:
    """One kind of change: its writes, its place in the template's PUT, its words.

    ``cost`` is the number of requests that change something (POST, PUT, DELETE) a change
    of this kind sends when no request fails, given the duties the planner set on it;
    ``noun`` is how a plan names its object ('kick-off field'; for an order, what is
    ordered: 'steps'), ``verb`` what happens to it ('created', 'attached').
    """

    kind: Kind
    action: Action
    cost: Callable[[Change], int]
    noun: str
    verb: str
    carriage: Carriage = Carriage.NONE

    @property
    def creates_child(self) -> bool:
        """Whether it makes a step, form field or kick-off field: something its template's
        map of its children (tallyform_ids) must then name."""
        return self.action is Action.CREATE and self.kind.child

    @property
    def loses_data(self) -> bool:
        """Whether it archives a template or deletes a part of one that holds data (a step,
        form field, kick-off field or rule; a tag detached loses nothing): what the safety
        share counts."""
        if self.action is Action.ARCHIVE:
            return self.kind is Kind.TEMPLATE
        return self.action is Action.DELETE and (self.kind.child or self.kind is Kind.RULE)

    @property
    def path_length(self) -> int:
        """How many keys a change's path has: one for org-wide objects and templates, three
        for the order of a step's form fields (template, step, "fields"), else two."""
        if self.kind.org_wide or self.kind is Kind.TEMPLATE:
            return 1
        return 3 if (self.kind, self.action) == (Kind.FIELD, Action.REORDER) else 2

    def carried_by_template_write(self, change: Change) -> bool:
        """Whether ``change`` (of this kind) is made by its template's own PUT."""
        if self.carriage is Carriage.SETTINGS:
            return change.changes_more_than("key")
        return self.carriage is Carriage.ALWAYS

    def writes(self, change: Change) -> int:
        """The writes ``change`` sends: its own, and its template's map if it writes it."""
        return self.cost(change) + (1 if change.writes_map else 0)


# -- what each kind of change costs, given its duties (see the executors in tallyfy.writes) --


def _one(change: Change) -> int:
    return 1


def _key(change: Change) -> int:
    """The custom-field PUT that writes an object's tallyform key, when it gets one."""
    return 1 if change.attribute("key") is not None else 0


def _moves(change: Change) -> int:
    return len(change.moves)


def _form(change: Change) -> int:
    return 1 if change.sends_form else 0


def _form_and_key(change: Change) -> int:
    return _form(change) + _key(change)


def _settings_and_key(change: Change) -> int:
    return (1 if change.changes_more_than("key") else 0) + _key(change)


def _new_template(change: Change) -> int:
    return 2 + _form(change)  # the POST, the PUT of its kick-off form if any, its key


def _own_key(change: Change) -> int:
    """A new child's own key write: none where its template's map alone keys it."""
    return 0 if change.keyed_by_map else 1


def _own_post(change: Change) -> int:
    """A new step's or form field's own POST: none where its template's create builds it."""
    return 0 if change.built_by_template else 1


def _new_kickoff(change: Change) -> int:
    return _own_key(change) + _form(change)  # its key; the template PUT that adds it, if sent here


def _new_step(change: Change) -> int:
    # POST, key, and its deadline once the step it counts from is made
    return _own_post(change) + _own_key(change) + (1 if change.waits_for else 0)


def _new_field(change: Change) -> int:
    return _own_post(change) + _own_key(change)


def _made_anew(change: Change) -> int:
    return 2  # a rule deleted and made anew (TemplateRun.update_rule)


_NOUNS = {
    Kind.KEY: "tallyform key for",
    Kind.FOLDER: "folder",
    Kind.TAG: "tag",
    Kind.TEMPLATE: "template",
    Kind.KICKOFF: "kick-off field",
    Kind.STEP: "step",
    Kind.FIELD: "field",
    Kind.RULE: "rule",
    Kind.TAGGING: "tag",
}
_ORDERED = {Kind.KICKOFF: "kick-off fields", Kind.STEP: "steps", Kind.FIELD: "fields"}


def _spec(
    kind: Kind,
    action: Action,
    cost: Callable[[Change], int] = _one,
    verb: str | None = None,
    carriage: Carriage = Carriage.NONE,
) -> ChangeSpec:
    noun = _ORDERED[kind] if action is Action.REORDER else _NOUNS[kind]
    return ChangeSpec(kind, action, cost, noun, verb or action.verb, carriage)


SPECS: dict[tuple[Kind, Action], ChangeSpec] = {
    (spec.kind, spec.action): spec
    for spec in (
        _spec(Kind.KEY, Action.CREATE),
        _spec(Kind.FOLDER, Action.CREATE),
        _spec(Kind.TAG, Action.CREATE),
        _spec(Kind.TEMPLATE, Action.CREATE, _new_template),
        _spec(Kind.TEMPLATE, Action.UPDATE, _form_and_key, carriage=Carriage.SETTINGS),
        _spec(Kind.TEMPLATE, Action.RESTORE),
        _spec(Kind.TEMPLATE, Action.ARCHIVE),
        _spec(Kind.KICKOFF, Action.CREATE, _new_kickoff, carriage=Carriage.ALWAYS),
        _spec(Kind.KICKOFF, Action.UPDATE, _form_and_key, carriage=Carriage.SETTINGS),
        _spec(Kind.KICKOFF, Action.REORDER, _form, carriage=Carriage.ALWAYS),
        _spec(Kind.KICKOFF, Action.DELETE),
        _spec(Kind.STEP, Action.CREATE, _new_step),
        _spec(Kind.STEP, Action.UPDATE, _settings_and_key),
        _spec(Kind.STEP, Action.DELETE),
        _spec(Kind.STEP, Action.REORDER, _moves),
        _spec(Kind.FIELD, Action.CREATE, _new_field),
        _spec(Kind.FIELD, Action.MOVE),
        _spec(Kind.FIELD, Action.UPDATE, _settings_and_key),
        _spec(Kind.FIELD, Action.DELETE),
        _spec(Kind.FIELD, Action.REORDER, _moves),
        _spec(Kind.RULE, Action.CREATE),
        _spec(Kind.RULE, Action.UPDATE, _made_anew),
        _spec(Kind.RULE, Action.DELETE),
        _spec(Kind.TAGGING, Action.CREATE, verb="attached"),
        _spec(Kind.TAGGING, Action.DELETE, verb="detached"),
    )
}


def spec(kind: Kind, action: Action) -> ChangeSpec:
    """The spec of one kind of change (KeyError: no change tallyform makes)."""
    return SPECS[(kind, action)]
