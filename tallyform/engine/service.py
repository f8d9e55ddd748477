"""``apply`` as the engine runs it: from the repository and the org to the report.

The steps, in order (the command line only declares options, prints and picks the exit
code): read the saved plan, if any, and the repository (:func:`prepare_apply`); then,
with a client (:func:`carry_out`): check the saved plan was made for this org, take the
org's lock (:mod:`.locking`), plan again under it, refuse a plan that is blocked, stale or
unsafe (:mod:`.safety`), show it and ask, carry it out (:func:`~.apply.apply_plan`) until
done or stopped, and report.

What the user sees or is asked goes through :class:`ApplyHooks`; refusals are errors that
carry their exit code (:class:`~tallyform.errors.TallyformError`).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tallyform.client import ClientStats, TallyfyClient
from tallyform.config import OrgSettings, Project
from tallyform.engine.apply import ApplyReport, apply_plan
from tallyform.engine.locking import LockHooks, org_lock
from tallyform.engine.planfile import (
    SavedPlan,
    check_fresh,
    check_org,
    load_for,
    planned_scope,
)
from tallyform.engine.planner import ChangedScope
from tallyform.engine.safety import raise_if_blocked, raise_if_unsafe
from tallyform.engine.session import Note, changed_scope, load_repo, plan_for
from tallyform.errors import TallyformError
from tallyform.model import Template
from tallyform.model.changes import Change, Plan
from tallyform.parallel import DEFAULT_WORKERS

Progress = Callable[[Change], None]


class LeaseLost(TallyformError):
    """The org's lock stopped being this apply's while it ran: no new change was started."""


@dataclass(frozen=True)
class ApplyRequest:
    """What ``apply`` was asked to do (its command line)."""

    planfile: Path | None = None
    org_name: str | None = None
    only: tuple[str, ...] = ()
    changed_since: str | None = None
    allow_delete: bool = False
    force: bool = False
    lock_timeout: float = 0.0
    break_lock: bool = False
    parallelism: int = DEFAULT_WORKERS  # requests at once, reading the org and applying


class ApplyHooks(Protocol):
    """What apply tells and asks the user, and how it learns of Ctrl-C."""

    @property
    def stop(self) -> threading.Event:
        """Set when no new change may start (the first Ctrl-C)."""

    @property
    def lock(self) -> LockHooks:
        """What the org's lock says on the way (its ``lost`` is apply's own)."""

    def arm(self) -> None:
        """From now on, Ctrl-C stops new changes instead of ending the command."""

    def no_changes(self, plan: Plan) -> None:
        """The org matches the repository (``plan`` is empty, but for its warnings)."""

    def show_plan(self, plan: Plan) -> None:
        """The plan, before asking (not for a saved plan: it was shown when saved)."""

    def confirm(self) -> None:
        """Ask before the first change; raise to refuse."""

    def progress(self, total: int, stats: ClientStats) -> AbstractContextManager[Progress]:
        """What is called as each of the ``total`` changes is done, for the block (``stats``:
        the client's, for the time waited for the rate limit)."""

    def report(self, report: ApplyReport, stats: ClientStats, writes: int) -> None:
        """What was and was not done, with the ``writes`` it took and the client's ``stats``."""


@dataclass(frozen=True)
class PreparedApply:
    """What apply knows before it connects: the project, the org, the repository's
    templates, the saved plan (if any) and the templates to plan."""

    project: Project
    org: OrgSettings
    templates: list[Template]
    saved: SavedPlan | None
    only: tuple[str, ...]
    changed: ChangedScope | None
    request: ApplyRequest


def prepare_apply(project: Project, request: ApplyRequest, note: Note) -> PreparedApply:
    """Read the saved plan and the repository; a damaged plan file, or problems in the
    repository, end apply here."""
    saved = load_for(request.planfile, request.org_name) if request.planfile else None
    only = planned_scope(saved, request.only)
    org, templates = load_repo(project, request.org_name or (saved.org if saved else None))
    changed = changed_scope(project, org, request.changed_since, note)
    return PreparedApply(project, org, templates, saved, only, changed, request)


def carry_out(run: PreparedApply, client: TallyfyClient, hooks: ApplyHooks) -> ApplyReport | None:
    """Plan again under the org's lock and carry the plan out; the report (None when
    there was nothing to do). Raises :class:`LeaseLost` when the lock was lost meanwhile
    (after the report)."""
    request, project, saved = run.request, run.project, run.saved
    if saved is not None:
        check_org(saved, run.org.name, client.org_id, request.planfile)
    lost: list[str] = []

    def lease_lost(why: str) -> None:  # the lock is no longer ours: stop writing
        lost.append(why)
        hooks.stop.set()

    lock_hooks = dataclasses.replace(hooks.lock, lost=lease_lost)
    with org_lock(
        client, run.org, project.root, request.lock_timeout, request.break_lock, lock_hooks
    ):
        workers = request.parallelism
        plan = plan_for(
            project, client, run.org, run.templates, run.only, run.changed, workers
        ).plan
        assert plan is not None
        raise_if_blocked(plan)
        if saved is not None:
            check_fresh(saved, plan)
        if plan.empty:
            hooks.no_changes(plan)
            return None
        if saved is None:
            hooks.show_plan(plan)
        raise_if_unsafe(
            plan,
            project.max_delete_share,
            project.delete_share_minimum,
            request.allow_delete,
            request.force,
        )
        if saved is None:
            hooks.confirm()
        before = client.stats.writes
        hooks.arm()
        with hooks.progress(len(plan.changes), client.stats) as progress:
            report = apply_plan(client, plan, progress, hooks.stop, workers)
        hooks.report(report, client.stats, client.stats.writes - before)
    if lost:
        raise LeaseLost(
            f"{lost[0]}; another apply may have taken the org's lock, so no new change was "
            f"started. Run `tallyform apply --org {run.org.name}` again to finish."
        )
    return report


__all__ = ["ApplyHooks", "ApplyRequest", "LeaseLost", "PreparedApply", "carry_out", "prepare_apply"]
