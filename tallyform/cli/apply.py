"""``tallyform apply``: carry out a plan, safely, and report what was and was not done.

One apply at a time per org: apply takes the org's lock (:mod:`tallyform.tallyfy.lock`)
before it reads anything, so a second apply waits or stops instead of planning from a
state the first is about to change. An embedded-emulator org is also guarded by a file
lock, since two processes would each keep their own copy of its state.

Ctrl-C, as in Terraform: the first stops new changes from starting, lets those under way
finish, reports what was and was not done and exits 130; a second exits at once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from tallyform.cli import interrupt
from tallyform.cli.app import App, pass_app
from tallyform.cli.connect import embedded_guard
from tallyform.cli.guard import InterruptGuard
from tallyform.cli.options import only_option, org_option, parallelism_option
from tallyform.cli.plan import ROLES, changed_scope, connect, load_repo, plan_for, render_plan
from tallyform.cli.progress import Counter, Waited, every_from_environment
from tallyform.client import TallyfyClient, TallyfyError
from tallyform.engine.apply import ApplyReport, KeySetupRefused, apply_plan
from tallyform.engine.locking import LockHooks, LockLeft, lock_left, org_lock
from tallyform.engine.planfile import check_fresh, check_org, load_for, planned_scope
from tallyform.engine.safety import raise_if_blocked, raise_if_unsafe
from tallyform.model.changes import Change
from tallyform.render.common import progress_line, role

INTERRUPTED = 130
SHOWN_NOT_DONE = 20


def _confirm(yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.ClickException("apply needs confirmation: run it in a terminal, or pass --yes")
    try:
        answer = click.prompt(
            "Apply these changes? Type 'yes' to go on", default="", show_default=False
        )
    except click.Abort:  # Ctrl-C (click makes it an Abort) or the end of input
        if interrupt.received():
            raise KeyboardInterrupt from None
        answer = ""
    if answer != "yes":
        raise click.ClickException("not applied; nothing was changed")


def lock_hooks(lost: Callable[[str], None] = lambda why: None) -> LockHooks:
    """The org lock's words on stderr, and what a second Ctrl-C must still say."""
    return LockHooks(
        say=lambda text: click.echo(text, err=True),
        error=lambda text: click.echo(f"Error: {text}", err=True),
        last_words=interrupt.last_words,
        lost=lost,
    )


# -- reporting ----------------------------------------------------------------------------------


def progress_printer(
    app: App, total: int, stats: Waited
) -> tuple[Callable[[Change], None], Counter]:
    """What apply calls as each change is done: one line on stderr, so that stdout holds
    only the plan and the closing line, and a CI log shows every change as it happens;
    with a count of the changes done and left (:mod:`tallyform.cli.progress`), redrawn
    under them on a terminal, a line every few seconds elsewhere (and with -v, whose log
    lines would break a redrawn line).

    Templates run in worker threads, where click knows no context: the colour choice is
    passed explicitly, and the counter's lock keeps two lines from interleaving.
    """
    err = sys.stderr
    counter = Counter(
        total,
        stats,
        err,
        terminal=err.isatty() and not app.verbose,
        every=every_from_environment(),
        color=app.color,
    )

    def show(change: Change) -> None:
        line = progress_line(change)
        symbol, rest = line.split(" ", 1)
        styled_line = app.style(symbol, **ROLES.get(role(change.action), {})) + " " + rest
        counter.change(f"  {styled_line}")

    return show, counter


def _report(report: ApplyReport, client: TallyfyClient, writes: int) -> None:
    counts = report.counts()
    waited = client.stats.waited
    click.echo(
        f"Applied: {_past(counts)} ({writes} write{'s' if writes != 1 else ''}, "
        f"{client.stats.requests} requests"
        + (f", {client.stats.retries} retried" if client.stats.retries else "")
        + (f", {waited:.1f} s waiting for the rate limit" if waited >= 0.05 else "")
        + ")."
    )
    not_done = report.not_done
    for outcome in report.failed:
        where = f"template {outcome.scope}" if outcome.scope else "the org-wide changes"
        click.echo(f"Error: {where} stopped: {outcome.error}", err=True)
    if not_done:
        label = "Interrupted" if report.stopped else "Stopped"
        click.echo(f"{label}: {len(not_done)} change(s) not done:", err=True)
        for change in not_done[:SHOWN_NOT_DONE]:
            click.echo(f"  {progress_line(change, done=False)}", err=True)
        if len(not_done) > SHOWN_NOT_DONE:
            click.echo(f"  ... and {len(not_done) - SHOWN_NOT_DONE} more", err=True)
        click.echo("Run `tallyform apply` again to finish; it plans only what is left.", err=True)


