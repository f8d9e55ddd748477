"""A simulation of Tallyfy's automations (rules) on one declared template.

One :class:`Process` is one launched process: which steps are visible, completed or
reopened, who is assigned, each step's deadline, the webhooks sent and the rules that
fired. :class:`Engine` holds what it needs to know of a template, worked out once, and
moves a process on: :meth:`Engine.launch` with kick-off answers, then
:meth:`Engine.complete` and :meth:`Engine.reopen` step by step. ``check`` (through
:mod:`.walk`), ``test`` and the diagrams all use it, so they agree.

The semantics, and where they come from:

- Tallyfy's help pages on automations ("Conditional logic", "Show/hide steps",
  "Assign steps", "Deadlines"): a rule tests kick-off fields, form fields and steps;
  its conditions are combined with all or any (tallyform's ``match:``); its actions
  show, hide, assign, assign only, unassign, clear assignees, set a deadline, reopen a
  step or send a webhook.
- Tallyfy's MCP server, ``tallyfy/mcp-public``, ``server/template_testing/``
  (``document.py``, ``domains.py``, ``walk.py``), which reads Tallyfy's own API code:
  a step that any rule *shows* is hidden when a process starts (there is no "hidden"
  setting: it is derived); rules with a kick-off condition are evaluated once at
  launch, in order; completing or reopening a step evaluates the rules that name that
  step or one of its form fields (a form field's value alone triggers nothing); a rule
  fires at most once per process; showing or hiding a completed step does nothing,
  and neither does showing a visible step or hiding a hidden one; text comparisons
  ignore case; ``greater_than`` and ``less_than`` are false on text that is no number;
  ``contains`` is a substring test; on a list (checkboxes, table cells) ``equals``
  holds when any item equals the value.

Where the sources are silent, this module decides, and says so here: a completed
approval is ``completed`` and also ``approved`` or ``rejected``; an expired step is
``completed`` and ``expired``; ``reopened`` holds once the step has been reopened;
``not_assigned`` holds while the step has nobody assigned; a rule's deadline replaces
the step's own; a step with ``assign_run_starter`` counts as assigned (to whoever
launches the process); a step a rule reopens is visible again and evaluates no rules
of its own (only a person's reopening does).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tallyform.model import Assignees, Condition, Deadline, Rule, Step, Template

STARTER = ("starter", "the process starter")  # the assignee a step's assign_run_starter adds
PEOPLE_BUCKETS = ("users", "groups", "guests")
MULTI_VALUE_TYPES = frozenset({"multiselect", "table", "assignees_form"})
OUTCOME_OPERATIONS = frozenset({"approved", "rejected", "acknowledged", "expired"})

Person = tuple[str, str]  # (bucket, name): ("users", "alice@example.com")


class ProcessError(Exception):
    """Something a scenario asks for cannot happen (a hidden step completed)."""


def people(assignees: Assignees) -> frozenset[Person]:
    return frozenset(
        (bucket, name) for bucket in PEOPLE_BUCKETS for name in getattr(assignees, bucket)
    )


def as_assignees(found: Iterable[Person]) -> Assignees:
    """The people of a process's step as :class:`Assignees` (the process starter left out)."""
    found = set(found)
    return Assignees(
        *(
            tuple(sorted(name for kind, name in found if kind == bucket))
            for bucket in PEOPLE_BUCKETS
        )
    )


