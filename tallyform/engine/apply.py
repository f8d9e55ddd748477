"""Applying a plan: its changes, in its order, and nothing else.

Org-wide changes (tallyform's custom-field keys, folders, tags) come first, in rounds
whose changes run in parallel (a folder waits for its parent's round); then templates
run in parallel, each carrying out its own changes in plan order (see :mod:`.compose`
for that order and :mod:`tallyform.tallyfy.writes` for the executors). An error stops its template
only (an org-wide one stops everything); a re-run plans what is left. When ``stop`` is
set (the first Ctrl-C), no new change starts: those under way finish, the rest are
reported not done.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tallyform.client import TallyfyClient, TallyfyError
from tallyform.errors import TallyformError
from tallyform.model.changes import Change, Plan, count_actions
from tallyform.model.kinds import Kind
from tallyform.parallel import DEFAULT_WORKERS, in_parallel
from tallyform.tallyfy.read import KeysHidden, LiveOrg, my_user_id
from tallyform.tallyfy.writes import ORG_EXECUTORS, ApplyContext, KeySetupRefused, TemplateRun

Progress = Callable[[Change], None]


class NotPlannedHere(TallyformError):
    """A plan without its reading of the org: only a plan made by this process applies."""


@dataclass
class Outcome:
    """What happened to one template's changes (or the org-wide ones, scope None)."""

    scope: str | None
    done: list[Change] = field(default_factory=list)
    not_done: list[Change] = field(default_factory=list)
    error: str | None = None


@dataclass
class ApplyReport:
    outcomes: list[Outcome]
    stopped: bool = False  # interrupted: some changes were not started

    @property
    def done(self) -> list[Change]:
        return [c for o in self.outcomes for c in o.done]

    @property
    def not_done(self) -> list[Change]:
        return [c for o in self.outcomes for c in o.not_done]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error]

    def counts(self) -> dict[str, int]:
        """Each action's count of changes done, by the action's name."""
        return {action.value: count for action, count in count_actions(self.done).items()}


def _carry_out(
    scope: str | None,
    changes: list[Change],
    execute: Callable[[Change], None],
    progress: Progress,
    stop: threading.Event,
    finish: Callable[[], None] = lambda: None,
    halted: threading.Event | None = None,
) -> Outcome:
    """One template's changes in order; the first error stops them. ``halted`` is set when
    an error means no other template can go on either (and ends them like ``stop``)."""
    outcome = Outcome(scope)
    halted = halted if halted is not None else threading.Event()
    for index, change in enumerate(changes):
        if stop.is_set() or halted.is_set():
            outcome.not_done = changes[index:]
            return outcome
        try:
            execute(change)
        except TallyfyError as error:
            outcome.error = str(error)
            outcome.not_done = changes[index:]
            if isinstance(error, KeysHidden):  # every other template would meet it too
                halted.set()
            return outcome
        outcome.done.append(change)
        progress(change)
    try:
        finish()
    except TallyfyError as error:
        outcome.error = str(error)
    return outcome


def org_rounds(changes: list[Change]) -> list[list[Change]]:
    """Org-wide changes in rounds whose changes need nothing of each other: tallyform's
    keys first and alone (a token that may not define them writes nothing at all), then
    tags and top-level folders, then each level of folders below (a folder needs its
    parent)."""
    rounds: dict[int, list[Change]] = {}
    for change in changes:
        rounds.setdefault(_round_of(change), []).append(change)
    return [rounds[number] for number in sorted(rounds)]


def _round_of(change: Change) -> int:
    if change.kind is Kind.KEY:
        return -1
    if change.kind is Kind.FOLDER:
        return str(change.desired).count("/")
    return 0


def _carry_out_in_rounds(
    workers: int,
    changes: list[Change],
    execute: Callable[[Change], None],
    progress: Progress,
    stop: threading.Event,
) -> Outcome:
    """The org-wide changes, each round's in parallel; an error lets the changes under way
    finish and starts no other. Done and not done are reported in the plan's order."""
    outcome = Outcome(None)
    errors: dict[int, str] = {}
    done: set[int] = set()
    order = {id(change): index for index, change in enumerate(changes)}
    noted = threading.Lock()

    refused: list[KeySetupRefused] = []

    def attempt(change: Change) -> None:
        if stop.is_set() or errors or refused:
            return
        try:
            execute(change)
        except KeySetupRefused as error:
            refused.append(error)  # raised once the round's other changes are done
            return
        except TallyfyError as error:
            with noted:
                errors[order[id(change)]] = str(error)
            return
        with noted:
            done.add(order[id(change)])
        progress(change)

    for batch in org_rounds(changes):
        if stop.is_set() or errors:
            break
        in_parallel(attempt, batch, workers)
        if refused:
            raise refused[0]
    outcome.done = [c for i, c in enumerate(changes) if i in done]
    outcome.not_done = [c for i, c in enumerate(changes) if i not in done]
    outcome.error = errors[min(errors)] if errors else None
    return outcome


def apply_plan(
    client: TallyfyClient,
    plan: Plan,
    progress: Progress = lambda change: None,
    stop: threading.Event | None = None,
    workers: int = DEFAULT_WORKERS,
) -> ApplyReport:
    """Carry out ``plan``'s changes, org-wide ones first, then templates in parallel
    (``workers`` at once): the plan alone says what to do and holds what it read of the
    org to do it with.

    Raises KeySetupRefused when the token may not define tallyform's keys (nothing is
    written then).
    """
    org, states = plan.reading, plan.states
    if not isinstance(org, LiveOrg):
        raise NotPlannedHere(
            "this plan holds no reading of the org (a plan loaded from a file is planned "
            "afresh before it is applied); plan again"
        )
    stop = stop or threading.Event()
    grouped = plan.by_template()
    creates = any(c.creates_template for c in plan.changes)
    me = my_user_id(client) if creates else None  # once, not per template
    context = ApplyContext(client, org, me)

    def execute_org(change: Change) -> None:
        ORG_EXECUTORS[change.spec](context, change)

    first = _carry_out_in_rounds(workers, plan.org_changes(), execute_org, progress, stop)
    if first.error or first.not_done:
        skipped = [Outcome(key, not_done=changes) for key, changes in grouped.items()]
        return ApplyReport([first, *skipped], stopped=stop.is_set())

    halted = threading.Event()

    def run(key: str) -> Outcome:
        desired, live = states[key]
        template = TemplateRun(context, desired, live)
        return _carry_out(
            key, grouped[key], template.execute, progress, stop, template.finish, halted
        )

    outcomes = in_parallel(run, list(grouped), workers)
    return ApplyReport([first, *outcomes], stopped=stop.is_set())


__all__ = ["ApplyReport", "KeySetupRefused", "Outcome", "apply_plan"]
