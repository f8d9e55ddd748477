"""Running a template's scenarios (its ``tests:``) through the rule engine, offline.

A scenario launches a process with its kick-off answers, lets its ``steps:`` happen in
order (each completed, approved, rejected, acknowledged, expired or reopened, with its
form fields' values), and then compares what it expects with what the process holds:
steps shown or hidden, each step's assignees and deadline, the webhooks sent and the
rules that fired. Each expectation that does not hold is one :class:`Failure`, at its
place in the file, with what was expected and what happened. An event that cannot
happen is a failure too, and ends the scenario there: completing a step that is hidden
at that point, or one whose required form fields have no value, or launching without
an answer to each required kick-off field (Tallyfy refuses both with a 422).

:func:`compare` takes any :class:`View` of a process, so ``tallyform test --org`` holds
a process launched in an org to the same expectations, with the same messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from tallyform.logic.engine import (
    Engine,
    Process,
    ProcessError,
    as_assignees,
    hidden_at_launch,
    members,
)
from tallyform.model import Assignees, Deadline, Event, Origin, Scenario, Template

if TYPE_CHECKING:
    from tallyform.model import Location


@dataclass(frozen=True)
class Failure:
    """One expectation of a scenario that did not hold."""

    template: str
    scenario: str
    message: str
    expected: str
    actual: str
    location: Location | None


@dataclass
class Outcome:
    """How one scenario went."""

    template: Template
    scenario: Scenario
    failures: list[Failure] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)  # rule names, in the order they fired

    @property
    def passed(self) -> bool:
        return not self.failures


def _at(origin: Origin | None, *sub: str | int) -> Location | None:
    return origin.locate(*sub) if origin is not None else None


def people_text(assignees: Assignees) -> str:
    parts = [
        f"{bucket}: [{', '.join(getattr(assignees, bucket))}]"
        for bucket in ("users", "groups", "guests")
        if getattr(assignees, bucket)
    ]
    return "{" + ", ".join(parts) + "}"


def deadline_text(deadline: Deadline | None) -> str:
    if deadline is None:
        return "no deadline"
    anchor = f" {'before' if deadline.option in ('before', 'prior_to') else 'from'} "
    anchor += f"step '{deadline.step}'" if deadline.step else "its start"
    return f"{deadline.value} {deadline.unit}{anchor}"


def _same_deadline(expected: Deadline | None, actual: Deadline | None) -> bool:
    if expected is None or actual is None:
        return expected is actual

    def option(value: str) -> str:
        return "before" if value in ("before", "prior_to") else "from"

    return (expected.value, expected.unit, option(expected.option)) == (
        actual.value,
        actual.unit,
        option(actual.option),
    ) and (expected.step is None or expected.step == actual.step)


def _why_hidden(template: Template, process: Process, step: str) -> str:
    hiders = [
        template.rules[a.rule].name
        for a in process.applications
        if a.step == step and a.verb == "hide" and a.changed
    ]
    if hiders:
        return f"hidden by rule '{hiders[-1]}'"
    if step in hidden_at_launch(template):
        showers = [
            r.name
            for r in template.rules
            if any(a.verb == "show" and a.step == step for a in r.then)
        ]
        return f"hidden: it starts hidden, and rule '{showers[0]}' did not fire"
    return "hidden"


class View(Protocol):
    """What a scenario's expectations are compared with: a simulated process
    (:class:`SimulatedView`), or one launched in an org (``tallyform test --org``)."""

    def shown(self, step: str) -> bool: ...

    def why_hidden(self, step: str) -> str: ...

    def assignees(self, step: str) -> Assignees: ...

    def deadline_differs(self, step: str, expected: Deadline | None) -> str | None:
        """None when the step's deadline is the one expected, else what it is."""

    def webhooks(self) -> list[str] | None:
        """The addresses sent to, in order; None where they cannot be seen."""

    def fired(self) -> list[str] | None:
        """The names of the rules that fired; None where they cannot be seen."""


@dataclass
class SimulatedView:
    """A process of the rule engine, as a scenario's expectations see it."""

    template: Template
    process: Process

    def shown(self, step: str) -> bool:
        return step in self.process.visible

    def why_hidden(self, step: str) -> str:
        return _why_hidden(self.template, self.process, step)

    def assignees(self, step: str) -> Assignees:
        return as_assignees(self.process.assignees.get(step, ()))

    def deadline_differs(self, step: str, expected: Deadline | None) -> str | None:
        actual = self.process.deadlines.get(step)
        return None if _same_deadline(expected, actual) else deadline_text(actual)

    def webhooks(self) -> list[str]:
        return [url for url, _ in self.process.webhooks]

    def fired(self) -> list[str]:
        return [self.template.rules[i].name for i in self.process.fired]


def missing_kickoff(template: Template, scenario: Scenario) -> list[str]:
    """The required kick-off fields a scenario's launch leaves blank: Tallyfy refuses to
    launch a process without them (a 422 naming each field)."""
    answers = dict(scenario.kickoff)
    return [f.key for f in template.kickoff if f.required and not members(answers.get(f.key))]


def missing_fields(template: Template, step: str, values: Mapping[str, Any]) -> list[str]:
    """The step's required form fields that ``values`` leaves blank: Tallyfy refuses to
    complete a task until each has a value."""
    found = next((s for s in template.steps if s.key == step), None)
    fields = found.fields if found is not None else []
    return [f.key for f in fields if f.required and not members(values.get(f.key))]


