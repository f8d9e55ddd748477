"""Plans as text for a terminal, in the manner of Terraform: + create, ~ update, - delete."""

from __future__ import annotations

from tallyform.model.changes import Change, Plan
from tallyform.render.common import (
    SYMBOLS,
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
ANNOUNCED = ("delete", "reorder", "move", "archive", "restore")  # said in words on the head line


def _change_lines(change: Change, depth: int, style: Styler) -> list[str]:
    pad = INDENT * depth
    symbol = style(SYMBOLS[change.action], role(change.action))
    head = f"{pad}{symbol} {subject(change)}"
    if change.action in ANNOUNCED or change.kind in ("template", "tagging", "folder", "tag"):
        head += style(f" will be {verb(change)}", "dim")
    lines = [head]
    if change.note:
        lines.append(f"{pad}{INDENT}" + style(f"# {change.note}", "dim"))
    attributes = shown_attributes(change)
    width = max((len(a.name) for a in attributes), default=0)
    for attribute in attributes:
        name = attribute.name.ljust(width)
        if change.action == "create":
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


def template_lines(key: str, changes: list[Change], style: Styler) -> list[str]:
    own = next((c for c in changes if c.kind == "template"), None)
    rest = [c for c in changes if c is not own]
    if own is None:
        header = f'{style("~", "update")} template "{key}"' + style(
            " will be updated in place", "dim"
        )
        lines = [f"  {header}"]
    else:
        lines = ["  " + line for line in _change_lines(own, 0, style)]
    for change in rest:
        lines += ["  " + line for line in _change_lines(change, 1, style)]
    return lines


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
            out.append(style("No changes.", "bold") + " The org matches the repository.")
        return "\n".join(out) + "\n"
    org = org_lines(plan.org_changes(), style)
    if org:
        out += [*org, ""]
    for key, changes in plan.by_template().items():
        out += template_lines(key, changes, style)
        out.append("")
    out.append(style(summary_line(plan), "bold"))
    out += [style(line, "warn") for line in need_lines(plan)]
    return "\n".join(out) + "\n"
