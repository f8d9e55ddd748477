"""The twelve checks of a template's logic, each finding at its place with what to do.

:func:`check_template` walks the template (:mod:`.walk`), gathers what every path did,
and runs the checks. Each :class:`Finding` names its check, where in the file it is
(``None`` for a template read from an org), what is wrong and what to do, and whether
it comes from every path (*exhaustive*), from a sample of them (*sampled*: it then
never claims "no path", only "none of the N paths walked"), or from the template's text
alone (*structural*).

The checks (after ``tallyfy/mcp-public``, ``server/template_testing/checks.py``, which
names them and their false-positive rules; the wording and code are tallyform's):

1. ``unreachable_step``: a step no path ever shows (it starts hidden because a rule
   shows it and no rule's show ever happens, or a launch rule hides it on every path).
2. ``inert_rule``: a rule that is evaluated but never fires, or fires and never changes
   anything (a webhook always counts as a change).
3. ``conflicting_rules``: two rules that, on one path, both change one step in opposite
   ways (show and hide, assign and unassign or clear, two different deadlines).
4. ``unassigned_visible_step``: a step someone must do, with nobody assigned on some
   path (an email step: no recipient).
5. ``no_completable_path``: a path where the process gets stuck (a visible step nobody
   may complete) or shows no step at all.
6. ``dangling_reference``: a rule or deadline naming a step, field or table column that
   the template does not have.
7. ``orphaned_deadline_anchor``: a step's deadline counts from a step that, on some path
   where the first is shown, is never completed.
8. ``stale_condition_value``: a condition waiting for an answer the field cannot give
   (a value no option has, a number from a field that holds none).
9. ``always_true_condition``: a condition no answer can make false (``not_equals`` a
   value no option has, ``is_not_empty`` on a required kick-off field).
10. ``inert_start_date``: a start date on a step set to start any time, which ignores it.
11. ``empty_rule``: a rule without conditions or without actions (Tallyfy skips it).
12. ``never_evaluated_automation``: a rule Tallyfy never evaluates: no kick-off condition
    and no step (or step's form field) it names is ever completed or reopened.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tallyform.logic.engine import Application, Engine, hidden_at_launch, number, text_of
from tallyform.logic.walk import MAX_PATHS, Component, Path, components, paths, run_path
from tallyform.model import Condition, Origin, Rule, Step, Template
from tallyform.model.template import CHOICE_TYPES

if TYPE_CHECKING:
    from tallyform.model import Location

CHECKS = (
    "unreachable_step",
    "inert_rule",
    "conflicting_rules",
    "unassigned_visible_step",
    "no_completable_path",
    "dangling_reference",
    "orphaned_deadline_anchor",
    "stale_condition_value",
    "always_true_condition",
    "inert_start_date",
    "empty_rule",
    "never_evaluated_automation",
)
# What each finding is unless tallyform.yaml's `checks:` says otherwise: an error where
# the template cannot work as written, a warning where it works but something is off.
DEFAULT_SEVERITY = {
    "unreachable_step": "error",
    "inert_rule": "warning",
    "conflicting_rules": "error",
    "unassigned_visible_step": "warning",
    "no_completable_path": "error",
    "dangling_reference": "error",
    "orphaned_deadline_anchor": "warning",
    "stale_condition_value": "error",
    "always_true_condition": "warning",
    "inert_start_date": "warning",
    "empty_rule": "warning",
    "never_evaluated_automation": "error",
}
CONTRARY = (
    frozenset({"show", "hide"}),
    frozenset({"assign", "unassign"}),
    frozenset({"assign", "clear_assignees"}),
    frozenset({"assign_only", "unassign"}),
    frozenset({"assign_only", "clear_assignees"}),
    frozenset({"assign", "assign_only"}),
)
NUMBERLESS_TYPES = frozenset({"radio", "dropdown", "multiselect", "date", "file", "assignees_form"})
EMAIL_STEPS = frozenset({"email", "expiring_email"})
ASSIGNING = frozenset({"assign", "assign_only"})


@dataclass(frozen=True)
class Coverage:
    """How a finding was reached: from the text, or from ``walked`` of ``total`` paths."""

    walked: int = 0
    total: int = 0
    sampled: bool = False
    structural: bool = False

    def __str__(self) -> str:
        if self.structural:
            return "from the template's text"
        if self.sampled:
            return f"sampled: {self.walked} of {self.total} paths"
        return f"exhaustive: {self.walked} path{'s' if self.walked != 1 else ''}"

    def never(self) -> str:
        """The words for "never": on no path, or as much as a sample of paths can say."""
        if self.sampled:
            return f"on none of the {self.walked} paths walked (a sample)"
        return "on no path"


STRUCTURAL = Coverage(structural=True)


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a template's logic."""

    check: str
    template: str
    message: str
    location: Location | None
    coverage: Coverage = STRUCTURAL
    step: str | None = None  # the step it is about, if any
    rule: str | None = None  # the rule it is about, if any

    @property
    def severity(self) -> str:
        return DEFAULT_SEVERITY[self.check]