def text_of(value: Any) -> str:
    """A value as Tallyfy compares it: true is "true", 5.0 is "5"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def members(value: Any, column: str | None = None) -> list[str]:
    """The items of an answer, as text: none for a blank answer, one for text, each choice
    of a list, each cell of table rows (only ``column``'s when given)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        found: list[str] = []
        for item in value:
            if isinstance(item, Mapping):
                cells = [item.get(column)] if column is not None else list(item.values())
                found += [text_of(c) for c in cells if text_of(c).strip()]
            elif text_of(item).strip():
                found.append(text_of(item))
        return found
    text = text_of(value)
    return [text] if text.strip() else []


def number(text: str) -> float | None:
    try:
        found = float(text.strip())
    except ValueError:
        return None
    return found if math.isfinite(found) else None


def field_holds(condition: Condition, value: Any) -> bool:
    """Whether a field condition holds for the field's answer ``value``."""
    items = members(value, condition.column)
    lowered = [item.lower() for item in items]
    wanted = text_of(condition.value).lower()
    operation = condition.operation
    if operation == "equals":
        return wanted in lowered
    if operation == "not_equals":
        return wanted not in lowered
    if operation == "equals_any":
        choices = {part.strip().lower() for part in wanted.split(",") if part.strip()}
        return any(item in choices for item in lowered)
    if operation == "contains":
        return any(wanted in item for item in lowered)
    if operation == "not_contains":
        return not any(wanted in item for item in lowered)
    if operation in ("greater_than", "less_than"):
        left = number(items[0]) if items else None
        right = number(text_of(condition.value))
        if left is None or right is None:
            return False
        return left > right if operation == "greater_than" else left < right
    if operation == "is_empty":
        return not items
    if operation == "is_not_empty":
        return bool(items)
    return False


@dataclass(frozen=True)
class Application:
    """One action of a rule carried out: on which step, and whether it changed anything."""

    rule: int  # index in template.rules
    action: int  # index in the rule's then
    verb: str
    step: str
    changed: bool
    detail: Any = None  # a deadline's (value, unit, option)


@dataclass
class Process:
    """One launched process and everything that happened to it."""

    values: dict[str, Any]
    visible: set[str]
    assignees: dict[str, frozenset[Person]]
    deadlines: dict[str, Deadline | None]
    completed: dict[str, frozenset[str]] = field(default_factory=dict)  # step -> its outcomes
    reopened: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)  # steps visible at some time after launch
    fired: list[int] = field(default_factory=list)  # rules, in the order they fired
    asked: set[int] = field(default_factory=set)  # rules whose conditions were evaluated
    webhooks: list[tuple[str, str]] = field(default_factory=list)  # (url, name)
    applications: list[Application] = field(default_factory=list)

    def assigned(self, step: str) -> bool:
        return bool(self.assignees.get(step))


