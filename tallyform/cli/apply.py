"""``tallyform apply``: carry out a plan, safely, and report what was and was not done.

One apply at a time per org: apply takes the org's lock (:mod:`tallyform.tallyfy.lock`)
before it reads anything, so a second apply waits or stops instead of planning from a
state the first is about to change. An embedded-emulator org is also guarded by a file
lock, since two processes would each keep their own copy of its state.

Ctrl-C, as in Terraform: the first stops new changes from starting, lets those under way
finish, reports what was and was not done and exits 130; a second exits at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import click

from tallyform.cli import interrupt
from tallyform.cli.app import App, pass_app
from tallyform.cli.connect import embedded_guard
from tallyform.cli.options import only_option, org_option, parallelism_option
from tallyform.cli.plan import ROLES, changed_scope, connect, load_repo, plan_for, render_plan
from tallyform.cli.progress import Counter, Waited, every_from_environment
from tallyform.client import TallyfyClient, TallyfyError
from tallyform.config import OrgSettings
from tallyform.engine.apply import ApplyReport, KeySetupRefused, apply_plan
from tallyform.engine.planfile import PlanFileError, SavedPlan, load_plan
from tallyform.engine.safety import raise_if_blocked, raise_if_unsafe
from tallyform.model.changes import Change, Plan
from tallyform.render.common import progress_line, role
from tallyform.tallyfy.lock import (
    LEASE_MINUTES,
    ApplyLock,
    LockNotReleased,
    OrgLocked,
    Renewer,
    acquire,
    break_lock,
    is_marked,
    lock_tags,
    lock_title,
    marked,
    new_mark,
)

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


# -- the org's lock ---------------------------------------------------------------------------


class LockLeft(KeyboardInterrupt):
    """Interrupted while the org's lock was taken or let go: its tag may still be there."""

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.title = title


def lock_left(title: str) -> str:
    """What to say when the process may end with the org's lock tag ``title`` still there."""
    return (
        f"The org's apply lock (the tag '{title}') may still be there. The next apply on "
        f"this machine removes it; elsewhere it ends {LEASE_MINUTES} minutes after it was "
        "last renewed. If no apply is running, `tallyform apply --break-lock` removes it now."
    )


def _lock_records(org: OrgSettings, root: Path) -> Path:
    """Where applies on this machine note the mark of the lock tag they take, one file each."""
    return root / ".tallyform" / "locks" / org.name


@dataclass(frozen=True)
class _Record:
    path: Path
    host: str
    pid: int
    mark: str

    @property
    def stopped(self) -> bool:
        return self.host == socket.gethostname() and _dead(self.pid)


def _records(records: Path) -> list[_Record]:
    found = []
    for path in sorted(records.glob("*.lock")):
        try:
            host, pid, mark = path.read_text("utf-8").split()
            found.append(_Record(path, host, int(pid), mark.lower()))
        except (OSError, ValueError):
            continue
    return found


def _left_by_dead_apply(
    records: Path, earlier: str | None = None
) -> Callable[[dict[str, Any]], str | None]:
    """Whether a lock tag is left over by an apply on this machine that no longer runs:
    the record of its mark names a process that is gone, or names this process (``earlier``,
    the mark it held: an apply before this one had its process id, so it has ended)."""

    def gone(tag: dict[str, Any]) -> str | None:
        stopped = [r.mark for r in _records(records) if r.stopped]
        if any(is_marked(tag, mark) for mark in [*stopped, *([earlier] if earlier else [])]):
            return "its apply ran on this machine and is no longer running"
        return None

    return gone


def _tidy(records: Path, live: list[dict[str, Any]]) -> None:
    """Remove the records of stopped applies whose lock tag is gone."""
    for record in _records(records):
        if record.stopped and not any(is_marked(tag, record.mark) for tag in live):
            record.path.unlink(missing_ok=True)


def _removed(found: list[tuple[dict[str, Any], str]]) -> None:
    for tag, why in found:
        click.echo(f"Removed the apply lock '{tag.get('title')}': {why}.", err=True)


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _take(
    client: TallyfyClient,
    marks: list[str],
    wait: float,
    records: Path,
    earlier: str | None,
    note: Callable[[str], None],
) -> ApplyLock:
    try:
        lock = acquire(
            client, marks[-1], wait, gone=_left_by_dead_apply(records, earlier), note=note
        )
    except OrgLocked as locked:
        _removed(locked.removed)
        raise click.ClickException(str(locked)) from None
    _removed(lock.removed)
    with contextlib.suppress(TallyfyError):
        _tidy(records, lock_tags(client))
    return lock