def _at(origin: Origin | None, *sub: str | int) -> Location | None:
    return origin.locate(*sub) if origin is not None else None


def _line(origin: Origin | None) -> str:
    where = _at(origin)
    return f" (line {where.line})" if where is not None else ""


def _rule(rule: Rule) -> str:
    return f"rule '{rule.name}'{_line(rule.origin)}"


def _step_at(step: Step) -> Location | None:
    if step.origin is None:
        return None
    return step.origin.locate("key" if step.key_written else "title")


@dataclass
class _Evidence:
    """What the paths of one component did."""

    component: Component
    walked: int = 0
    sampled: bool = False
    seen: set[str] = field(default_factory=set)
    completed_anywhere: set[str] = field(default_factory=set)
    fired: set[int] = field(default_factory=set)
    effective: set[int] = field(default_factory=set)
    asked: set[int] = field(default_factory=set)
    unassigned: dict[str, Path] = field(default_factory=dict)
    stalled: dict[str, Path] = field(default_factory=dict)
    nothing_shown: Path | None = None
    conflicts: dict[tuple[int, int, str], tuple[Application, Application, Path]] = field(
        default_factory=dict
    )
    anchor_shown: dict[tuple[str, str], int] = field(default_factory=dict)
    anchor_missed: dict[tuple[str, str], tuple[int, Path]] = field(default_factory=dict)

    @property
    def coverage(self) -> Coverage:
        return Coverage(self.walked, self.component.size, self.sampled)


def _conflicts(applications: list[Application]) -> Iterator[tuple[Application, Application]]:
    by_step: dict[str, list[Application]] = {}
    for application in applications:
        if application.changed:
            by_step.setdefault(application.step, []).append(application)
    for done in by_step.values():
        for position, first in enumerate(done):
            for second in done[position + 1 :]:
                if first.rule == second.rule:
                    continue
                verbs = frozenset({first.verb, second.verb})
                if verbs in CONTRARY or (verbs == {"deadline"} and first.detail != second.detail):
                    yield first, second


def _walk(engine: Engine, component: Component, limit: int) -> _Evidence:
    chosen, sampled = paths(component, limit)
    evidence = _Evidence(component, walked=len(chosen), sampled=sampled)
    part = Engine(engine.template, component.rules)
    anchors = [(s.key, s.deadline.step) for s in engine.steps if s.deadline and s.deadline.step]
    for path in chosen:
        walked = run_path(part, path)
        process = walked.process
        evidence.seen |= process.seen
        evidence.completed_anywhere |= set(walked.picked)
        evidence.fired |= set(process.fired)
        evidence.asked |= process.asked
        evidence.effective |= {a.rule for a in process.applications if a.changed}
        evidence.effective |= {a.rule for a in process.applications if a.verb == "webhook"}
        for key in walked.unassigned:
            evidence.unassigned.setdefault(key, path)
        for key in walked.stalled:
            evidence.stalled.setdefault(key, path)
        if not process.seen and evidence.nothing_shown is None:
            evidence.nothing_shown = path
        for first, second in _conflicts(process.applications):
            evidence.conflicts.setdefault(
                (first.rule, second.rule, first.step), (first, second, path)
            )
        for dependent, anchor in anchors:
            if anchor not in part.step_by_key or dependent not in process.seen:
                continue
            pair = (dependent, anchor)
            evidence.anchor_shown[pair] = evidence.anchor_shown.get(pair, 0) + 1
            if anchor not in process.completed:
                count, witness = evidence.anchor_missed.get(pair, (0, path))
                evidence.anchor_missed[pair] = (count + 1, witness)
    return evidence


