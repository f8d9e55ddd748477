"""``tallyform plan``: what would change in the live org, as text, JSON or Markdown."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tallyform.cli.app import App, pass_app
from tallyform.cli.connect import open_client, org_readings
from tallyform.cli.options import only_option, org_option, parallelism_option, plan_format_option
from tallyform.client import TallyfyClient, TallyfyError
from tallyform.config import OrgSettings, load_templates
from tallyform.config.changed import GitError, changed_templates
from tallyform.config.drift import drifted
from tallyform.config.project import CONFIG_NAME, ConfigError, Project, find_config
from tallyform.engine import PlanResult, make_plan
from tallyform.engine.planfile import save_plan
from tallyform.engine.planner import ChangedScope
from tallyform.model import Template
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


def connect(app: App, org: OrgSettings, parallelism: int) -> TallyfyClient:
    """A client for ``org`` whose credentials have been checked once (GET /me)."""
    client = open_client(org, parallelism=parallelism)
    try:
        if not org.is_emulated:
            client.check_credentials()
    except BaseException:
        client.close()
        raise
    return client


def load_repo(app: App, org_name: str | None) -> tuple[OrgSettings, list[Template]]:
    """The org's settings and the repository's templates; bad input ends the command (exit 1)."""
    project = app.project()
    org = project.org(org_name)
    templates, problems = load_templates(project, org)
    if problems:
        app.report(problems)
        raise SystemExit(1)
    return org, templates


def changed_scope(
    app: App, org: OrgSettings, ref: str | None, only: tuple[str, ...]
) -> ChangedScope | None:
    """What ``--changed-since REF`` covers; None for a plan of every template."""
    if ref is None:
        return None
    if only:
        raise click.UsageError("use either --changed-since or --only, not both")
    try:
        changed = changed_templates(app.project(), ref, org)
    except GitError as error:
        raise click.ClickException(f"--changed-since {ref}: {error}") from None
    if changed.everything:
        click.echo(
            f"Note: {CONFIG_NAME} changed since {ref} (or a changed template file does not "
            "load), so every template is planned.",
            err=True,
        )
        return None
    return ChangedScope(ref, changed.titles)


def plan_for(
    app: App,
    client: TallyfyClient,
    org: OrgSettings,
    templates: list[Template],
    only: tuple[str, ...],
    changed: ChangedScope | None = None,
) -> PlanResult:
    """Read the org and plan; unknown people and key conflicts end the command (exit 1)."""
    readings = org_readings(app.project(), org, client.org_id)
    result = make_plan(
        client,
        org.name,
        templates,
        list(only) or None,
        readings.applies_to,
        changed,
        clears_with_empty=readings.clears_with_empty,
    )
    if result.plan is None:
        app.report(result.problems)
        raise SystemExit(1)
    note_drift(app, templates, result.plan)
    return result


def note_drift(app: App, templates: list[Template], plan: Plan) -> None:
    """Mark the templates whose changes may come from edits in Tallyfy (:mod:`tallyform.config.drift`)."""
    live = {
        key: seen.last_updated
        for key, changes in plan.by_template().items()
        if (seen := plan.snapshots.get(key)) is not None and seen.id
        if any(c.action not in ("archive", "restore") for c in changes)
    }
    files = {t.key: Path(t.origin.locate().file) for t in templates if t.origin is not None}
    found = drifted(app.project().templates_dir, live, files)
    plan.drift = {key: drift.note() for key, drift in found.items()}


def build_plan(
    app: App,
    org_name: str | None,
    only: tuple[str, ...],
    parallelism: int,
    changed_since: str | None = None,
) -> tuple[PlanResult, TallyfyClient]:
    """Validate the repo, read the org and plan; any problem ends the command with exit 1."""
    org, templates = load_repo(app, org_name)
    changed = changed_scope(app, org, changed_since, only)
    client = connect(app, org, parallelism)
    try:
        return plan_for(app, client, org, templates, only, changed), client
    except BaseException:
        client.close()
        raise


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


@click.command()
@org_option("Plan against this org of tallyform.yaml (default: default_org).")
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan for `apply PLANFILE`.",
)
@plan_format_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing would change, 2 when something would, 1 on error.",
)
@only_option
@click.option(
    "--changed-since",
    metavar="REF",
    help="Only templates whose files changed since the git REF (a branch, tag or commit), "
    "found in the org without reading every template: fast plans of pull requests.",
)
@parallelism_option("Requests at once while reading the org (within its rate limit).")
@pass_app
def plan(
    app: App,
    org_name: str | None,
    out_file: Path | None,
    output: str,
    detailed_exitcode: bool,
    only: tuple[str, ...],
    changed_since: str | None,
    parallelism: int,
) -> None:
    """Show what apply would change in the live org.

    Reads the org (never writes), matches its templates to the repo's by their tallyform
    key, and prints every change: templates, steps, form fields, kick-off fields and
    rules to create, update, delete or reorder.
    """
    try:
        result, client = build_plan(app, org_name, only, parallelism, changed_since)
        the_plan = result.plan
        assert the_plan is not None
    except TallyfyError as error:
        raise click.ClickException(str(error)) from None
    with client:
        click.echo(render_plan(app, the_plan, output, result.states), nl=False)
        if the_plan.conflicts:
            raise click.ClickException(
                f"{len(the_plan.conflicts)} conflict(s) above: live objects share a tallyform "
                "key, so nothing can be planned for them. Resolve them and plan again."
            )
        if the_plan.blockers:
            raise click.ClickException(
                "this plan cannot be applied (see 'Cannot apply' above); nothing was changed"
            )
        if out_file is not None:
            save_plan(the_plan, out_file)
            click.echo(
                f"Saved the plan to {out_file}; apply it with `tallyform apply {out_file}`.",
                err=True,
            )
    if detailed_exitcode and not the_plan.empty:
        raise SystemExit(2)
