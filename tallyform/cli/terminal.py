"""Words the commands share on the terminal: plans in their formats, styled as the App
says (plain with --no-color or without a terminal), warnings and notes on stderr."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from tallyform.cli.context import App
from tallyform.config.project import ConfigError, Project, find_config
from tallyform.model.changes import Plan, apply_needs
from tallyform.render import Styler, render_json, render_markdown, render_text

if TYPE_CHECKING:
    from tallyform.render.flow import States

ROLES: dict[str, dict[str, Any]] = {  # styler roles: an action's colour, and emphasis
    "create": {"fg": "green"},
    "update": {"fg": "yellow"},
    "reorder": {"fg": "yellow"},
    "delete": {"fg": "red"},
    "bold": {"bold": True},
    "dim": {"dim": True},
    "warn": {"fg": "yellow", "bold": True},
}


def styled(app: App) -> Styler:
    """The plan renderers' styler: roles mapped to App.style (plain with --no-color or no terminal)."""

    def style(text: str, role: str) -> str:
        return app.style(text, **ROLES.get(role, {}))

    return style


def _safety_share(app: App) -> tuple[float, int]:
    """The project's delete safety share and its minimum (the defaults where no project
    is found: ``show`` may print a plan file anywhere)."""
    try:
        find_config(app.directory, app.config_file)
    except ConfigError:
        return Project.max_delete_share, Project.delete_share_minimum
    project = app.project()
    return project.max_delete_share, project.delete_share_minimum


def render_plan(app: App, plan: Plan, output: str, states: States | None = None) -> str:
    """``plan`` in one of the plan formats (text styled as the App says); Markdown draws
    the flow of templates whose rules change when given the plan's ``states``."""
    plan.needs = apply_needs(plan, *_safety_share(app))
    if output == "json":
        return render_json(plan)
    if output == "markdown":
        return render_markdown(plan, states=states)
    return render_text(plan, styled(app))


def warn(app: App, text: str) -> None:
    click.echo(app.style(f"Warning: {text}", fg="yellow"), err=True)


def note(text: str) -> None:
    click.echo(text, err=True)