@dataclass
class Analysis:
    """Every finding on one template, and how much of it was walked."""

    template: Template
    findings: list[Finding]
    paths: int
    sampled: bool


def check_template(template: Template, limit: int = MAX_PATHS) -> Analysis:
    """Run the twelve checks on one template."""
    engine = Engine(template)
    groups = components(engine) or [Component((), (), frozenset())]
    evidence = [_walk(engine, group, limit) for group in groups]
    checker = _Checker(template, engine, evidence)
    stale = list(stale_values(template))
    checker.stale_rules = {f.rule for f in stale}
    findings = [
        *checker.unreachable_steps(),
        *checker.inert_rules(),
        *checker.conflicting_rules(),
        *checker.unassigned_steps(),
        *checker.stuck_paths(),
        *dangling_references(template),
        *checker.orphaned_anchors(),
        *stale,
        *always_true_conditions(template),
        *inert_start_dates(template),
        *empty_rules(template),
        *checker.never_evaluated(),
    ]
    return Analysis(
        template,
        findings,
        paths=sum(e.walked for e in evidence),
        sampled=any(e.sampled for e in evidence),
    )


class _Checker:
    """The checks that read what the paths did."""

    def __init__(self, template: Template, engine: Engine, evidence: list[_Evidence]) -> None:
        self.template = template
        self.engine = engine
        self.evidence = evidence
        self.hidden = hidden_at_launch(template)
        self.by_rule = {index: e for e in evidence for index in e.component.rules}
        self.stale_rules: set[str | None] = set()  # a stale value says why they never fire

    def owner(self, step: str) -> _Evidence:
        """The walk that decides a step: its rules' component, or any walk if none acts on it."""
        return next((e for e in self.evidence if step in e.component.targets), self.evidence[0])

    def when(self, step: str, evidence: _Evidence, path: Path) -> str:
        """` when <the path>`, or nothing when no rule acts on the step (every path alike)."""
        if step not in evidence.component.targets or not evidence.component.variables:
            return ""
        return f" when {path.describe(self.template)}"

    def finding(
        self,
        check: str,
        message: str,
        where: Location | None,
        coverage: Coverage,
        step: str | None = None,
        rule: str | None = None,
    ) -> Finding:
        return Finding(check, self.template.key, message, where, coverage, step, rule)

    def unreachable_steps(self) -> Iterator[Finding]:
        for step in self.engine.steps:
            evidence = self.owner(step.key)
            if step.key in evidence.seen or step.key not in evidence.component.targets:
                continue
            rules = self.template.rules
            showing = [
                r for r in rules if any(a.verb == "show" and a.step == step.key for a in r.then)
            ]
            hiding = [
                r for r in rules if any(a.verb == "hide" and a.step == step.key for a in r.then)
            ]
            coverage = evidence.coverage
            if showing:
                why = (
                    f"it starts hidden because {', '.join(_rule(r) for r in showing)} shows it, "
                    f"and that show happens {coverage.never()}"
                )
                todo = (
                    "fix the show rule's conditions, or remove it so that the step starts visible"
                )
            else:
                why = f"{', '.join(_rule(r) for r in hiding)} hides it at launch {_every(coverage)}"
                todo = "narrow the hide rule's conditions, or remove the step"
            yield self.finding(
                "unreachable_step",
                f"step '{step.key}' is never shown: {why}; {todo}",
                _step_at(step),
                coverage,
                step.key,
            )

    def inert_rules(self) -> Iterator[Finding]:
        for index, rule in enumerate(self.template.rules):
            evidence = self.by_rule.get(index)
            if evidence is None or not rule.when or not rule.then or index not in evidence.asked:
                continue
            coverage = evidence.coverage
            if index not in evidence.fired:
                if rule.name in self.stale_rules:
                    continue
                yield self.finding(
                    "inert_rule",
                    f"{_rule(rule)} never fires: its conditions ({_match(rule)}) hold "
                    f"{coverage.never()}; fix the conditions or remove the rule",
                    _at(rule.origin, "when"),
                    coverage,
                    rule=rule.name,
                )
            elif index not in evidence.effective:
                yield self.finding(
                    "inert_rule",
                    f"{_rule(rule)} fires but changes nothing {_every(coverage)}: each of its "
                    "actions is already so when it fires (showing a visible step, hiding a "
                    "hidden one, assigning someone already assigned); remove it or change its actions",
                    _at(rule.origin, "then"),
                    coverage,
                    rule=rule.name,
                )

    def conflicting_rules(self) -> Iterator[Finding]:
        rules = self.template.rules
        for evidence in self.evidence:
            for first, second, path in evidence.conflicts.values():
                later = rules[second.rule]
                what = (
                    f"'{first.verb}' and '{second.verb}'"
                    if first.verb != second.verb
                    else "two different deadlines"
                )
                yield self.finding(
                    "conflicting_rules",
                    f"{_rule(later)} and {_rule(rules[first.rule])} both change step "
                    f"'{first.step}' ({what}) when {path.describe(self.template)}; the one "
                    f"that fires last wins ('{later.name}' here, as the steps were completed "
                    "in order). Make their conditions exclusive, or merge them into one rule",
                    _at(later.origin, "then", second.action, second.verb),
                    evidence.coverage,
                    step=first.step,
                    rule=later.name,
                )

    def unassigned_steps(self) -> Iterator[Finding]:
        for step in self.engine.steps:
            evidence = self.owner(step.key)
            path = evidence.unassigned.get(step.key)
            if path is None or step.key in evidence.stalled:
                continue
            when = self.when(step.key, evidence, path)
            if step.type in EMAIL_STEPS:
                what = f"the email of step '{step.key}' has no recipient{when}: an email step's assignees are its To line"
            else:
                what = f"step '{step.key}' has nobody assigned{when}, so nobody is asked to do it"
            yield self.finding(
                "unassigned_visible_step",
                f"{what}; add `assignees:` (or `assign_run_starter: true`), or a rule that assigns it",
                _step_at(step),
                evidence.coverage,
                step=step.key,
            )

    def stuck_paths(self) -> Iterator[Finding]:
        for step in self.engine.steps:
            evidence = self.owner(step.key)
            path = evidence.stalled.get(step.key)
            if path is None:
                continue
            when = self.when(step.key, evidence, path)
            yield self.finding(
                "no_completable_path",
                f"the process gets stuck at step '{step.key}'{when}: it is shown with nobody "
                "assigned, and `can_complete_only_assignees: true` lets only assignees complete "
                "it; assign someone, or let anyone complete it",
                _step_at(step),
                evidence.coverage,
                step=step.key,
            )
        for evidence in self.evidence:
            if evidence.nothing_shown is not None and self.engine.steps:
                yield self.finding(
                    "no_completable_path",
                    "no step is ever shown "
                    f"(when {evidence.nothing_shown.describe(self.template)}), so the "
                    "process has nothing to do: let at least one step start visible",
                    _at(self.template.origin, "steps"),
                    evidence.coverage,
                )
                break

    def orphaned_anchors(self) -> Iterator[Finding]:
        for step in self.engine.steps:
            if step.deadline is None or step.deadline.step is None:
                continue
            pair = (step.key, step.deadline.step)
            evidence = self.owner(step.key)
            if step.key not in evidence.component.targets:
                evidence = self.owner(step.deadline.step)
            missed = evidence.anchor_missed.get(pair)
            if missed is None:
                continue
            count, path = missed
            always = count == evidence.anchor_shown.get(pair, 0) and not evidence.sampled
            how = (
                "on every path where it is shown"
                if always
                else f"when {path.describe(self.template)}"
            )
            yield self.finding(
                "orphaned_deadline_anchor",
                f"the deadline of step '{step.key}' counts from step '{step.deadline.step}', "
                f"which is never completed {how} (it is hidden, or never reached), so the "
                "deadline cannot be worked out; count from the process launch or from a step "
                "that is always done first",
                _at(step.origin, "deadline", "step"),
                evidence.coverage,
                step=step.key,
            )

    def never_evaluated(self) -> Iterator[Finding]:
        for index, rule in enumerate(self.template.rules):
            if not rule.when or not rule.then:
                continue
            launch = index in self.engine.at_launch
            triggers = self.engine.triggers(rule)
            evidence = self.by_rule.get(index)
            if launch or (triggers and evidence is not None and index in evidence.asked):
                continue
            if not triggers:
                yield self.finding(
                    "never_evaluated_automation",
                    f"{_rule(rule)} is never evaluated: Tallyfy evaluates a rule at launch "
                    "when it tests a kick-off field, and when a step it names (or whose form "
                    "field it tests) is completed or reopened, and it has neither; test a "
                    "kick-off field or a step of this template",
                    _at(rule.origin, "when"),
                    STRUCTURAL,
                    rule=rule.name,
                )
            elif evidence is not None:
                names = ", ".join(f"'{key}'" for key in sorted(triggers))
                yield self.finding(
                    "never_evaluated_automation",
                    f"{_rule(rule)} is never evaluated: only completing or reopening step "
                    f"{names} makes Tallyfy evaluate it, and that happens "
                    f"{evidence.coverage.never()}; make that step reachable, or test another",
                    _at(rule.origin, "when"),
                    evidence.coverage,
                    rule=rule.name,
                )


