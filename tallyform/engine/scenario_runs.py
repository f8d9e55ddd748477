"""``tallyform test --org``: each scenario played as a real process in an org.

Nothing is applied. The org's templates must already be what the repository declares:
a plan of the tested templates (:func:`~tallyform.engine.make_plan`) finds each one and
must have nothing to change for it; a template the org lacks, or one that differs, is
not tested and is named with what to run. Each scenario of the others launches one
process (``tallyform test TIMESTAMP: TEMPLATE / SCENARIO``) with its kick-off answers,
lets its steps happen through the API (form values, then the completion, approval or
rejection; or a reopening), reads the process's tasks and holds them to the scenario's
expectations with :func:`tallyform.logic.scenarios.compare`, the messages of the
offline run. Every process launched is archived at the end, after an error or Ctrl-C
too; one that cannot be is named.

What a process in an org cannot show is not compared: which rules fired and which
webhooks were sent (:attr:`OrgRun.unseen` counts the scenarios expecting them). A
deadline is compared as a time (:mod:`tallyform.logic.timeline`): counted from the
launch, from when its step was completed, or back from the other step's deadline; in
a live org a deadline may be moved forward to the next working time (Tallyfy follows
the org's work week), so there it may be up to :data:`WORKING_TIME_LEEWAY` later.
A step assigned to the process starter lists whoever launched it (the token's user):
they are left out of its assignees, as the offline run leaves the starter out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tallyform.client import TallyfyClient, TallyfyError, ValidationFailed
from tallyform.config import Problem
from tallyform.engine.planner import PlanResult, make_plan
from tallyform.logic.scenarios import (
    Failure,
    Outcome,
    compare,
    event_failure,
)
from tallyform.logic.timeline import BACKWARDS, shift
from tallyform.model import Assignees, Deadline, Event, Scenario, Template
from tallyform.model.state import TemplateState
from tallyform.tallyfy import runs
from tallyform.tallyfy.read import LiveOrg, my_user_id

WORKING_TIME_LEEWAY = timedelta(days=3)  # a weekend and a night, in a live org
CLOCK_LEEWAY = timedelta(seconds=2)


@dataclass
class OrgRun:
    """What ``test --org`` found, and what it launched."""

    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # placed: unknown people, ...
    unplaced: list[str] = field(default_factory=list)  # templates missing or different
    launched: list[str] = field(default_factory=list)  # run ids
    unarchived: list[str] = field(default_factory=list)
    unseen: int = 0  # scenarios expecting webhooks or fired rules, which it cannot see


def untestable(org_name: str, result: PlanResult, templates: list[Template]) -> list[str]:
    """Why each template cannot be tested in the org: it is not there, or not as declared."""
    assert result.plan is not None
    changes = result.plan.by_template()
    found = []
    for template in templates:
        live = result.states.get(template.key, (None, None))[1]
        if live is None or live.live_id is None:
            found.append(
                f"template '{template.key}' is not in org '{org_name}', so its scenarios "
                f"cannot run there; apply it first: tallyform apply --org {org_name}"
            )
        elif changes.get(template.key):
            count = len(changes[template.key])
            found.append(
                f"template '{template.key}' in org '{org_name}' differs from the repository "
                f"({count} change{'s' if count != 1 else ''} to make), so its scenarios would "
                f"test what the org has; see how with `tallyform plan --org {org_name}`, then "
                f"`tallyform apply --org {org_name}`"
            )
    return found


def play_in_org(
    client: TallyfyClient,
    org_name: str,
    templates: list[Template],
    working_time: bool = True,
    found: OrgRun | None = None,
) -> OrgRun:
    """Every scenario of ``templates`` as a process in the org, each archived at the end.
    ``working_time``: the org may move deadlines to its working time (a live org; an
    emulated one does not). ``found``: where to note what happens, so that a caller
    interrupted meanwhile still knows what was launched and archived."""
    found = found if found is not None else OrgRun()
    tested = [t for t in templates if t.tests]
    if not tested:
        return found
    result = make_plan(client, org_name, tested, [t.key for t in tested])
    if result.plan is None:
        found.problems += result.problems
        return found
    found.unplaced += untestable(org_name, result, tested)
    assert result.org is not None
    starter = my_user_id(client)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    with _archiving(client, found):
        for template in tested:
            live = result.states[template.key][1]
            if live is None or result.plan.by_template().get(template.key):
                continue
            player = Player(client, result.org, template, live, starter, found.launched)
            player.leeway = WORKING_TIME_LEEWAY if working_time else timedelta(0)
            for scenario in template.tests:
                found.unseen += scenario.expect.webhooks is not None or (
                    scenario.expect.fired is not None
                )
                name = f"tallyform test {stamp}: {template.title} / {scenario.name}"
                found.outcomes.append(player.play(scenario, name[:250]))
    return found


@contextmanager
def _archiving(client: TallyfyClient, found: OrgRun) -> Iterator[None]:
    """Archive every process launched in the block, however it ends."""
    try:
        yield
    finally:
        for run_id in found.launched:
            try:
                runs.archive(client, run_id)
            except TallyfyError:
                found.unarchived.append(run_id)


def refusal(refused: ValidationFailed) -> str:
    """What the org said when it refused a request: its messages, without the field ids."""
    said = [m for messages in refused.field_errors.values() for m in messages]
    return "; ".join(said) if said else refused.message


class Player:
    """Plays a template's scenarios as processes of its live copy."""

    def __init__(
        self,
        client: TallyfyClient,
        org: LiveOrg,
        template: Template,
        live: TemplateState,
        starter: Any,
        launched: list[str],
    ) -> None:
        self.client, self.org, self.template, self.live = client, org, template, live
        self.starter = starter
        self.launched = launched
        self.leeway = WORKING_TIME_LEEWAY
        self.step_ids = {key: s.live_id for key, s in live.steps.items() if s.live_id}
        self.step_keys = {i: k for k, i in self.step_ids.items()}

    def play(self, scenario: Scenario, name: str) -> Outcome:
        outcome = Outcome(self.template, scenario)
        fields = self.live.kickoff
        prerun = {
            str(fields[key].live_id): runs.encode(fields[key], value, self.org)
            for key, value in scenario.kickoff
            if key in fields and fields[key].live_id
        }
        assert self.live.live_id is not None
        try:
            run = runs.launch(self.client, self.live.live_id, name, prerun)
        except ValidationFailed as refused:
            outcome.failures.append(self._refused_launch(scenario, refused))
            return outcome
        self.launched.append(run.id)
        for event in scenario.events:
            failure = self._happen(run.id, scenario, event)
            if failure is not None:
                outcome.failures.append(failure)
                return outcome
        view = ProcessView(self, run, self._tasks(run.id))
        outcome.failures += compare(self.template, scenario, view)
        return outcome

    def _refused_launch(self, scenario: Scenario, refused: ValidationFailed) -> Failure:
        where = scenario.origin
        location = None
        if where is not None:
            location = where.locate("kickoff") if scenario.kickoff else where.locate()
        return Failure(
            self.template.key,
            scenario.name,
            "the process cannot be launched: the org refused it",
            "a launched process",
            refusal(refused),
            location,
        )

    def _tasks(self, run_id: str) -> dict[str, runs.Task]:
        return {
            self.step_keys[t.step_id]: t
            for t in runs.tasks(self.client, run_id)
            if t.step_id in self.step_keys
        }

    def _happen(self, run_id: str, scenario: Scenario, event: Event) -> Failure | None:
        """Let one event happen to the process; the failure if it cannot."""
        task = self._tasks(run_id).get(event.step)

        def failed(message: str, actual: str) -> Failure:
            return event_failure(self.template, scenario, event, message, actual)

        if task is None:
            return failed(f"the process has no task for step '{event.step}'", "no such task")
        if event.outcome == "reopened":
            if not task.completed:
                state = "hidden" if task.hidden else "not completed"
                return failed(
                    f"step '{event.step}' is not completed, so it cannot be reopened", state
                )
            runs.reopen(self.client, run_id, task.id)
            return None
        if task.hidden:
            return failed(
                f"step '{event.step}' is hidden at this point, so nobody can complete it", "hidden"
            )
        if task.completed:
            return failed(f"step '{event.step}' is already completed; reopen it first", "completed")
        try:
            if event.values:
                self._fill(run_id, task, event)
            runs.complete(self.client, run_id, task.id, runs.approval(event.outcome))
        except ValidationFailed as refused:
            return failed(
                f"step '{event.step}' cannot be {event.outcome}: the org refused it",
                refusal(refused),
            )
        return None

    def _fill(self, run_id: str, task: runs.Task, event: Event) -> None:
        fields = {f.key: f for f in self.live.fields.values() if f.step == event.step}
        taskdata = {
            str(fields[key].live_id): runs.encode(fields[key], value, self.org)
            for key, value in event.values
            if key in fields and fields[key].live_id
        }
        runs.fill(self.client, run_id, task.id, taskdata)


