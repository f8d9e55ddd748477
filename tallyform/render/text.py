"""Plans as text for a terminal, in the manner of Terraform: + create, ~ update, - delete."""

from __future__ import annotations

from collections.abc import Callable

from tallyform.model.changes import Change, Plan
from tallyform.model.kinds import Action, Kind
from tallyform.render.common import (
    Styler,
    item_lines,
    need_lines,
    plain,
    role,
    setup_text,
    shown_attributes,
    subject,
    summary_line,
    value,
    verb,
)

INDENT = "    "
# Said in words on the head line (every change of the kinds in SAID_KINDS too).
ANNOUNCED = (Action.DELETE, Action.REORDER, Action.MOVE, Action.ARCHIVE, Action.RESTORE)
SAID_KINDS = (Kind.TEMPLATE, Kind.TAGGING, Kind.FOLDER, Kind.TAG)


def _change_lines(change: Change, depth: int, style: Styler, nested: bool = False) -> list[str]:
    pad = INDENT * depth
    symbol = style(change.action.symbol, role(change.action))
    head = f"{pad}{symbol} {subject(change)}"
    if change.action in ANNOUNCED or change.kind in SAID_KINDS:
        head += style(f" will be {verb(change)}", "dim")
    lines = [head]
    if change.note:
        lines.append(f"{pad}{INDENT}" + style(f"# {change.note}", "dim"))
    attributes = shown_attributes(change)
    if nested and change.action is Action.CREATE:  # shown under its step: no need to name it
        attributes = [a for a in attributes if a.name != "step"]
    width = max((len(a.name) for a in attributes), default=0)
    for attribute in attributes:
        name = attribute.name.ljust(width)
        if change.action is Action.CREATE:
            lines.append(f"{pad}{INDENT}{name} = {value(attribute.new)}")
            continue
        if attribute.items:
            lines.append(f"{pad}{INDENT}{name}:")
            lines += [f"{pad}{INDENT}{INDENT}{line}" for line in item_lines(attribute)]
            continue
        lines.append(f"{pad}{INDENT}{name} = {value(attribute.old)} -> {value(attribute.new)}")
    return lines


def org_lines(changes: list[Change], style: Styler) -> list[str]:
    """The org-wide changes (keys, folders, tags) under one heading."""
    if not changes:
        return []
    lines = ["  " + style("org", "bold")]
    for change in changes:
        lines += ["  " + line for line in _change_lines(change, 1, style)]
    return lines


def template_lines(key: str, changes: list[Change], style: Styler, drift: str = "") -> list[str]:
    own = next((c for c in changes if c.kind is Kind.TEMPLATE), None)
    rest = [c for c in changes if c is not own]
    if own is None:
        header = f'{style("~", "update")} template "{key}"' + style(
            " will be updated in place", "dim"
        )
        lines = [f"  {header}"]
    else:
        lines = ["  " + line for line in _change_lines(own, 0, style)]
    if drift:
        lines.insert(1, "  " + INDENT + style(f"# drift: {drift}", "warn"))
    for change, depth in in_file_order(rest):
        if isinstance(change, str):  # a step that does not change, over its fields that do
            lines.append("  " + INDENT + f'  step "{change}"' + style(" (unchanged)", "dim"))
            continue
        lines += ["  " + line for line in _change_lines(change, depth, style, depth > 1)]
    return lines


def field_step(change: Change) -> str | None:
    """The step a form field's change shows under (None: not a form field, or unknown)."""
    if change.kind is not Kind.FIELD:
        return None
    if change.action is Action.REORDER:
        return change.path[1]
    if change.step is not None:
        return change.step
    moved = change.attribute("step")
    return str(moved.new) if moved is not None and moved.new else None


def _step_rank(
    changes: list[Change], heads: dict[str, Change], seen: list[str]
) -> Callable[[tuple[str, list[Change]]], tuple[int, int]]:
    """Where a step's group goes: in the file's order of steps when the plan reorders them
    (it then holds that order), else where the plan first names it, new steps after the
    others (Tallyfy appends them, so with no reorder they are last in the file too), and
    steps to delete last."""
    reorder = next((c for c in changes if c.kind is Kind.STEP and c.action is Action.REORDER), None)
    order = reorder.attribute("order") if reorder is not None else None
    wanted = [str(k) for k in order.new] if order is not None and order.new else []

    def rank(group: tuple[str, list[Change]]) -> tuple[int, int]:
        key = group[0]
        if key in wanted:
            return 0, wanted.index(key)
        action = heads[key].action if key in heads else Action.UPDATE
        return {Action.CREATE: 1, Action.DELETE: 2}.get(action, 0), seen.index(key)

    return rank


def in_file_order(changes: list[Change]) -> list[tuple[Change | str, int]]:
    """A template's changes (its own left out) in the order its file reads, each with its
    depth: kick-off fields, then each step with its form fields under it, then the rest
    (rules, the order of steps, tags). A step that does not change but has fields that do
    appears as its key. Apply's order is another (see :mod:`tallyform.engine.compose`)."""
    kickoff = [c for c in changes if c.kind is Kind.KICKOFF]
    steps: dict[str, list[Change]] = {}
    heads: dict[str, Change] = {}
    rest: list[Change] = []
    for change in changes:
        if change.kind is Kind.STEP and change.action is not Action.REORDER:
            steps.setdefault(change.path[-1], [])
            heads[change.path[-1]] = change
        elif (step := field_step(change)) is not None:
            steps.setdefault(step, []).append(change)
        elif change.kind is not Kind.KICKOFF:
            rest.append(change)
    ordered: list[tuple[Change | str, int]] = [(c, 1) for c in kickoff]
    for key, fields in sorted(steps.items(), key=_step_rank(changes, heads, list(steps))):
        ordered.append((heads.get(key, key), 1))
        ordered += [(c, 2) for c in fields]
    return ordered + [(c, 1) for c in rest]


def render_text(plan: Plan, style: Styler = plain) -> str:
    out = [style(f'tallyform plan for org "{plan.org}" ({plan.org_id})', "bold"), ""]
    for warning in plan.warnings:
        out += [style(f"Warning: {warning}", "warn"), ""]
    for conflict in plan.conflicts:
        out += [style(f"Conflict: {conflict.message()}", "warn"), ""]
    for blocker in plan.blockers:
        out += [style(f"Cannot apply: {blocker}", "warn"), ""]
    if plan.setup:
        out += [style("Setup: ", "bold") + setup_text(plan), ""]
    if not plan.changes:
        if not plan.conflicts:
            out.append(style("No changes.", "bold") + f" {plan.matched_words}")
        return "\n".join(out) + "\n"
    org = org_lines(plan.org_changes(), style)
    if org:
        out += [*org, ""]
    for key, changes in plan.by_template().items():
        out += template_lines(key, changes, style, plan.drift.get(key, ""))
        out.append("")
    out.append(style(summary_line(plan), "bold"))
    out += [style(line, "warn") for line in need_lines(plan)]
    return "\n".join(out) + "\n"
