"""``tallyform plan``: what would change in the live org, as text, JSON or Markdown.

Reading the repository and the org and planning is the engine's
(:mod:`tallyform.engine.session`); printing the plan is :mod:`.terminal`'s. Exit codes:
0, or with ``--detailed-exitcode`` 2 when the plan changes something; 1 on any error,
key conflicts and plans that cannot be applied included.
"""

from __future__ import annotations

from pathlib import Path

import click

from tallyform.cli.connect import connect
from tallyform.cli.context import App, pass_app
from tallyform.cli.options import only_option, org_option, parallelism_option, plan_format_option
from tallyform.cli.terminal import note, render_plan
from tallyform.engine.planfile import save_plan
from tallyform.engine.session import changed_scope, load_repo, plan_for
from tallyform.errors import ChangesPresent, TallyformError


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
    if changed_since and only:
        raise click.UsageError("use either --changed-since or --only, not both")
    project = app.project()
    org, templates = load_repo(project, org_name)
    changed = changed_scope(project, org, changed_since, note)
    with connect(org) as client:
        result = plan_for(project, client, org, templates, only, changed, parallelism)
        the_plan = result.plan
        assert the_plan is not None
        click.echo(render_plan(app, the_plan, output, result.states), nl=False)
        if the_plan.conflicts:
            raise TallyformError(
                f"{len(the_plan.conflicts)} conflict(s) above: live objects share a tallyform "
                "key, so nothing can be planned for them. Resolve them and plan again."
            )
        if the_plan.blockers:
            raise TallyformError(
                "this plan cannot be applied (see 'Cannot apply' above); nothing was changed"
            )
        if out_file is not None:
            save_plan(the_plan, out_file)
            note(f"Saved the plan to {out_file}; apply it with `tallyform apply {out_file}`.")
    if detailed_exitcode and not the_plan.empty:
        raise ChangesPresent()
