"""The desired state: templates, steps, form fields, kick-off fields and rules as typed values.

Objects here are what a validated template file means, independent of YAML and of the
Tallyfy API. Each keeps an ``origin`` (the document and path it came from) so that
problems found later, such as an unknown person at plan time, can still name the file
and line. Objects read from a live org have no origin.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol

CHOICE_TYPES = frozenset({"radio", "dropdown", "multiselect"})
STEP_OPERATIONS = frozenset(
    {"completed", "reopened", "approved", "rejected", "acknowledged", "expired", "not_assigned"}
)
VALUELESS_OPERATIONS = frozenset({"is_empty", "is_not_empty"}) | STEP_OPERATIONS
ACTION_VERBS = (
    "show",
    "hide",
    "reopen",
    "clear_assignees",
    "assign",
    "assign_only",
    "unassign",
    "deadline",
    "webhook",
)


def slugify(text: str) -> str:
    """A key made from a title or label: lowercase ASCII words joined by '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:64].rstrip("-")


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class Origin(Protocol):
    """Where a declared object came from: what can name the place in its file of the object
    (and of ``sub``, a path below it) and the value written there. The files' side
    (:class:`tallyform.config.source.DocumentOrigin`) provides it; the model knows nothing
    of files."""

    def locate(self, *sub: str | int) -> Location: ...

    def data(self, *sub: str | int) -> Any: ...


@dataclass(frozen=True)
class Option:
    text: str
    id: int | None = None


@dataclass(frozen=True)
class Column:
    label: str
    id: int | None = None


@dataclass(frozen=True)
class Assignees:
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    guests: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.users or self.groups or self.guests)


@dataclass(frozen=True)
class Deadline:
    value: int
    unit: str
    option: str = "from"
    step: str | None = None  # a step key; None means the process launch


@dataclass
class Field:
    """A step's form field (API: capture) or a kick-off field (API: prerun entry)."""

    key: str
    label: str
    type: str = "text"
    required: bool = False
    options: tuple[Option, ...] = ()
    columns: tuple[Column, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    origin: Origin | None = None
    key_written: bool = True  # False: the key was made from the label (or title, file name)


@dataclass
class Step:
    key: str
    title: str
    type: str = "task"
    summary: str | None = None
    assignees: Assignees = Assignees()
    deadline: Deadline | None = None
    start_date: tuple[int, str] | None = None
    fields: list[Field] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    origin: Origin | None = None
    key_written: bool = True


@dataclass(frozen=True)
class Condition:
    subject: str  # "field" or "step"
    key: str
    operation: str
    value: Any = None
    column: str | None = None


@dataclass(frozen=True)
class Action:
    verb: str
    step: str
    assignees: Assignees = Assignees()
    deadline: tuple[int, str, str] | None = None  # value, unit, option
    webhook: tuple[str, str] | None = None  # url, name (the rule's name unless given)


@dataclass
class Rule:
    name: str
    match: str
    when: tuple[Condition, ...]
    then: tuple[Action, ...]
    origin: Origin | None = None


SCENARIO_OUTCOMES = ("completed", "approved", "rejected", "acknowledged", "expired", "reopened")


@dataclass(frozen=True)
class Event:
    """One thing that happens to a step in a scenario: it is completed (or approved,
    rejected, acknowledged, expired), with its form fields' values, or it is reopened."""

    step: str
    outcome: str = "completed"
    values: tuple[tuple[str, Any], ...] = ()
    origin: Origin | None = None


@dataclass(frozen=True)
class Expectations:
    """What must hold once a scenario's events have happened; None: not asked."""

    shown: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    assignees: tuple[tuple[str, Assignees], ...] = ()
    deadlines: tuple[tuple[str, Deadline | None], ...] = ()
    webhooks: tuple[str, ...] | None = None
    fired: tuple[str, ...] | None = None


@dataclass
class Scenario:
    """A test of a template's rules: kick-off answers, events, and what must follow."""

    name: str
    kickoff: tuple[tuple[str, Any], ...] = ()
    events: tuple[Event, ...] = ()
    expect: Expectations = Expectations()
    origin: Origin | None = None


@dataclass
class Template:
    key: str
    title: str
    type: str = "procedure"
    summary: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    access: Assignees = Assignees()
    kickoff: list[Field] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    tags: tuple[str, ...] = ()
    folder: str | None = None
    rules: list[Rule] = field(default_factory=list)
    origin: Origin | None = None
    key_written: bool = True
    # Scenarios are tallyform's alone: Tallyfy never sees them, so they take no part in
    # comparing a template with the org.
    tests: list[Scenario] = field(default_factory=list, compare=False)

    def all_fields(self) -> list[Field]:
        """Kick-off fields then every step's form fields, in order."""
        return [*self.kickoff, *(f for step in self.steps for f in step.fields)]
