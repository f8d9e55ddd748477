"""Plans as Markdown for a pull-request comment: a summary, then one folded section per template.

The summary says how many templates change and, for each action, how many objects and how
many templates it touches. The first :data:`FULL_TEMPLATES` (20) templates with changes,
in plan order, get a folded section each with every change as a diff; a bigger plan lists
the others in one folded table (template, and its count of each action) instead of
hundreds of sections, which a reviewer could not read anyway.

The comment stays under a size limit (60,000 characters by default; GitHub refuses
comments over 65,536, and the CI workflows add a few lines of their own). When it would
not fit, the largest sections lose their details first (each then says how many changes
it holds), then the table loses its last rows, and a closing line says what was left out
and how to see everything.

A plan made in this run (given its ``states``) also folds into each template whose rules
change a Mermaid diagram of its flow before and after (:mod:`.flow`); diagrams are the
first thing left out when the comment would be too long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tallyform.model.changes import Change, Plan, count_actions
from tallyform.model.kinds import ACTIONS, Action
from tallyform.render.common import SUMMARY_ACTIONS, setup_text
from tallyform.render.flow import States, diagram_markdown, plan_diagrams
from tallyform.render.text import org_lines, template_lines

DEFAULT_LIMIT = 60_000
FULL_TEMPLATES = 20  # templates shown change by change; the rest are one table row each
NOTE_ROOM = 500  # characters kept free for the line saying what was left out
GITHUB_LIMIT = 65_536


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _counts(changes: list[Change]) -> str:
    counts = count_actions(changes)
    return ", ".join(f"{n} to {action}" for action, n in counts.items() if n)


def _diff_line(line: str) -> str:
    """Move a line's symbol to column 0 so a diff block colours it (~ becomes !)."""
    stripped = line.lstrip()
    indent = " " * (len(line) - len(stripped))
    if stripped[:2] in ("+ ", "- ", "~ "):
        marker = "!" if stripped[0] == "~" else stripped[0]
        return marker + indent + stripped[1:]
    return " " + line


def _fenced(lines: list[str]) -> str:
    """A diff block whose fence is longer than any run of backticks inside it, so no
    value in a template can end the block early."""
    body = "\n".join(_diff_line(line) for line in lines)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}diff\n{body}\n{fence}"


@dataclass
class Section:
    """One folded section: its title, its diff, and whether the diff was left out."""

    title: str
    changes: list[Change]
    diff: str
    cut: bool = False
    diagram: str = ""  # the flow before and after, when the rules change

    @property
    def full(self) -> str:
        diagram = f"\n\n{self.diagram}" if self.diagram else ""
        return f"<details><summary>{self.title}</summary>\n\n{self.diff}{diagram}\n\n</details>\n"

    @property
    def short(self) -> str:
        return (
            f"<details><summary>{self.title}</summary>\n\n"
            f"Details left out to keep this comment short ({_plural(len(self.changes), 'change')}). "
            "Run `tallyform plan` to see them.\n\n</details>\n"
        )

    @property
    def text(self) -> str:
        return self.short if self.cut else self.full


def _template_section(
    key: str,
    changes: list[Change],
    diagram: tuple[str | None, str | None] | None = None,
    drift: str = "",
) -> Section:
    lines = template_lines(key, changes, lambda text, role: text, drift)
    flow = diagram_markdown(*diagram) if diagram else ""
    title = f"<code>{key}</code>: {_counts(changes)}" + (
        " (drift: changed in Tallyfy)" if drift else ""
    )
    return Section(title, changes, _fenced(lines), diagram=flow)


def _org_section(changes: list[Change]) -> Section:
    lines = org_lines(changes, lambda text, role: text)
    return Section(f"org: {_counts(changes)}", changes, _fenced(lines))


@dataclass
class Tail:
    """The templates past the first FULL_TEMPLATES: one row each, in a folded table."""

    keys: list[str]
    actions: list[Action]  # the columns: the four main actions, and the others when used
    rows: list[str]

    @classmethod
    def of(cls, grouped: dict[str, list[Change]], keys: list[str]) -> Tail:
        counts = {key: count_actions(grouped[key]) for key in keys}
        actions = [a for a in ACTIONS if a in SUMMARY_ACTIONS or any(c[a] for c in counts.values())]
        rows = [
            f"| `{key}` | " + " | ".join(str(counts[key][a]) for a in actions) + " |\n"
            for key in keys
        ]
        return cls(keys, actions, rows)

    def opening(self) -> str:
        return (
            f"<details><summary>{_plural(len(self.keys), 'more template')} with changes "
            "(counts only)</summary>\n\n"
            "| Template | " + " | ".join(a.capitalize() for a in self.actions) + " |\n"
            "|:---|" + "---:|" * len(self.actions) + "\n"
        )

    CLOSING = "\n</details>\n"

    def text(self, rows: int) -> str:
        if not self.keys:
            return ""
        return self.opening() + "".join(self.rows[:rows]) + self.CLOSING

    def size(self, rows: int) -> int:
        if not self.keys:
            return 0
        return len(self.opening()) + sum(len(r) for r in self.rows[:rows]) + len(self.CLOSING)