class Engine:
    """What the simulation needs to know of one template, worked out once."""

    def __init__(self, template: Template, rules: Iterable[int] | None = None) -> None:
        self.template = template
        self.steps: list[Step] = list(template.steps)
        self.step_by_key = {s.key: s for s in self.steps}
        chosen = range(len(template.rules)) if rules is None else rules
        self.rules: list[int] = sorted(chosen)
        self.fields = {f.key: f for f in template.all_fields()}
        self.kickoff = {f.key for f in template.kickoff}
        self.owner = {f.key: s.key for s in self.steps for f in s.fields}
        self.hidden_at_launch = hidden_at_launch(template)
        self.own_people = {s.key: self._own_people(s) for s in self.steps}
        self.anyone_completes = {
            s.key: not s.settings.get("can_complete_only_assignees", False) for s in self.steps
        }
        self.at_launch: list[int] = []
        self.on_step: dict[str, list[int]] = {}
        for index in self.rules:
            rule = template.rules[index]
            if any(c.subject == "field" and c.key in self.kickoff for c in rule.when):
                self.at_launch.append(index)
            for step in sorted(self.triggers(rule)):
                self.on_step.setdefault(step, []).append(index)

    def triggers(self, rule: Rule) -> set[str]:
        """The steps whose completion or reopening makes Tallyfy evaluate ``rule``."""
        found = set()
        for condition in rule.when:
            if condition.subject == "step" and condition.key in self.step_by_key:
                found.add(condition.key)
            elif condition.subject == "field" and condition.key in self.owner:
                found.add(self.owner[condition.key])
        return found

    def completable(self, process: Process, step: Step) -> bool:
        """Someone can complete the step: it has an assignee, or anyone may complete it."""
        return self.anyone_completes[step.key] or bool(process.assignees.get(step.key))

    # -- moving a process on -------------------------------------------------------

    def launch(self, kickoff: Mapping[str, Any] | None = None) -> Process:
        """A new process with these kick-off answers, its launch rules applied."""
        process = Process(
            values=dict(kickoff or {}),
            visible={s.key for s in self.steps if s.key not in self.hidden_at_launch},
            assignees=dict(self.own_people),
            deadlines={s.key: s.deadline for s in self.steps},
        )
        for index in self.at_launch:
            self.evaluate(process, index)
        process.seen |= process.visible
        return process

    def complete(
        self,
        process: Process,
        step: str,
        outcomes: Iterable[str] = (),
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """The step is completed (approved, rejected, ...) with its form fields' values."""
        if step not in process.visible:
            raise ProcessError(f"step '{step}' is hidden at this point, so nobody can complete it")
        if step in process.completed:
            raise ProcessError(f"step '{step}' is already completed; reopen it first")
        process.values.update(values or {})
        process.completed[step] = frozenset({"completed", *outcomes})
        for index in self.on_step.get(step, ()):
            self.evaluate(process, index)

    def reopen(self, process: Process, step: str) -> None:
        """Someone reopens a completed step."""
        if step not in process.completed:
            raise ProcessError(f"step '{step}' is not completed, so it cannot be reopened")
        del process.completed[step]
        process.reopened.add(step)
        for index in self.on_step.get(step, ()):
            self.evaluate(process, index)

    def holds(self, process: Process, condition: Condition) -> bool:
        if condition.subject == "field":
            return field_holds(condition, process.values.get(condition.key))
        operation, step = condition.operation, condition.key
        if operation == "reopened":
            return step in process.reopened
        if operation == "not_assigned":
            return step in self.step_by_key and not process.assigned(step)
        return operation in process.completed.get(step, ())

    def evaluate(self, process: Process, index: int) -> None:
        """Evaluate a rule (once it has fired, never again) and fire it if it holds."""
        if index in process.fired:
            return
        process.asked.add(index)
        rule = self.template.rules[index]
        results = (self.holds(process, c) for c in rule.when)
        if not rule.when or not (any(results) if rule.match == "any" else all(results)):
            return
        process.fired.append(index)
        for position, action in enumerate(rule.then):
            changed, detail = self._act(process, action.verb, action.step, action)
            process.applications.append(
                Application(index, position, action.verb, action.step, changed, detail)
            )

    def _own_people(self, step: Step) -> frozenset[Person]:
        own = people(step.assignees)
        return own | {STARTER} if step.settings.get("assign_run_starter") else own

    def _act(self, process: Process, verb: str, step: str, action: Any) -> tuple[bool, Any]:
        if step not in self.step_by_key:
            return False, None  # a dangling target: check reports it, nothing happens
        if verb in ("show", "hide"):
            if step in process.completed or (step in process.visible) == (verb == "show"):
                return False, None
            if verb == "show":
                process.visible.add(step)
                process.seen.add(step)
            else:
                process.visible.discard(step)
            return True, None
        before = process.assignees[step]
        named = people(action.assignees)
        if verb in ("assign", "assign_only", "unassign", "clear_assignees"):
            after = {
                "assign": before | named,
                "assign_only": named,
                "unassign": before - named,
                "clear_assignees": frozenset(),
            }[verb]
            process.assignees[step] = after
            return after != before, None
        if verb == "deadline":
            value, unit, option = action.deadline
            new = Deadline(value, unit, option)
            changed = process.deadlines[step] != new
            process.deadlines[step] = new
            return changed, (value, unit, option)
        if verb == "webhook":
            process.webhooks.append(action.webhook)
            return True, action.webhook
        if verb == "reopen":
            if step not in process.completed:
                return False, None
            del process.completed[step]
            process.reopened.add(step)
            process.visible.add(step)
            process.seen.add(step)
            return True, None
        return False, None


def hidden_at_launch(template: Template) -> set[str]:
    """Steps a process starts without: every step that some rule shows."""
    return {a.step for rule in template.rules for a in rule.then if a.verb == "show"}