def _every(coverage: Coverage) -> str:
    if coverage.sampled:
        return f"on all {coverage.walked} paths walked (a sample)"
    return "on every path"


def _match(rule: Rule) -> str:
    return (
        "any of them"
        if rule.match == "any" and len(rule.when) > 1
        else "all together"
        if len(rule.when) > 1
        else "its one condition"
    )


def dangling_references(template: Template) -> Iterator[Finding]:
    steps = {s.key for s in template.steps}
    fields = {f.key: f for f in template.all_fields()}

    def found(message: str, where: Location | None, rule: Rule | None = None) -> Finding:
        name = rule.name if rule is not None else None
        return Finding("dangling_reference", template.key, message, where, rule=name)

    for rule in template.rules:
        for index, condition in enumerate(rule.when):
            named = steps if condition.subject == "step" else fields
            if condition.key not in named:
                yield found(
                    f"{_rule(rule)} tests {condition.subject} '{condition.key}', which this "
                    f"template does not have; name an existing {condition.subject} or remove the condition",
                    _at(rule.origin, "when", index, condition.subject),
                    rule,
                )
                continue
            item = fields.get(condition.key) if condition.subject == "field" else None
            if item is not None and condition.column is not None:
                columns = [c.label for c in item.columns]
                if condition.column not in columns:
                    have = f"its columns: {', '.join(columns)}" if columns else "it is no table"
                    yield found(
                        f"{_rule(rule)} tests column '{condition.column}' of field "
                        f"'{item.key}', which has no such column ({have}); name one of its columns",
                        _at(rule.origin, "when", index, "column"),
                        rule,
                    )
        for index, action in enumerate(rule.then):
            if action.step not in steps:
                yield found(
                    f"{_rule(rule)} acts on step '{action.step}', which this template does not have",
                    _at(rule.origin, "then", index, action.verb),
                    rule,
                )
    for step in template.steps:
        if step.deadline and step.deadline.step and step.deadline.step not in steps:
            yield found(
                f"the deadline of step '{step.key}' counts from step '{step.deadline.step}', "
                "which this template does not have",
                _at(step.origin, "deadline", "step"),
            )


