"""One command's work on a project and an org, before anything is written: the
repository's templates, what ``--changed-since`` covers, what ``tallyform probe`` learned
of the org, and the plan.

``plan``, ``apply`` and ``export`` start the same way; here is that way, once. Problems in
the user's files end the command as :class:`ProblemsFound` (each at its file and line, for
the command line to print); notes for the user go to the ``note`` callback given.

How many requests may be under way at once is decided here, not by the client: a
command's ``--parallelism`` (:data:`~tallyform.parallel.DEFAULT_WORKERS` without one) is
handed to every read and write that can run side by side.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tallyform.client import TallyfyClient
from tallyform.config import OrgSettings, Problem, load_templates
from tallyform.config.changed import GitError, changed_templates
from tallyform.config.drift import drifted
from tallyform.config.project import CONFIG_NAME, Project
from tallyform.engine.planner import ChangedScope, PlanResult, make_plan
from tallyform.errors import TallyformError
from tallyform.model import Template
from tallyform.model.changes import Plan
from tallyform.parallel import DEFAULT_WORKERS
from tallyform.tallyfy.probe import Readings, readings_from

Note = Callable[[str], None]  # a line for the user, beside the command's output


class ProblemsFound(TallyformError):
    """Problems in the user's files (or people the org does not know): each is reported at
    its place, and the command ends with exit 1."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the repository")
        self.problems = problems


class ChangedSinceError(TallyformError):
    """git cannot tell what changed since the ``--changed-since`` reference."""


def load_repo(project: Project, org_name: str | None) -> tuple[OrgSettings, list[Template]]:
    """The org's settings and the repository's templates, read for that org."""
    org = project.org(org_name)
    templates, problems = load_templates(project, org)
    if problems:
        raise ProblemsFound(problems)
    return org, templates


def changed_scope(
    project: Project, org: OrgSettings, ref: str | None, note: Note
) -> ChangedScope | None:
    """What ``--changed-since REF`` covers; None for a plan of every template."""
    if ref is None:
        return None
    try:
        changed = changed_templates(project, ref, org)
    except GitError as error:
        raise ChangedSinceError(f"--changed-since {ref}: {error}") from None
    if changed.everything:
        note(
            f"Note: {CONFIG_NAME} changed since {ref} (or a changed template file does not "
            "load), so every template is planned."
        )
        return None
    return ChangedScope(ref, changed.titles)


PROBE_ANSWERS = Path(".tallyform") / "probe"  # beside tallyform.yaml: ORG.json per org


def answers_path(project: Project, org: OrgSettings) -> Path:
    """Where ``tallyform probe`` keeps its answers for ``org``."""
    return project.root / PROBE_ANSWERS / f"{org.name}.json"


def org_readings(project: Project, org: OrgSettings, org_id: str) -> Readings:
    """What tallyform does differently in the org: what ``tallyform probe`` learned of it
    (defaults without a probe), with tallyform.yaml's ``applies_to`` winning."""
    try:
        document = json.loads(answers_path(project, org).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        document = None
    readings = readings_from(document, org_id)
    readings.applies_to = {**readings.applies_to, **org.applies_to}
    return readings


def plan_for(
    project: Project,
    client: TallyfyClient,
    org: OrgSettings,
    templates: list[Template],
    only: tuple[str, ...],
    changed: ChangedScope | None = None,
    workers: int = DEFAULT_WORKERS,
) -> PlanResult:
    """Read the org (``workers`` requests at once) and plan, the plan marking the
    templates that may have drifted."""
    readings = org_readings(project, org, client.org_id)
    result = make_plan(
        client,
        org.name,
        templates,
        list(only) or None,
        readings.applies_to,
        changed,
        clears_with_empty=readings.clears_with_empty,
        builds_nested_steps=readings.builds_nested_steps,
        workers=workers,
    )
    if result.plan is None:
        raise ProblemsFound(result.problems)
    note_drift(project, templates, result.plan)
    return result


def note_drift(project: Project, templates: list[Template], plan: Plan) -> None:
    """Mark the templates whose changes may come from edits in Tallyfy (:mod:`tallyform.config.drift`)."""
    live = {
        key: seen.last_updated
        for key, changes in plan.by_template().items()
        if (seen := plan.snapshots.get(key)) is not None and seen.id
        if any(c.action not in ("archive", "restore") for c in changes)
    }
    files = {t.key: Path(t.origin.locate().file) for t in templates if t.origin is not None}
    found = drifted(project.templates_dir, live, files)
    plan.drift = {key: drift.note() for key, drift in found.items()}


__all__ = [
    "ChangedSinceError",
    "ProblemsFound",
    "answers_path",
    "changed_scope",
    "load_repo",
    "note_drift",
    "org_readings",
    "plan_for",
]
