"""Plans as Markdown for a pull-request comment: a summary table, then one folded section per template.

The comment stays under a size limit (60,000 characters by default; GitHub refuses
comments over 65,536): when it would not, the largest templates' details are cut, each
replaced by a line saying what was left out.
"""

from __future__ import annotations

from tallyform.engine.changes import Change, Plan
from tallyform.render.common import SUMMARY_ACTIONS, setup_text
from tallyform.render.text import org_lines, template_lines

DEFAULT_LIMIT = 60_000


def _counts(changes: list[Change]) -> str:
    parts = []
    for action in ("create", "update", "move", "delete", "reorder", "archive", "restore"):
        count = sum(1 for c in changes if c.action == action)
        if count:
            parts.append(f"{count} to {action}")
    return ", ".join(parts)


def _section(key: str, changes: list[Change]) -> str:
    lines = template_lines(key, changes, lambda text, role: text)
    diff = "\n".join(_diff_line(line) for line in lines)
    return f"<details><summary><code>{key}</code>: {_counts(changes)}</summary>\n\n```diff\n{diff}\n```\n\n</details>\n"


def _diff_line(line: str) -> str:
    """Move a line's symbol to column 0 so a diff block colours it (~ becomes !)."""
    stripped = line.lstrip()
    indent = " " * (len(line) - len(stripped))
    if stripped[:2] in ("+ ", "- ", "~ "):
        marker = "!" if stripped[0] == "~" else stripped[0]
        return marker + indent + stripped[1:]
    return " " + line


def _cut(key: str, changes: list[Change]) -> str:
    return (
        f"<details><summary><code>{key}</code>: {_counts(changes)}</summary>\n\n"
        f"Details left out to keep this comment short ({len(changes)} changes). "
        "Run `tallyform plan` to see them.\n\n</details>\n"
    )


def _table(plan: Plan) -> list[str]:
    counts = plan.summary()
    shown = [a for a in counts if a in SUMMARY_ACTIONS or counts[a]]
    return [
        "| " + " | ".join(a.capitalize() for a in shown) + " | Writes |",
        "|" + "---:|" * (len(shown) + 1),
        "| " + " | ".join(str(counts[a]) for a in shown) + f" | {plan.writes} |",
        "",
    ]


def render_markdown(plan: Plan, limit: int = DEFAULT_LIMIT) -> str:
    head = [f"### tallyform plan for `{plan.org}`", ""]
    for warning in plan.warnings:
        head += [f"> **Warning:** {warning}", ""]
    for conflict in plan.conflicts:
        head += [f"> **Conflict:** {conflict.message()}", ""]
    if plan.setup:
        head += [f"> **Setup:** {setup_text(plan)}", ""]
    if not plan.changes:
        if plan.conflicts:
            return "\n".join(head)
        return "\n".join([*head, "**No changes.** The org matches the repository.", ""])
    head += _table(plan)
    org = org_lines(plan.org_changes(), lambda text, role: text)
    if org:
        diff = "\n".join(_diff_line(line) for line in org)
        head += [
            f"<details><summary>org: {_counts(plan.org_changes())}</summary>\n\n```diff\n{diff}\n```\n\n</details>",
            "",
        ]
    grouped = plan.by_template()
    sections = {key: _section(key, changes) for key, changes in grouped.items()}
    top = "\n".join(head) + "\n"

    def size() -> int:
        return len(top) + sum(len(s) + 1 for s in sections.values())

    cut = 0
    for key in sorted(sections, key=lambda k: len(sections[k]), reverse=True):
        if size() <= limit:
            break
        sections[key] = _cut(key, grouped[key])
        cut += 1
    note = (
        f"\n_{cut} template section(s) shortened to stay under {limit:,} characters._\n"
        if cut
        else ""
    )
    return top + "\n".join(sections.values()) + note
