"""``tallyform show PLANFILE``: a plan saved by ``plan --out``, printed offline.

The saved plan is read with every check ``apply PLANFILE`` makes of the file (a damaged
or hand-edited file is one error naming it) and printed in any plan format, exactly as
``plan`` printed it when it was saved. Nothing is read from the org, so no credentials
are needed: whether the plan still fits the org is ``apply``'s question, which it asks
before changing anything.
"""

from __future__ import annotations

from pathlib import Path

import click

from tallyform.cli.context import App, pass_app
from tallyform.cli.options import plan_format_option
from tallyform.cli.terminal import render_plan
from tallyform.engine.planfile import load_plan
from tallyform.errors import ChangesPresent


@click.command()
@click.argument("planfile", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@plan_format_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when the saved plan changes nothing, 2 when it does, 1 on error.",
)
@pass_app
def show(app: App, planfile: Path, output: str, detailed_exitcode: bool) -> None:
    """Print PLANFILE, a plan saved by `plan --out`, without contacting the org.

    It is shown as it was when saved; `apply PLANFILE` checks that the org has not
    changed since before it changes anything.
    """
    plan = load_plan(planfile).plan()  # a damaged file: PlanFileError, one line, exit 1
    click.echo(render_plan(app, plan, output), nl=False)
    if detailed_exitcode and not plan.empty:
        raise ChangesPresent()
