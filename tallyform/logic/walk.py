"""Every answer a template's rules can tell apart, and one process run for each.

A rule tests a few fields and steps; what matters of a field's answer is only which of
the tested values it equals, contains, or lies between. So each tested field gets a
small *domain* of answers that covers every case its conditions distinguish (each value
tested for, a value holding every tested needle, numbers on each side of and at every
threshold, a blank answer unless the field is required, and one answer no condition
names), and each tested step a domain of outcomes (each tested outcome, all of them at
once where they can go together, and a plain completion). Choice fields answer only
their options: a value no option has is a path nobody can take.

Rules that share nothing (no field, no step, no target) cannot affect each other, so the
rules are split into independent groups (*components*) and each group is walked alone:
the cost is the sum of the groups' products, not their product. A group whose product of
domains is at most :data:`MAX_PATHS` is walked exhaustively; past it, a deterministic
sample of :data:`MAX_PATHS` paths is walked instead (the first answer of every variable
with each other answer of each, then strided combinations), and every finding drawn from
it says *sampled*, never "no path".

Each path is run by :func:`run_path`: launch with the path's kick-off answers, then
complete, in template order, the first step that is visible, not completed and
completable (someone is assigned, or anyone may complete it), with the path's outcome
and form-field answers, until no step can be completed. A path's outcome ``reopened``
reopens the step once, right after its completion.

After ``tallyfy/mcp-public``, ``server/template_testing/domains.py`` and ``walk.py``
(domains from the tested statements, independence partitioning, the cap and its
honesty rule); the code is tallyform's own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tallyform.logic.engine import (
    MULTI_VALUE_TYPES,
    OUTCOME_OPERATIONS,
    Engine,
    Process,
    number,
    text_of,
)
from tallyform.model import Field, Template
from tallyform.model.template import CHOICE_TYPES

MAX_PATHS = 2048  # paths walked per component before it is sampled
MAX_PROGRESS = 500  # steps completed in one path, at most (reopening can repeat some)


@dataclass(frozen=True)
class Variable:
    """A free input of the walk: a field's answer or a step's outcome."""

    kind: str  # "field" or "step"
    key: str
    domain: tuple[Any, ...]


@dataclass
class Component:
    """Rules that may affect each other, and the inputs they test."""

    rules: tuple[int, ...]
    variables: tuple[Variable, ...]
    targets: frozenset[str]  # steps the rules act on

    @property
    def size(self) -> int:
        total = 1
        for variable in self.variables:
            total *= len(variable.domain)
        return total


@dataclass
class Path:
    """One assignment of every variable: answers by field key, outcomes by step key."""

    answers: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[str, frozenset[str]] = field(default_factory=dict)

    def describe(self, template: Template) -> str:
        """The path as a reader would recognise it: `amount = 99, approve rejected`."""
        parts = [f"{key} = {_shown(value)}" for key, value in self.answers.items()]
        parts += [
            f"{key} {' and '.join(sorted(ops)) if ops else 'completed'}"
            for key, ops in self.outcomes.items()
        ]
        return ", ".join(parts) or "any answers"


def _shown(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(blank)"
    if isinstance(value, list):
        return "[" + ", ".join(text_of(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else text_of(value)


def _unnamed(avoid: list[str]) -> str:
    """A text no tested value equals or contains, and no needle is part of."""
    lowered = [a.lower() for a in avoid]
    for candidate in ("zzz other answer", "qqq", "xjxjxj", "~~~", "\u2063"):
        if not any(candidate == a or a in candidate for a in lowered):
            return candidate
    return "\u2063" * (1 + max((len(a) for a in avoid), default=0))


def _format(value: float) -> str:
    return text_of(value)


def field_domain(item: Field, tested: list[Any], required: bool) -> tuple[Any, ...]:
    """The answers of ``item`` that tell apart every case of its conditions."""
    equal: list[str] = []
    needles: list[str] = []
    thresholds: list[float] = []
    for condition in tested:
        operation, value = condition.operation, text_of(condition.value)
        if operation in ("equals", "not_equals"):
            equal.append(value)
        elif operation == "equals_any":
            equal += [part.strip() for part in value.split(",") if part.strip()]
        elif operation in ("contains", "not_contains") and value:
            needles.append(value)
        elif operation in ("greater_than", "less_than"):
            found = number(value)
            if found is not None:
                thresholds.append(found)
    values: list[str] = []
    if item.type in CHOICE_TYPES and item.options:
        options = [o.text for o in item.options]
        named = {v.lower() for v in equal}
        picked = [
            o for o in options if o.lower() in named or any(n.lower() in o.lower() for n in needles)
        ]
        unnamed = [o for o in options if o not in picked]
        values = picked + unnamed[:1]
        answers: list[Any] = list(values)
        if item.type == "multiselect" and len(picked) > 1:
            answers.append(list(picked))
        if item.type == "multiselect":
            answers = [a if isinstance(a, list) else [a] for a in answers]
    else:
        values = list(dict.fromkeys(equal))
        if len(needles) > 1:
            values.append(" ".join(needles))
        values += needles
        if thresholds:
            ordered = sorted(set(thresholds))
            values.append(_format(ordered[0] - 1))
            values += [_format((a + b) / 2) for a, b in itertools.pairwise(ordered)]
            values.append(_format(ordered[-1] + 1))
            values += [_format(t) for t in ordered]
        values.append(_unnamed(values + needles))
        answers = list(dict.fromkeys(values))
        if item.type in MULTI_VALUE_TYPES:
            answers = [[a] for a in answers]
    if not required:
        answers.append(None)
    return tuple(answers)


def step_domain(tested: set[str], approval: bool) -> tuple[frozenset[str], ...]:
    """The outcomes of a step that tell apart every case of its conditions: approved or
    rejected (an approval, when either is tested), acknowledged or expired (when tested),
    each also reopened afterwards when ``reopened`` is tested. Only an approval step is
    approved or rejected."""
    verdicts = {"approved", "rejected"}
    if approval and tested & verdicts:
        domain = [frozenset({"approved"}), frozenset({"rejected"})]
    else:
        domain = [frozenset()]
    domain += [frozenset({op}) for op in sorted(tested & (OUTCOME_OPERATIONS - verdicts))]
    if "reopened" in tested:
        domain += [outcome | {"reopened"} for outcome in domain]
    return tuple(domain)


def components(engine: Engine) -> list[Component]:
    """The rules split into groups that cannot affect each other, with their inputs."""
    template = engine.template
    rules = engine.rules
    parent = {index: index for index in rules}

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owners: dict[tuple[str, str], int] = {}  # an input or a target -> a rule that has it
    for index in rules:
        rule = template.rules[index]
        touched = {("in", c.subject, c.key) for c in rule.when}
        touched |= {("in", "step", step) for step in engine.triggers(rule)}
        for action in rule.then:
            touched.add(("in", "step", action.step))  # what it changes, others may test
            step = engine.step_by_key.get(action.step)
            touched |= {("in", "field", f.key) for f in (step.fields if step else ())}
            anchored = [
                s.key for s in engine.steps if s.deadline and s.deadline.step == action.step
            ]
            touched |= {("in", "step", key) for key in anchored}
            if step is not None and step.deadline and step.deadline.step:
                touched.add(("in", "step", step.deadline.step))
        for thing in touched:
            key = (thing[1], thing[2])
            if key in owners:
                parent[root(index)] = root(owners[key])
            else:
                owners[key] = index
    groups: dict[int, list[int]] = {}
    for index in rules:
        groups.setdefault(root(index), []).append(index)
    return [_component(engine, tuple(members)) for members in groups.values()]


def _component(engine: Engine, rules: tuple[int, ...]) -> Component:
    template = engine.template
    fields: dict[str, list[Any]] = {}
    steps: dict[str, set[str]] = {}
    targets: set[str] = set()
    for index in rules:
        rule = template.rules[index]
        targets |= {a.step for a in rule.then}
        for condition in rule.when:
            if condition.subject == "field" and condition.key in engine.fields:
                fields.setdefault(condition.key, []).append(condition)
            elif condition.subject == "step" and condition.key in engine.step_by_key:
                steps.setdefault(condition.key, set()).add(condition.operation)
    variables = []
    for key, tested in sorted(fields.items()):
        item = engine.fields[key]
        variables.append(Variable("field", key, field_domain(item, tested, item.required)))
    for key, ops in sorted(steps.items()):
        approval = engine.step_by_key[key].type == "approval"
        variables.append(Variable("step", key, step_domain(ops, approval)))
    return Component(rules, tuple(variables), frozenset(targets))


def paths(component: Component, limit: int = MAX_PATHS) -> tuple[list[Path], bool]:
    """The paths to walk, and whether they are a sample (the product is over ``limit``)."""
    variables = component.variables
    if component.size <= limit:
        rows: Iterator[tuple[Any, ...]] = itertools.product(*(v.domain for v in variables))
        return [_path(variables, row) for row in rows], False
    return [_path(variables, row) for row in _sample(variables, limit)], True


def _sample(variables: tuple[Variable, ...], limit: int) -> list[tuple[Any, ...]]:
    """A deterministic sample: every single answer of each variable beside the first
    answer of the others, then rows striding through the product."""
    rows: dict[tuple[int, ...], None] = {tuple(0 for _ in variables): None}
    for position, variable in enumerate(variables):
        for choice in range(1, len(variable.domain)):
            rows[tuple(choice if i == position else 0 for i in range(len(variables)))] = None
    sizes = [len(v.domain) for v in variables]
    total = 1
    for size in sizes:
        total *= size
    stride = max(1, total // limit) | 1
    number_ = 0
    while len(rows) < limit and number_ < total:
        digits = []
        rest = number_
        for size in sizes:
            digits.append(rest % size)
            rest //= size
        rows[tuple(digits)] = None
        number_ += stride
    picked = list(rows)[:limit]
    return [tuple(v.domain[i] for v, i in zip(variables, row, strict=True)) for row in picked]


def _path(variables: tuple[Variable, ...], row: tuple[Any, ...]) -> Path:
    path = Path()
    for variable, value in zip(variables, row, strict=True):
        if variable.kind == "field":
            path.answers[variable.key] = value
        else:
            path.outcomes[variable.key] = value
    return path


@dataclass
class Walked:
    """What one path's process did."""

    process: Process
    picked: list[str]  # steps in the order they were completed
    unassigned: list[str]  # steps someone had to complete, or that were left, with nobody assigned
    stalled: list[str]  # steps left visible that nobody may complete


