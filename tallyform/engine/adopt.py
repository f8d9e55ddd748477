"""Adopting what ``tallyform export`` wrote, as ``terraform import`` records what it
imports: writing the ``tallyform_key`` of every exported object that has none yet (and
defining tallyform's custom fields if the org lacks them), and nothing else, under the
org's apply lock. So a plan right after an export shows no changes.

Nothing here prints: :class:`Adoption` says what was done, and ``differs`` is told, before
any write, of each change a plan would still make (a bug: the file and the org should
mean the same).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tallyform.client import TallyfyClient
from tallyform.config import OrgSettings, Problem, Project
from tallyform.engine.apply import ApplyReport, apply_plan
from tallyform.engine.locking import LockHooks, org_lock
from tallyform.engine.planner import make_plan
from tallyform.engine.session import org_readings
from tallyform.model import Template
from tallyform.model.changes import Change
from tallyform.model.kinds import Action, Kind
from tallyform.parallel import DEFAULT_WORKERS


@dataclass
class Adoption:
    """What adopting found and did: ``problems`` (nothing adopted), the key ``writes`` it
    takes, and the ``report`` of carrying them out (None: a dry run, or nothing to do)."""

    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    report: ApplyReport | None = None

    @property
    def writes(self) -> int:
        return sum(c.writes for c in self.changes)

    @property
    def objects(self) -> int:
        """Objects that get their key (the key definitions are not objects of the user's)."""
        return sum(1 for c in self.changes if c.kind is not Kind.KEY)

    @property
    def done(self) -> int:
        return sum(1 for c in self.report.done if c.kind is not Kind.KEY) if self.report else 0


def adoption_changes(changes: list[Change]) -> tuple[list[Change], list[Change]]:
    """The changes that only write tallyform's keys (definitions and values), and the rest."""
    adopt = [
        c
        for c in changes
        if (c.kind is Kind.KEY and c.action is Action.CREATE)
        or (c.action is Action.UPDATE and not c.changes_more_than("key"))
    ]
    return adopt, [c for c in changes if c not in adopt]


def adopt(
    client: TallyfyClient,
    org: OrgSettings,
    project: Project,
    templates: list[Template],
    dry_run: bool,
    differs: Callable[[Change], None],
    lock: LockHooks,
    stop: threading.Event,
    arm: Callable[[], None] = lambda: None,
    workers: int = DEFAULT_WORKERS,
) -> Adoption | None:
    """Write the tallyform keys the ``templates`` (as exported) lack in the org; a dry run
    writes nothing, not even the lock. None when there is nothing to adopt. ``arm`` is called before the first write (Ctrl-C
    then sets ``stop``: no new write starts). ``workers``: requests at once."""
    keys = [t.key for t in templates]
    if not keys:
        return None
    held = (
        contextlib.nullcontext()
        if dry_run
        else org_lock(client, org, project.root, 0.0, False, lock)
    )
    with held:
        applies_to = org_readings(project, org, client.org_id).applies_to
        result = make_plan(client, org.name, templates, keys, applies_to, workers=workers)
        if result.plan is None:
            return Adoption(problems=result.problems)
        changes, other = adoption_changes(result.plan.changes)
        for change in other:
            differs(change)
        adoption = Adoption(changes=changes)
        if not changes or dry_run:
            return adoption
        result.plan.changes = changes
        arm()
        adoption.report = apply_plan(client, result.plan, stop=stop, workers=workers)
    return adoption


__all__ = ["Adoption", "adopt", "adoption_changes"]
