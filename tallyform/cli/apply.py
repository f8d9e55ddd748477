"""``tallyform apply``: carry out a plan, safely, and report what was and was not done.

The work is the engine's (:mod:`tallyform.engine.service`: the org's lock, planning
again, the safety checks, carrying out, the report); its words on the terminal are
:mod:`.apply_hooks`'s. Here: the command line, and its exit codes: 0 done, 1 refused or some
changes not done, 130 interrupted (Ctrl-C, as in Terraform: the first stops new changes
from starting and lets those under way finish; a second exits at once).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tallyform.cli.apply_hooks import ApplyTerminal
from tallyform.cli.connect import connect, embedded_guard
from tallyform.cli.context import App, pass_app
from tallyform.cli.options import only_option, org_option, parallelism_option
from tallyform.cli.terminal import note
from tallyform.engine.locking import LockLeft, lock_left
from tallyform.engine.service import ApplyRequest, carry_out, prepare_apply
from tallyform.errors import Failed, Interrupted


@click.command()
@click.argument(
    "planfile", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@org_option(
    "Apply to this org of tallyform.yaml (default: the saved plan's org, else default_org)."
)
@click.option(
    "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal)."
)
@click.option(
    "--allow-delete", is_flag=True, help="Allow archiving templates removed from the repository."
)
@click.option(
    "--force",
    is_flag=True,
    help="Apply even if the plan touches more than the safety share of templates.",
)
@only_option
@click.option(
    "--changed-since",
    metavar="REF",
    help="Only templates whose files changed since the git REF (as plan --changed-since).",
)
@click.option(
    "--lock-timeout",
    type=click.FloatRange(0),
    default=0,
    metavar="SECONDS",
    help="Wait this long for another apply on the org to finish (default: do not wait).",
)
@click.option(
    "--break-lock",
    is_flag=True,
    help="Remove the org's apply lock first (only when no other apply is running).",
)
@parallelism_option("Requests at once (templates are applied in parallel).")
@pass_app
def apply(app: App, /, yes: bool, **given: Any) -> None:
    """Make the live org match the repository.

    Without PLANFILE it plans, shows the plan and asks before changing anything. With a
    PLANFILE saved by `plan --out`, it checks that the plan was made for this org and that
    nothing changed since, then carries out exactly that plan, or refuses and changes nothing.
    """
    request = ApplyRequest(**given)
    if request.planfile is not None and request.changed_since:
        raise click.UsageError(
            "a saved plan already says what it covers; leave out --changed-since"
        )
    if request.changed_since and request.only:
        raise click.UsageError("use either --changed-since or --only, not both")
    try:
        run = prepare_apply(app.project(), request, note)
        terminal = ApplyTerminal(app, yes, f"tallyform apply --org {run.org.name}")
        guard = embedded_guard(run.org, request.lock_timeout)
        with terminal.interrupts, guard, connect(run.org) as client:
            report = carry_out(run, client, terminal)
    except LockLeft as left:
        note(f"\nInterrupted before any change to the templates. {lock_left(left.title)}")
        raise Interrupted() from None
    except KeyboardInterrupt:
        note("\nInterrupted before any change was made; nothing was changed.")
        raise Interrupted() from None
    if report is not None and report.stopped:
        raise Interrupted()
    if report is not None and report.not_done:
        raise Failed()
