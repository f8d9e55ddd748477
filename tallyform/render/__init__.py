"""Rendering plans: text for terminals, JSON for machines, Markdown for pull requests."""

from tallyform.render.common import Styler, plain
from tallyform.render.json import FORMAT_VERSION, plan_document, render_json
from tallyform.render.markdown import render_markdown
from tallyform.render.text import render_text

__all__ = [
    "FORMAT_VERSION",
    "Styler",
    "plain",
    "plan_document",
    "render_json",
    "render_markdown",
    "render_text",
]