def kickoff_failure(template: Template, scenario: Scenario, missing: list[str]) -> Failure:
    names = ", ".join(f"'{key}'" for key in missing)
    where = _at(scenario.origin, "kickoff") if scenario.kickoff else _at(scenario.origin)
    return Failure(
        template.key,
        scenario.name,
        "the process cannot be launched: Tallyfy requires an answer to each required "
        "kick-off field",
        f"an answer to {names}",
        "none",
        where,
    )


def fields_failure(
    template: Template, scenario: Scenario, event: Event, missing: list[str]
) -> Failure:
    names = ", ".join(f"'{key}'" for key in missing)
    return Failure(
        template.key,
        scenario.name,
        f"step '{event.step}' cannot be {event.outcome}: Tallyfy requires a value in each "
        "required form field first (give it under `fields:`)",
        f"a value in {names}",
        "none",
        _at(event.origin, "step"),
    )


def event_failure(
    template: Template, scenario: Scenario, event: Event, message: str, actual: str
) -> Failure:
    """An event of a scenario that could not happen."""
    return Failure(
        template.key,
        scenario.name,
        message,
        f"step '{event.step}' can be {event.outcome}",
        actual,
        _at(event.origin, "step"),
    )


def run_scenario(template: Template, scenario: Scenario, engine: Engine | None = None) -> Outcome:
    """Run one scenario and compare what it expects with what happened."""
    engine = engine or Engine(template)
    outcome = Outcome(template, scenario)
    missing = missing_kickoff(template, scenario)
    if missing:
        outcome.failures.append(kickoff_failure(template, scenario, missing))
        return outcome
    process = engine.launch(dict(scenario.kickoff))
    view = SimulatedView(template, process)
    for event in scenario.events:
        failure = _happen(engine, view, scenario, event)
        if failure is not None:
            outcome.failures.append(failure)
            outcome.fired = view.fired()
            return outcome
    outcome.fired = view.fired()
    outcome.failures += compare(template, scenario, view)
    return outcome


def _happen(
    engine: Engine, view: SimulatedView, scenario: Scenario, event: Event
) -> Failure | None:
    """Let one event happen to the simulated process; the failure if it cannot."""
    template, process = view.template, view.process
    pending = event.step in process.visible and event.step not in process.completed
    if event.outcome != "reopened" and pending:
        known = {**process.values, **dict(event.values)}
        missing = missing_fields(template, event.step, known)
        if missing:
            return fields_failure(template, scenario, event, missing)
    try:
        if event.outcome == "reopened":
            engine.reopen(process, event.step)
        else:
            outcomes = {event.outcome} - {"completed"}
            engine.complete(process, event.step, outcomes, dict(event.values))
    except ProcessError as error:
        if event.step not in process.visible:
            state = view.why_hidden(event.step)
        else:
            state = "completed" if event.step in process.completed else "not completed"
        return event_failure(template, scenario, event, str(error), state)
    return None


def compare(template: Template, scenario: Scenario, view: View) -> list[Failure]:
    """Each expectation of the scenario that ``view`` does not meet; the ``webhooks`` and
    ``fired`` expectations only where the view can see them."""
    failures: list[Failure] = []

    def report(message: str, expected: str, actual: str, where: Location | None) -> None:
        failures.append(Failure(template.key, scenario.name, message, expected, actual, where))

    expect = scenario.expect
    origin = scenario.origin
    for index, step in enumerate(expect.shown):
        if not view.shown(step):
            report(
                f"step '{step}' should be shown",
                "shown",
                view.why_hidden(step),
                _at(origin, "expect", "shown", index),
            )
    for index, step in enumerate(expect.hidden):
        if view.shown(step):
            report(
                f"step '{step}' should be hidden",
                "hidden",
                "shown",
                _at(origin, "expect", "hidden", index),
            )
    for step, wanted in expect.assignees:
        got = view.assignees(step)
        if _sorted(wanted) != got:
            report(
                f"step '{step}' has other assignees",
                people_text(_sorted(wanted)),
                people_text(got),
                _at(origin, "expect", "assignees", step),
            )
    for step, deadline in expect.deadlines:
        actual = view.deadline_differs(step, deadline)
        if actual is not None:
            report(
                f"step '{step}' has another deadline",
                deadline_text(deadline),
                actual,
                _at(origin, "expect", "deadlines", step),
            )
    sent = view.webhooks()
    if expect.webhooks is not None and sent is not None and sent != list(expect.webhooks):
        report(
            "other webhooks were sent",
            _listed(expect.webhooks),
            _listed(sent),
            _at(origin, "expect", "webhooks"),
        )
    fired = view.fired()
    if expect.fired is not None and fired is not None and sorted(fired) != sorted(expect.fired):
        report(
            "other rules fired",
            _listed(expect.fired),
            _listed(fired),
            _at(origin, "expect", "fired"),
        )
    return failures


def _sorted(assignees: Assignees) -> Assignees:
    return Assignees(*(tuple(sorted(getattr(assignees, b))) for b in ("users", "groups", "guests")))


def _listed(items: object) -> str:
    names = list(items) if isinstance(items, list | tuple) else []
    return "[" + ", ".join(str(n) for n in names) + "]" if names else "none"


def run_scenarios(template: Template) -> list[Outcome]:
    """Every scenario of a template, each from a fresh process."""
    engine = Engine(template)
    return [run_scenario(template, scenario, engine) for scenario in template.tests]


def uncovered_rules(template: Template, outcomes: list[Outcome]) -> list[str]:
    """Rules that no scenario of the template makes fire."""
    fired = {name for outcome in outcomes for name in outcome.fired}
    return [rule.name for rule in template.rules if rule.name not in fired]