def _field_conditions(template: Template) -> Iterator[tuple[Rule, int, Condition]]:
    fields = {f.key for f in template.all_fields()}
    for rule in template.rules:
        for index, condition in enumerate(rule.when):
            if condition.subject == "field" and condition.key in fields:
                yield rule, index, condition


def stale_values(template: Template) -> Iterator[Finding]:
    fields = {f.key: f for f in template.all_fields()}
    for rule, index, condition in _field_conditions(template):
        item = fields[condition.key]
        where = _at(rule.origin, "when", index, "value")
        operation = condition.operation
        if operation in ("greater_than", "less_than"):
            if item.type in NUMBERLESS_TYPES or (item.type in CHOICE_TYPES and item.options):
                yield Finding(
                    "stale_condition_value",
                    template.key,
                    f"{_rule(rule)} compares field '{item.key}' as a number, but a {item.type} "
                    "field holds no number, so the test is always false; test it with equals, or compare a number field",
                    _at(rule.origin, "when", index, "is"),
                    rule=rule.name,
                )
            elif number(text_of(condition.value)) is None:
                yield Finding(
                    "stale_condition_value",
                    template.key,
                    f"{_rule(rule)} compares field '{item.key}' with {condition.value!r}, which "
                    "is no number, so the test is always false; write a number",
                    where,
                    rule=rule.name,
                )
            continue
        if item.type not in CHOICE_TYPES or not item.options:
            continue
        options = [o.text for o in item.options]
        lowered = [o.lower() for o in options]
        value = text_of(condition.value)
        if operation == "equals":
            missing = [value] if value.lower() not in lowered else []
        elif operation == "equals_any":
            wanted = [p.strip() for p in value.split(",") if p.strip()]
            missing = [w for w in wanted if w.lower() not in lowered]
        elif operation == "contains":
            missing = [value] if not any(value.lower() in o for o in lowered) else []
        else:
            continue
        if missing:
            yield Finding(
                "stale_condition_value",
                template.key,
                f"{_rule(rule)} waits for field '{item.key}' to be "
                f"{', '.join(repr(m) for m in missing)}, which none of its options is "
                f"({', '.join(options)}); nobody can give that answer: use one of the options",
                where,
                rule=rule.name,
            )


