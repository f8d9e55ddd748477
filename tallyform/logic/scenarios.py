"""Running a template's scenarios (its ``tests:``) through the rule engine, offline.

A scenario launches a process with its kick-off answers, lets its ``steps:`` happen in
order (each completed, approved, rejected, acknowledged, expired or reopened, with its
form fields' values), and then compares what it expects with what the process holds:
steps shown or hidden, each step's assignees and deadline, the webhooks sent and the
rules that fired. Each expectation that does not hold is one :class:`Failure`, at its
place in the file, with what was expected and what happened. An event that cannot
happen (completing a step that is hidden at that point) is a failure too, and ends
the scenario there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tallyform.logic.engine import (
    Engine,
    Process,
    ProcessError,
    as_assignees,
    hidden_at_launch,
)
from tallyform.model import Assignees, Deadline, Origin, Scenario, Template

if TYPE_CHECKING:
    from tallyform.model import Location

Report = Callable[[str, str, str, "Location | None"], None]  # message, expected, actual, where


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


def run_scenario(template: Template, scenario: Scenario, engine: Engine | None = None) -> Outcome:
    """Run one scenario and compare what it expects with what happened."""
    engine = engine or Engine(template)
    outcome = Outcome(template, scenario)

    def fail(message: str, expected: str, actual: str, where: Location | None) -> None:
        outcome.failures.append(
            Failure(template.key, scenario.name, message, expected, actual, where)
        )

    process = engine.launch(dict(scenario.kickoff))
    for event in scenario.events:
        try:
            if event.outcome == "reopened":
                engine.reopen(process, event.step)
            else:
                engine.complete(
                    process, event.step, {event.outcome} - {"completed"}, dict(event.values)
                )
        except ProcessError as error:
            state = (
                _why_hidden(template, process, event.step)
                if event.step not in process.visible
                else "completed"
            )
            fail(
                str(error),
                f"step '{event.step}' can be {event.outcome}",
                state,
                _at(event.origin, "step"),
            )
            outcome.fired = [template.rules[i].name for i in process.fired]
            return outcome
    outcome.fired = [template.rules[i].name for i in process.fired]
    _compare(template, scenario, process, fail)
    return outcome


def _compare(template: Template, scenario: Scenario, process: Process, report: Report) -> None:
    expect = scenario.expect
    origin = scenario.origin
    for index, step in enumerate(expect.shown):
        if step not in process.visible:
            report(
                f"step '{step}' should be shown",
                "shown",
                _why_hidden(template, process, step),
                _at(origin, "expect", "shown", index),
            )
    for index, step in enumerate(expect.hidden):
        if step in process.visible:
            report(
                f"step '{step}' should be hidden",
                "hidden",
                "shown",
                _at(origin, "expect", "hidden", index),
            )
    for step, wanted in expect.assignees:
        got = as_assignees(process.assignees.get(step, ()))
        if _sorted(wanted) != got:
            report(
                f"step '{step}' has other assignees",
                people_text(_sorted(wanted)),
                people_text(got),
                _at(origin, "expect", "assignees", step),
            )
    for step, deadline in expect.deadlines:
        actual = process.deadlines.get(step)
        if not _same_deadline(deadline, actual):
            report(
                f"step '{step}' has another deadline",
                deadline_text(deadline),
                deadline_text(actual),
                _at(origin, "expect", "deadlines", step),
            )
    if expect.webhooks is not None:
        sent = [url for url, _ in process.webhooks]
        if sent != list(expect.webhooks):
            report(
                "other webhooks were sent",
                _listed(expect.webhooks),
                _listed(sent),
                _at(origin, "expect", "webhooks"),
            )
    if expect.fired is not None:
        fired = [template.rules[i].name for i in process.fired]
        if sorted(fired) != sorted(expect.fired):
            report(
                "other rules fired",
                _listed(expect.fired),
                _listed(fired),
                _at(origin, "expect", "fired"),
            )


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