def run_path(engine: Engine, path: Path) -> Walked:
    """Launch a process with the path's answers and complete every step that can be."""
    kickoff = {k: v for k, v in path.answers.items() if k in engine.kickoff}
    process = engine.launch(kickoff)
    picked: list[str] = []
    unassigned: list[str] = []
    reopened_once: set[str] = set()
    visible, completed = process.visible, process.completed
    for _ in range(MAX_PROGRESS):
        for step in engine.steps:
            if (
                step.key in visible
                and step.key not in completed
                and engine.completable(process, step)
            ):
                break
        else:
            break
        if not process.assigned(step.key) and step.key not in unassigned:
            unassigned.append(step.key)
        outcome = path.outcomes.get(step.key, frozenset())
        values = {f.key: path.answers[f.key] for f in step.fields if f.key in path.answers}
        engine.complete(process, step.key, outcome - {"reopened"}, values)
        picked.append(step.key)
        if "reopened" in outcome and step.key not in reopened_once:
            reopened_once.add(step.key)
            engine.reopen(process, step.key)
            process.visible.add(step.key)
    stalled = []
    for step in engine.steps:
        if step.key in process.visible and step.key not in process.completed:
            if not process.assigned(step.key) and step.key not in unassigned:
                unassigned.append(step.key)
            if not engine.completable(process, step):
                stalled.append(step.key)
    return Walked(process, picked, unassigned, stalled)