PAST = {
    "create": "created",
    "update": "updated",
    "move": "moved",
    "delete": "deleted",
    "reorder": "reordered",
    "archive": "archived",
    "restore": "restored",
}


def _past(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {PAST[action]}" for action, n in counts.items() if n) or "nothing"


# -- the command ----------------------------------------------------------------------------------


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
    "break_first",
    is_flag=True,
    help="Remove the org's apply lock first (only when no other apply is running).",
)
@parallelism_option("Requests at once (templates are applied in parallel).")
@pass_app
def apply(app: App, /, **given: Any) -> None:
    """Make the live org match the repository.

    Without PLANFILE it plans, shows the plan and asks before changing anything. With a
    PLANFILE saved by `plan --out`, it checks that the plan was made for this org and that
    nothing changed since, then carries out exactly that plan, or refuses and changes nothing.
    """
    try:
        _apply(app, ApplyOptions(**given))
    except LockLeft as left:
        click.echo(
            f"\nInterrupted before any change to the templates. {lock_left(left.title)}",
            err=True,
        )
        raise SystemExit(INTERRUPTED) from None
    except KeyboardInterrupt:
        click.echo("\nInterrupted before any change was made; nothing was changed.", err=True)
        raise SystemExit(INTERRUPTED) from None


@dataclass(frozen=True)
class ApplyOptions:
    """The command line of ``apply``, as click reads it."""

    planfile: Path | None
    org_name: str | None
    yes: bool
    allow_delete: bool
    force: bool
    only: tuple[str, ...]
    changed_since: str | None
    lock_timeout: float
    break_first: bool
    parallelism: int


def _apply(app: App, options: ApplyOptions) -> None:
    planfile, org_name, only = options.planfile, options.org_name, options.only
    saved = load_for(planfile, org_name) if planfile is not None else None
    only = planned_scope(saved, only)
    org, templates = load_repo(app, org_name or (saved.org if saved else None))
    if saved is not None and options.changed_since:
        raise click.UsageError(
            "a saved plan already says what it covers; leave out --changed-since"
        )
    changed = changed_scope(app, org, options.changed_since, only)
    project = app.project()
    interrupts = InterruptGuard()
    try:
        guard = embedded_guard(org, options.lock_timeout)
        with interrupts, guard, connect(app, org, options.parallelism) as client:
            if saved is not None:
                check_org(saved, org.name, client.org_id, planfile)
            lost: list[str] = []

            def lease_lost(why: str) -> None:  # the lock is no longer ours: stop writing
                lost.append(why)
                interrupts.stop.set()

            hooks = lock_hooks(lost=lease_lost)
            with org_lock(
                client, org, project.root, options.lock_timeout, options.break_first, hooks
            ):
                result = plan_for(app, client, org, templates, only, changed)
                plan = result.plan
                assert plan is not None and result.org is not None
                raise_if_blocked(plan)
                if saved is not None:
                    check_fresh(saved, plan)
                if plan.empty:
                    for warning in plan.warnings:
                        click.echo(app.style(f"Warning: {warning}", fg="yellow"), err=True)
                    click.echo("No changes. The org matches the repository.")
                    return
                if saved is None:
                    click.echo(render_plan(app, plan, "text"), nl=False)
                raise_if_unsafe(
                    plan,
                    project.max_delete_share,
                    project.delete_share_minimum,
                    options.allow_delete,
                    options.force,
                )
                if saved is None:
                    _confirm(options.yes)
                before = client.stats.writes
                interrupts.arm()
                show, counter = progress_printer(app, len(plan.changes), client.stats)
                try:
                    report = apply_plan(client, plan, show, interrupts.stop)
                finally:
                    counter.finish()
                _report(report, client, client.stats.writes - before)
    except (KeySetupRefused, TallyfyError) as error:
        raise click.ClickException(str(error)) from None
    if lost:
        raise click.ClickException(
            f"{lost[0]}; another apply may have taken the org's lock, so no new change was "
            "started. Run `tallyform apply` again to finish."
        )
    if report.stopped:
        raise SystemExit(INTERRUPTED)
    if report.not_done:
        raise SystemExit(1)
