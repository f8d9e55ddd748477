"""The flow of each template whose rules a plan changes, drawn before and after.

For the Markdown plan: a template with a rule to create, update or delete gets two Mermaid
diagrams (:func:`tallyform.logic.render_mermaid`): the live template as the org holds it
(read back into a model template the way ``export`` writes it) and the template as the
repository declares it. A new template has only the second; an archived one, neither.
Only a plan made in this run has the states to draw from: a saved plan keeps none, so
``show`` prints no diagrams.
"""

from __future__ import annotations

from collections.abc import Mapping

from tallyform.config.build import build_template
from tallyform.config.source import Document
from tallyform.engine.export import template_document
from tallyform.logic import render_mermaid
from tallyform.model import Template
from tallyform.model.changes import Plan
from tallyform.model.kinds import Kind
from tallyform.model.state import TemplateState

States = Mapping[str, tuple[TemplateState | None, TemplateState | None]]  # key -> (desired, live)


def _live_template(state: TemplateState) -> Template | None:
    """The live template as a model template, or None if it cannot be read as one."""
    try:
        data, _ = template_document(state)
        return build_template(Document(f"(live {state.key})", data), state.key)
    except (KeyError, TypeError, ValueError):
        return None


def plan_diagrams(plan: Plan, states: States) -> dict[str, tuple[str | None, str | None]]:
    """Template key -> (Mermaid before, Mermaid after), for templates whose rules change."""
    keys = {
        change.path[0]
        for change in plan.changes
        if change.kind is Kind.RULE and change.template is not None
    }
    diagrams: dict[str, tuple[str | None, str | None]] = {}
    for key in sorted(keys):
        desired, live = states.get(key, (None, None))
        after = desired.source if desired is not None else None
        before = _live_template(live) if live is not None else None
        if after is None and before is None:
            continue
        diagrams[key] = (
            render_mermaid(before) if before is not None else None,
            render_mermaid(after) if after is not None else None,
        )
    return diagrams


def diagram_markdown(before: str | None, after: str | None) -> str:
    """The folded section holding the two diagrams."""
    parts = ["<details><summary>Flow before and after this plan</summary>\n"]
    for title, text, missing in (
        ("Before (the org)", before, "the org does not have this template yet"),
        ("After (the repository)", after, "the repository no longer declares this template"),
    ):
        if text is None:
            parts.append(f"**{title}:** {missing}.\n")
        else:
            parts.append(f"**{title}**\n\n```mermaid\n{text}```\n")
    parts.append("</details>")
    return "\n".join(parts)
