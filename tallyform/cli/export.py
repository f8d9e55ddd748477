"""``tallyform export``: bring a live org's templates under version control.

Making each template's file is :mod:`tallyform.engine.export_files`'s, adopting what was
written (its keys, under the org's lock) :mod:`tallyform.engine.adopt`'s. Here: the
command line, the lines it prints, and its exit codes: 1 when a file was left as it is,
a template could not be exported or a key not written; 130 when interrupted.
"""

from __future__ import annotations

from pathlib import Path

import click

from tallyform.cli.apply_hooks import lock_hooks
from tallyform.cli.connect import connect, embedded_guard
from tallyform.cli.context import App, pass_app
from tallyform.cli.guard import InterruptGuard
from tallyform.cli.options import only_option, org_option, parallelism_option
from tallyform.cli.terminal import note, warn
from tallyform.engine.adopt import Adoption, adopt
from tallyform.engine.export_files import (
    ExportFile,
    export_files,
    file_diff,
    read_repository,
    write_file,
)
from tallyform.errors import Failed, Interrupted, TallyformError
from tallyform.model.changes import Change
from tallyform.render.exported import adoption_lines, export_summary, file_line


@click.command()
@org_option("Export this org of tallyform.yaml (default: default_org).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the files in this folder (default: the project's templates folder).",
)
@only_option
@click.option(
    "--dry-run", is_flag=True, help="Say what would be written and adopted; change nothing."
)
@click.option("--force", is_flag=True, help="Overwrite files that differ from the org.")
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Show how each file that differs from the org differs (--dry-run shows it too).",
)
@parallelism_option("Requests at once while reading the org (within its rate limit).")
@pass_app
def export(
    app: App,
    org_name: str | None,
    directory: Path | None,
    only: tuple[str, ...],
    dry_run: bool,
    force: bool,
    show_diff: bool,
    parallelism: int,
) -> None:
    """Write the live org's templates as template files, and adopt them.

    One canonical file per template, with explicit keys; a file that means something else
    than the org holds is left as it is unless --force (one that differs only in form,
    such as formatting or key order, is left as it is and adopted). Export then writes the tallyform key of each exported object that
    lacks one (nothing else), so `tallyform plan` right after shows no changes.
    """
    project = app.project()
    org = project.org(org_name)
    folder = directory if directory is not None else project.templates_dir
    repo = read_repository(project, org)
    interrupts = InterruptGuard()
    with interrupts, embedded_guard(org), connect(org) as client:
        found = export_files(client, org, project, repo, folder, only, force, parallelism)
        for conflict in found.conflicts:
            note(app.style(f"Error: {conflict.message()} It was not exported.", fg="red"))
        for skipped in found.skipped:
            warn(app, skipped)
        if not found.files:
            matched = f" matching {', '.join(only)}" if only else ""
            click.echo(f"The org '{org.name}' has no templates{matched} to export.")
        for item in found.files:
            for warning in item.template.warnings:
                warn(app, warning)
        if found.conflicts:
            raise Failed()
        if not found.files:
            return
        files = found.files
        for item in files:
            _write(item, dry_run, show_diff or dry_run)
        templates = [f.declared for f in files if f.status != "kept"]
        adoption = adopt(
            client,
            org,
            project,
            templates,
            dry_run,
            lambda change: _differs(app, change),
            lock_hooks(),
            interrupts.stop,
            interrupts.arm,
            parallelism,
        )
    adopted = _said(app, adoption, dry_run)
    if interrupts.stop.is_set():
        raise Interrupted()
    kept = [f for f in files if f.status == "kept"]
    click.echo(export_summary(files, dry_run))
    if kept:
        raise TallyformError(
            f"{len(kept)} file(s) differ from the org and were left as they are (and their "
            "templates not adopted); review them, then export again with --force to overwrite"
        )
    if not adopted:
        raise Failed()


def _write(item: ExportFile, dry_run: bool, show_diff: bool) -> None:
    if item.status == "kept":
        click.echo(file_line(item, dry_run))
    if item.status in ("kept", "updated") and show_diff:
        click.echo(file_diff(item), nl=False)
    if item.status != "kept":
        click.echo(file_line(item, dry_run))
    if not dry_run:
        write_file(item)


def _differs(app: App, change: Change) -> None:
    warn(
        app,
        f"{change.name}: the exported file and the org still differ ({change.action}); "
        "`tallyform plan` shows it. Please report this.",
    )


def _said(app: App, adoption: Adoption | None, dry_run: bool) -> bool:
    """Say what adopting did; False when some keys could not be written."""
    if adoption is None:
        return True
    if adoption.problems:
        app.report(adoption.problems)
        return False
    for line, err in adoption_lines(adoption, dry_run):
        click.echo(line, err=err)
    return adoption.report is None or not adoption.report.not_done