def always_true_conditions(template: Template) -> Iterator[Finding]:
    fields = {f.key: f for f in template.all_fields()}
    kickoff = {f.key for f in template.kickoff}
    for rule, index, condition in _field_conditions(template):
        item = fields[condition.key]
        value = text_of(condition.value)
        options = [o.text for o in item.options]
        lowered = [o.lower() for o in options]
        why = None
        if item.type in CHOICE_TYPES and options:
            if condition.operation == "not_equals" and value.lower() not in lowered:
                why = f"no option of field '{item.key}' is {value!r} ({', '.join(options)})"
            elif condition.operation == "not_contains" and not any(
                value.lower() in o for o in lowered
            ):
                why = f"no option of field '{item.key}' contains {value!r} ({', '.join(options)})"
        if condition.operation == "is_not_empty" and item.required and item.key in kickoff:
            why = f"kick-off field '{item.key}' is required, so it is never empty"
        if why:
            yield Finding(
                "always_true_condition",
                template.key,
                f"a condition of {_rule(rule)} is always true: {why}; "
                "it does not narrow the rule at all: remove it or test a real answer",
                _at(rule.origin, "when", index),
                rule=rule.name,
            )


def inert_start_dates(template: Template) -> Iterator[Finding]:
    for step in template.steps:
        if step.start_date is None or not step.settings.get("is_soft_start_date"):
            continue
        value, unit = step.start_date
        default = " (Tallyfy's own default)" if (value, unit) == (2, "hours") else ""
        yield Finding(
            "inert_start_date",
            template.key,
            f"step '{step.key}' has a start date of {value} {unit[:-1] if value == 1 else unit}{default}, but "
            "`is_soft_start_date: true` lets it start any time, so the start date does nothing; "
            "remove one of the two",
            _at(step.origin, "start_date"),
            step=step.key,
        )


def empty_rules(template: Template) -> Iterator[Finding]:
    for rule in template.rules:
        if rule.when and rule.then:
            continue
        missing = "conditions" if not rule.when else "actions"
        yield Finding(
            "empty_rule",
            template.key,
            f"{_rule(rule)} has no {missing}, so Tallyfy skips it; complete it or remove it",
            _at(rule.origin),
            rule=rule.name,
        )