def _notes(plan: Plan) -> list[str]:
    lines: list[str] = []
    for warning in plan.warnings:
        lines += [f"> **Warning:** {warning}", ""]
    for conflict in plan.conflicts:
        lines += [f"> **Conflict:** {conflict.message()}", ""]
    for blocker in plan.blockers:
        lines += [f"> **Cannot apply:** {blocker}", ""]
    if plan.setup:
        lines += [f"> **Setup:** {setup_text(plan)}", ""]
    for need in plan.needs:
        lines += [f"> **Apply will need `{need.flag}`:** {need.why}.", ""]
    return lines


def summary(plan: Plan) -> list[str]:
    """How many templates change, and each action's count of objects and of templates."""
    grouped = plan.by_template()
    org_wide = len(plan.org_changes())
    said = f"**{_plural(len(grouped), 'template')}** with changes"
    if org_wide:
        said += f", and {_plural(org_wide, 'org-wide change')} (tallyform keys, folders, tags)"
    said += f": {_plural(plan.writes, 'write')}."
    objects = plan.summary()
    templates = dict.fromkeys(ACTIONS, 0)
    for changes in grouped.values():
        for action in {c.action for c in changes}:
            templates[action] += 1
    shown = [a for a in ACTIONS if a in SUMMARY_ACTIONS or objects[a]]
    return [
        said,
        "",
        "| Action | Objects | Templates |",
        "|:---|---:|---:|",
        *(f"| {a.capitalize()} | {objects[a]} | {templates[a]} |" for a in shown),
        "",
    ]


def _fit(top: str, sections: list[Section], tail: Tail, limit: int) -> str:
    """The comment, shortened if it would be longer than ``limit`` characters."""

    def size(rows: int) -> int:
        return len(top) + sum(len(s.text) + 1 for s in sections) + tail.size(rows)

    rows = len(tail.rows)
    flows = 0  # diagrams left out
    if size(rows) > limit:
        budget = limit - NOTE_ROOM
        for section in sorted(sections, key=lambda s: len(s.diagram), reverse=True):
            if size(rows) <= budget or not section.diagram:
                break
            section.diagram = ""
            flows += 1
        for section in sorted(sections, key=lambda s: len(s.full), reverse=True):
            if size(rows) <= budget:
                break
            section.cut = True
        while rows and size(rows) > budget:
            rows -= 1
    text = top + "\n".join(s.text for s in sections)
    if tail.keys:
        text += "\n" + tail.text(rows)
    note = _shortened_note(sum(s.cut for s in sections), len(tail.rows) - rows, limit, flows)
    if len(text) + len(note) > limit:  # the summary and notes alone are too long
        text = text[: limit - len(note)].rsplit("\n", 1)[0] + "\n"
    return text + note


def _shortened_note(cut: int, unlisted: int, limit: int, flows: int = 0) -> str:
    if not cut and not unlisted and not flows:
        return ""
    left_out = [f"{_plural(flows, 'flow diagram')} left out"] if flows else []
    if cut:
        left_out.append(f"{_plural(cut, 'section')} without details")
    if unlisted:
        left_out.append(f"{_plural(unlisted, 'template')} not listed")
    return (
        f"\n_Shortened to stay under {limit:,} characters (GitHub allows {GITHUB_LIMIT:,} in a "
        f"comment): {' and '.join(left_out)}. Run `tallyform plan`, or `tallyform show` on the "
        "saved plan, to see everything._\n"
    )


def render_markdown(
    plan: Plan,
    limit: int = DEFAULT_LIMIT,
    full_templates: int = FULL_TEMPLATES,
    states: States | None = None,
) -> str:
    head = [f"### tallyform plan for `{plan.org}`", "", *_notes(plan)]
    if not plan.changes:
        if plan.conflicts:
            return "\n".join(head)
        return "\n".join([*head, f"**No changes.** {plan.matched_words}", ""])
    head += summary(plan)
    sections = [_org_section(plan.org_changes())] if plan.org_changes() else []
    grouped = plan.by_template()
    keys = list(grouped)
    diagrams = plan_diagrams(plan, states) if states else {}
    sections += [
        _template_section(key, grouped[key], diagrams.get(key), plan.drift.get(key, ""))
        for key in keys[:full_templates]
    ]
    tail = Tail.of(grouped, keys[full_templates:])
    return _fit("\n".join(head) + "\n", sections, tail, limit)
