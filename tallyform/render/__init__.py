"""Rendering plans: text for terminals, JSON for machines, Markdown for pull requests.

Names are imported on first use (PEP 562): ``validate`` renders problems
(:mod:`.problems`) and must not load the engine that plans need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tallyform.lazy import lazy_names

if TYPE_CHECKING:
    from tallyform.render.common import Styler, plain
    from tallyform.render.json import FORMAT_VERSION, plan_document, render_json
    from tallyform.render.markdown import render_markdown
    from tallyform.render.text import render_text

_MODULES = {
    "FORMAT_VERSION": "json",
    "Styler": "common",
    "plain": "common",
    "plan_document": "json",
    "render_json": "json",
    "render_markdown": "markdown",
    "render_text": "text",
}


__getattr__ = lazy_names(__name__, _MODULES)


__all__ = [
    "FORMAT_VERSION",
    "Styler",
    "plain",
    "plan_document",
    "render_json",
    "render_markdown",
    "render_text",
]
