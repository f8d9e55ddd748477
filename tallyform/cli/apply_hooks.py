"""``apply``'s hooks on the terminal (:class:`~tallyform.engine.service.ApplyHooks`): the
plan, the question, each change as it is done, the report, the lock's words, and Ctrl-C.

Changes done go to stderr, one line each, so that stdout holds only the plan and the
closing line, and a CI log shows every change as it happens; under them, a count of the
changes done and left (:mod:`tallyform.cli.progress`), redrawn on a terminal, a line every
few seconds elsewhere (and with -v, whose log lines would break a redrawn line).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from tallyform.cli import interrupt
from tallyform.cli.context import App
from tallyform.cli.guard import InterruptGuard
from tallyform.cli.progress import Counter, Waited, every_from_environment
from tallyform.cli.terminal import ROLES, note, render_plan, warn
from tallyform.engine.apply import ApplyReport
from tallyform.engine.locking import LockHooks
from tallyform.errors import TallyformError
from tallyform.model.changes import Change, Plan
from tallyform.render.common import progress_line, role
from tallyform.render.report import RequestCounts, applied_line, trouble_lines


def lock_hooks() -> LockHooks:
    """The org lock's words on stderr, and what a second Ctrl-C must still say."""
    return LockHooks(
        say=note,
        error=lambda text: note(f"Error: {text}"),
        last_words=interrupt.last_words,
    )


def progress_printer(
    app: App, total: int, stats: Waited
) -> tuple[Callable[[Change], None], Counter]:
    """What apply calls as each change is done, and the counter under the lines.

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


def confirm(yes: bool) -> None:
    """Ask before apply's first change (unless ``yes``); refused, nothing was changed."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise TallyformError("apply needs confirmation: run it in a terminal, or pass --yes")
    try:
        answer = click.prompt(
            "Apply these changes? Type 'yes' to go on", default="", show_default=False
        )
    except click.Abort:  # Ctrl-C (click makes it an Abort) or the end of input
        if interrupt.received():
            raise KeyboardInterrupt from None
        answer = ""
    if answer != "yes":
        raise TallyformError("not applied; nothing was changed")


class ApplyTerminal:
    """``apply``'s hooks: what the engine tells and asks, on this terminal."""

    def __init__(self, app: App, yes: bool, again: str = "tallyform apply") -> None:
        self.app = app
        self.yes = yes
        self.again = again  # the command that finishes an apply cut short
        self.interrupts = InterruptGuard()
        self.stop = self.interrupts.stop
        self.lock = lock_hooks()

    def arm(self) -> None:
        self.interrupts.arm()

    def no_changes(self, plan: Plan) -> None:
        for warning in plan.warnings:
            warn(self.app, warning)
        click.echo(f"No changes. {plan.matched_words}")

    def show_plan(self, plan: Plan) -> None:
        click.echo(render_plan(self.app, plan, "text"), nl=False)

    def confirm(self) -> None:
        confirm(self.yes)

    @contextmanager
    def progress(self, total: int, stats: Waited) -> Iterator[Callable[[Change], None]]:
        show, counter = progress_printer(self.app, total, stats)
        try:
            yield show
        finally:
            counter.finish()

    def report(self, report: ApplyReport, stats: RequestCounts, writes: int) -> None:
        click.echo(applied_line(report, stats, writes))
        for line in trouble_lines(report, self.again):
            note(line)