class ProcessView:
    """A process in the org, as a scenario's expectations see it."""

    def __init__(self, player: Player, run: runs.Run, tasks: dict[str, runs.Task]) -> None:
        self.player, self.run, self.tasks = player, run, tasks
        self.launched = run.started_at
        self.leeway = player.leeway

    def shown(self, step: str) -> bool:
        task = self.tasks.get(step)
        return task is not None and not task.hidden

    def why_hidden(self, step: str) -> str:
        return "hidden" if step in self.tasks else "no such task"

    def assignees(self, step: str) -> Assignees:
        task = self.tasks.get(step)
        if task is None:
            return Assignees()
        source = next((s for s in self.player.template.steps if s.key == step), None)
        starts = source is not None and source.settings.get("assign_run_starter")
        org = self.player.org
        users = [u for u in task.owners.users if not (starts and u == self.player.starter)]
        return Assignees(
            tuple(sorted(org.user_email(u) for u in users)),
            tuple(sorted(org.group_name(g) for g in task.owners.groups)),
            tuple(sorted(task.owners.guests)),
        )

    def deadline_differs(self, step: str, expected: Deadline | None) -> str | None:
        task = self.tasks.get(step)
        actual = task.deadline if task is not None else None
        if expected is None:
            return None if actual is None else self._said(actual)
        wanted = self._expected_times(expected)
        if actual is None:
            return None if wanted == [None] else "no deadline"
        if any(w is not None and self._close(actual, w) for w in wanted):
            return None
        return self._said(actual)

    def webhooks(self) -> None:
        return None

    def fired(self) -> None:
        return None

    def _expected_times(self, expected: Deadline) -> list[datetime | None]:
        backwards = expected.option in BACKWARDS
        anchor = expected.step
        if anchor is not None:
            other = self.tasks.get(anchor)
            base = None
            if other is not None:
                base = other.deadline if backwards else other.completed_at
            return [None if base is None else shift(base, expected.value, expected.unit, backwards)]
        starts = [self.launched] + [t.completed_at for t in self.tasks.values()]
        return [shift(s, expected.value, expected.unit, backwards) for s in starts if s is not None]

    def _close(self, actual: datetime, wanted: datetime) -> bool:
        return wanted - CLOCK_LEEWAY <= actual <= wanted + CLOCK_LEEWAY + self.leeway

    def _said(self, actual: datetime) -> str:
        moment = actual.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if self.launched is None:
            return f"due {moment}"
        minutes = round((actual - self.launched).total_seconds() / 60)
        for size, unit in ((1440, "days"), (60, "hours"), (1, "minutes")):
            if minutes % size == 0:
                return f"due {moment} ({minutes // size} {unit} after the launch)"
        return f"due {moment}"  # unreachable: every whole minute divides by 1