@contextmanager
def org_lock(
    client: TallyfyClient,
    org: OrgSettings,
    root: Path,
    wait: float,
    break_it: bool,
    lost: Callable[[str], None] = lambda why: None,
) -> Iterator[ApplyLock]:
    """Hold the org's apply lock for the block, renewing its lease; released however the
    block ends.

    The lock tag's mark is noted on this machine before the tag is made, and the note is
    removed only once the tag is known to be gone, so an apply killed at any moment, or
    one that could not release its lock, leaves a record the next apply here matches it
    by. Elsewhere the lease ends :data:`~tallyform.tallyfy.lock.LEASE_MINUTES` after the
    last renewal. Interrupted (a second Ctrl-C) while the lock is taken or let go, it
    raises :class:`LockLeft`. ``lost`` is called if the lease is lost while the block runs.
    """
    if break_it:
        for tag in lock_tags(client):
            break_lock(client, str(tag["id"]))
        click.echo("Removed the org's apply lock (--break-lock).", err=True)
    mark = new_mark()
    records = _lock_records(org, root)
    records.mkdir(parents=True, exist_ok=True)
    record = records / f"{os.getpid()}.lock"
    earlier = next((r.mark for r in _records(records) if r.path == record), None)
    marks: list[str] = []

    def note(mark: str) -> None:  # before the lock tag of ``mark`` is made
        marks.append(mark)
        record.write_text(f"{socket.gethostname()} {os.getpid()} {mark}\n", "utf-8")
        interrupt.last_words(lock_left(lock_title(mark)))  # if a second Ctrl-C ends it all

    note(mark)
    try:
        lock = _take(client, marks, wait, records, earlier, note)
    except BaseException as error:
        _let_go(client, marks[-1], record, isinstance(error, KeyboardInterrupt))
        raise
    try:
        with Renewer(lock, lost):
            yield lock
    except BaseException as error:
        try:
            lock.release()
        except KeyboardInterrupt:
            raise LockLeft(lock.title) from None
        except LockNotReleased as failed:
            click.echo(f"Error: {failed}", err=True)
            if isinstance(error, KeyboardInterrupt):
                raise LockLeft(lock.title) from None
            raise error from None
        _gone(record)
        raise
    try:
        lock.release()
    except KeyboardInterrupt:
        raise LockLeft(lock.title) from None
    except LockNotReleased as failed:
        raise click.ClickException(str(failed)) from None
    _gone(record)


def _gone(record: Path) -> None:
    """The lock tag is known to be gone: so is the need to say so, and its record."""
    interrupt.last_words(None)
    record.unlink(missing_ok=True)


def _let_go(client: TallyfyClient, mark: str, record: Path, interrupted: bool) -> None:
    """After taking the lock failed or was interrupted: remove our tag if it was made.

    Interrupted, the tag's create may still be on its way to Tallyfy though no tag is
    seen yet: the record then stays, for the next apply here to match it by.
    """
    try:
        ours = marked(client, mark)
        if ours is not None:
            break_lock(client, str(ours["id"]))
    except TallyfyError:
        return  # the record stays: the next apply here removes the tag
    except KeyboardInterrupt:
        raise LockLeft(lock_title(mark)) from None
    if interrupted and ours is None:
        raise LockLeft(lock_title(mark))
    _gone(record)


# -- Ctrl-C -------------------------------------------------------------------------------------


class InterruptGuard:
    """Once armed, the first SIGINT sets ``stop`` and a second ends the process at once (130).

    It stays armed until the block ends, so a Ctrl-C while the report is printed or the
    lock released is handled the same way.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._previous: Any = None
        self._armed = False

    def arm(self) -> None:
        try:
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
            self._armed = True
        except ValueError:  # not the main thread: signals stay as they are
            pass

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            interrupt.exit_now()
        self.stop.set()
        click.echo(
            "\nInterrupted: finishing the changes under way and starting no new ones "
            "(press Ctrl-C again to quit at once).",
            err=True,
        )

    def __enter__(self) -> InterruptGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._armed and not self.stop.is_set():
            signal.signal(signal.SIGINT, self._previous)
        # Interrupted: the command is ending with 130; a second Ctrl-C until the process
        # is gone still exits at once with 130 rather than a KeyboardInterrupt.


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
    saved = _load(planfile, org_name)
    only = _only(saved, only)
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
                _check_org(saved, org.name, client.org_id, planfile)
            lost: list[str] = []

            def lease_lost(why: str) -> None:  # the lock is no longer ours: stop writing
                lost.append(why)
                interrupts.stop.set()

            with org_lock(
                client, org, project.root, options.lock_timeout, options.break_first, lease_lost
            ):
                result = plan_for(app, client, org, templates, only, changed)
                plan = result.plan
                assert plan is not None and result.org is not None
                raise_if_blocked(plan)
                if saved is not None:
                    _check_fresh(saved, plan)
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


def _load(planfile: Path | None, org_name: str | None) -> SavedPlan | None:
    if planfile is None:
        return None
    try:
        saved = load_plan(planfile)
    except PlanFileError as error:
        raise click.ClickException(str(error)) from None
    if org_name is not None and org_name != saved.org:
        raise click.ClickException(f"{planfile}: {saved.made_for(org_name, saved.org_id)}")
    return saved


def _only(saved: SavedPlan | None, only: tuple[str, ...]) -> tuple[str, ...]:
    """The templates to plan: a saved plan's own --only, which the command line may repeat."""
    if saved is None:
        return only
    if only and list(only) != saved.only:
        shown = " ".join(f"--only {p}" for p in saved.only) or "no --only"
        raise click.ClickException(
            f"the saved plan was made with {shown}; apply it without --only, or make a new plan"
        )
    return tuple(saved.only)


def _check_org(saved: SavedPlan, org_name: str, org_id: str, planfile: Path | None) -> None:
    reason = saved.made_for(org_name, org_id)
    if reason:
        raise click.ClickException(f"{planfile}: {reason}; nothing was changed")


def _check_fresh(saved: SavedPlan, plan: Plan) -> None:
    reasons = plan.stale_since(saved.snapshots, saved.changes)
    if reasons:
        raise click.ClickException(
            "the saved plan is stale, nothing was changed: "
            + "; ".join(reasons)
            + ". Make a new plan."
        )
