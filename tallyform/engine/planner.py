"""Making a plan: read the live org, check the declared people exist, match, diff.

The steps, in order:

1. read the org (people, tags, folders, custom-field keys, the template list, the
   archived templates);
2. check every email and group name in the repo against the org (unknown ones are
   problems at their file and line; nothing more is read);
3. pick the live templates tallyform owns or may adopt, and read each whole;
4. list what the org lacks first (the ``tallyform_key`` custom fields, folders, tags),
   then normalise both sides and list each template's changes in apply's order;
5. note live objects that share a key (conflicts: nothing may be applied) and what was
   seen of each live template, so a saved plan can be checked before it is applied.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tallyform.client import TallyfyClient
from tallyform.collector import collector_paused
from tallyform.config.source import Problem
from tallyform.config.suggest import closest
from tallyform.engine.compose import org_wide_changes, template_changes, undetachable_tags
from tallyform.model import Assignees, Origin, Template
from tallyform.model.changes import Change, Plan, Snapshot
from tallyform.model.kinds import Action, Kind
from tallyform.model.state import TemplateState, desired_state
from tallyform.parallel import DEFAULT_WORKERS
from tallyform.tallyfy.decode import archived_with_key, live_state, match_templates
from tallyform.tallyfy.folders import duplicate_folders
from tallyform.tallyfy.read import LiveOrg, ensure_keys_listed, read_all_whole, read_org

log = logging.getLogger("tallyform.engine")

KIND_NAMES = {
    "template": "templates",
    "step": "steps",
    "field": "form fields",
    "kickoff": "kick-off fields",
    "ids": "template id maps",
}  # how the plan names each record kind's tallyform_key


@dataclass(frozen=True)
class ChangedScope:
    """The templates a ``--changed-since`` plan covers: key -> titles, and the git ref."""

    ref: str
    titles: dict[str, tuple[str, ...]]


@dataclass
class PlanResult:
    plan: Plan | None
    problems: list[Problem]
    states: dict[str, tuple[TemplateState | None, TemplateState | None]]  # key -> (desired, live)
    org: LiveOrg | None = None


def selected(key: str, only: Iterable[str] | None) -> bool:
    patterns = list(only or [])
    return not patterns or any(fnmatch.fnmatchcase(key, p) for p in patterns)


def _people_in(
    template: Template,
) -> Iterator[tuple[Assignees, Origin | None, tuple[str | int, ...]]]:
    yield template.access, template.origin, ("access",)
    for step in template.steps:
        yield step.assignees, step.origin, ("assignees",)
    for rule in template.rules:
        for index, action in enumerate(rule.then):
            yield action.assignees, rule.origin, ("then", index, "assignees")


def unknown_people(templates: list[Template], org: LiveOrg) -> list[Problem]:
    """Every member email and group name that the org does not have, at its file and line."""
    emails = set(org.users.values())
    groups = set(org.groups.values())
    problems = []
    for template in templates:
        for people, origin, path in _people_in(template):
            if origin is None:
                continue
            for index, email in enumerate(people.users):
                if email.lower() not in emails:
                    problems.append(
                        Problem(
                            origin.locate(*path, "users", index),
                            f"no member with the email {email} in this org; invite them first or fix the address",
                        )
                    )
            for index, name in enumerate(people.groups):
                if name not in groups:
                    known = ", ".join(sorted(groups)) or "none"
                    problems.append(
                        Problem(
                            origin.locate(*path, "groups", index),
                            f"no group called '{name}' in this org (groups: {known})",
                        )
                    )
    return sorted(problems)


def _org_wide(org: LiveOrg, templates: list[Template]) -> list[Change]:
    return org_wide_changes(
        org.missing_key_kinds,
        KIND_NAMES,
        [t.folder for t in templates if t.folder],
        lambda path: org.folder_id(path) is not None,
        [tag for t in templates for tag in t.tags],
        lambda title: org.tag_id(title) is not None,
    )


def make_plan(
    client: TallyfyClient,
    org_name: str,
    templates: list[Template],
    only: list[str] | None = None,
    applies_to: dict[str, str] | None = None,
    changed: ChangedScope | None = None,
    clears_with_empty: bool = True,
    builds_nested_steps: bool = False,
    workers: int = DEFAULT_WORKERS,
) -> PlanResult:
    """The plan that makes the org match ``templates`` (restricted to ``only`` globs).

    ``applies_to`` overrides the custom-field ``applies_to`` value of a record kind.
    ``clears_with_empty`` False (the org's probe found an empty string clears nothing)
    makes each value the plan would clear a reason it cannot be applied.
    ``builds_nested_steps`` (the org's probe found that a template's create builds the
    steps nested in it) plans each new template as one POST carrying its steps and form
    fields, keyed by the template's map of its children.
    ``changed`` restricts the plan to the templates changed since a git ref, which are
    looked for by title instead of reading the whole template list (``--changed-since``).
    ``workers``: how many requests the reads may have under way at once.
    The cyclic garbage collector is paused meanwhile (:mod:`tallyform.collector`).
    """
    with collector_paused():
        result = _make_plan(
            client, org_name, templates, only, applies_to, changed, builds_nested_steps, workers
        )
    if result.plan is not None:  # what apply needs, carried by the plan itself
        result.plan.states, result.plan.reading = result.states, result.org
    if result.plan is not None and not clears_with_empty:
        result.plan.blockers += unclearable(result.plan.changes)
    return result


def _make_plan(
    client: TallyfyClient,
    org_name: str,
    templates: list[Template],
    only: list[str] | None,
    applies_to: dict[str, str] | None,
    changed: ChangedScope | None,
    builds_nested_steps: bool = False,
    workers: int = 1,
) -> PlanResult:
    if changed is not None and not changed.titles:
        nothing = Plan(org=org_name, org_id=client.org_id, partial=True)
        nothing.warnings.append(f"no template file changed since {changed.ref}")
        return PlanResult(nothing, [], {}, LiveOrg())
    if changed is not None:
        only = sorted(changed.titles)
    search = changed.titles if changed is not None else None
    org = read_org(client, applies_to, search, workers)
    chosen = [t for t in templates if selected(t.key, only)]
    problems = unknown_people(chosen, org)
    if problems:
        return PlanResult(None, problems, {}, org)
    ensure_keys_listed(client, org, workers)
    declared = {t.key: t for t in chosen}
    plan = Plan(org=org_name, org_id=client.org_id, partial=bool(only), only=list(only or []))
    every_match = match_templates(org, {k: t.title for k, t in declared.items()}, plan.conflicts)
    matched = [row for row in every_match if selected(row[0], only)]
    records = read_all_whole(client, [row[1] for row in matched], workers)
    conflicted = {c.key for c in plan.conflicts}  # templates: nothing is planned for them
    plan.changes = _org_wide(org, chosen)
    states: dict[str, tuple[TemplateState | None, TemplateState | None]] = {}
    live_by_key: dict[str, TemplateState] = {}
    desired = {key: desired_state(template) for key, template in declared.items()}
    for (key, _, how), record in zip(matched, records, strict=True):
        live_by_key[key] = live_state(record, key, how, org, desired.get(key))
        plan.conflicts += live_by_key[key].conflicts
        if live_by_key[key].conflicts:
            conflicted.add(key)
        plan.snapshots[key] = Snapshot(record.id, record.last_updated, record)
    for key in [*declared, *(k for k in live_by_key if k not in declared)]:
        wanted = desired.get(key)
        found = live_by_key.get(key)
        states[key] = (wanted, found)
        title = wanted.attrs["title"] if wanted is not None else None
        archived = archived_with_key(org, key, title) if found is None else None
        if key not in conflicted:
            plan.changes += template_changes(wanted, found, archived, builds_nested_steps)
        if found is not None:
            plan.warnings += [
                f"template {key}: the tag '{title}' should be detached, but Tallyfy's answer "
                "gives no id for that attachment, so tallyform leaves it (a guessed id could "
                "detach another template's tag); remove it in Tallyfy"
                for title in undetachable_tags(wanted, found)
            ]
        if found is None:
            plan.snapshots[key] = Snapshot()
    explain_renamed_templates(plan.changes)
    plan.warnings += duplicate_folders(org)
    if changed is not None:
        plan.warnings.append(
            f"this plan covers only the {len(changed.titles)} template(s) whose files changed "
            f"since {changed.ref}; other changes may be pending"
        )
    elif only:
        plan.warnings.append(
            "this plan covers only templates matching "
            + ", ".join(only)
            + "; other changes may be pending"
        )
        known = {t.key for t in templates} | {row[0] for row in every_match}
        plan.warnings += unmatched_only(only, known)
    return PlanResult(plan, [], states, org)


EMPTY: tuple[Any, ...] = (None, "", [], {})


def unclearable(changes: list[Change]) -> list[str]:
    """Why a plan cannot be applied in an org where an empty string does not clear a value
    (``tallyform probe`` found it so): each value the plan would clear."""
    return [
        f"{change.kind} {change.name}: {attribute.name} would be cleared, and this org does "
        "not clear a value sent as an empty string (tallyform probe found so). Clear it in "
        "Tallyfy first, or keep a value in the YAML."
        for change in changes
        if change.action is Action.UPDATE
        and change.kind in (Kind.TEMPLATE, Kind.STEP, Kind.FIELD, Kind.KICKOFF)
        for attribute in change.attributes
        if attribute.new is None and attribute.old not in EMPTY
    ]


SHOWN_KEYS = 8  # known keys listed when an --only pattern matches none


def unmatched_only(only: list[str], known: set[str]) -> list[str]:
    """A warning for each --only pattern that matches no template key, declared or live."""
    listed = sorted(known)[:SHOWN_KEYS]
    keys = ", ".join(listed) + (", ..." if len(known) > SHOWN_KEYS else "")
    return [
        f"--only '{pattern}' matches no template in the repository or the org "
        + _meant(pattern, known)
        + (f"(template keys: {keys})" if known else "(there are no templates)")
        for pattern in only
        if not any(fnmatch.fnmatchcase(key, pattern) for key in known)
    ]


def _meant(pattern: str, known: set[str]) -> str:
    """``did you mean 'x'?`` for a pattern that is a known key misspelt (the same
    suggestions as validate's, :mod:`tallyform.config.suggest`)."""
    hint = closest(pattern, sorted(known))
    return f"(did you mean '{hint}'?) " if hint else ""


def explain_renamed_templates(changes: list[Change]) -> None:
    """A template archived and another created whose key came from its file name is most
    likely a renamed file: say on the create how to keep the template."""
    # Sorted: the changes come in the org's order (last updated first), which is a matter
    # of timing when an apply wrote them in parallel.
    archived = sorted(c.path[0] for c in changes if c.archives_template)
    if not archived:
        return
    for change in changes:
        source = getattr(change.desired, "source", None)
        if not change.creates_template or source is None:
            continue
        if source.key_written:
            continue
        key = change.path[0]
        if len(archived) == 1:
            keep = f"if it replaces '{archived[0]}', add `key: {archived[0]}`"
        else:
            names = ", ".join(f"'{k}'" for k in sorted(archived))
            keep = f"if it replaces one of {names}, add `key:` with that template's key"
        change.note = (
            f"its key '{key}' comes from its file name; {keep} "
            "to keep that template, its ids and history"
        )


__all__ = ["ChangedScope", "PlanResult", "make_plan", "selected"]
