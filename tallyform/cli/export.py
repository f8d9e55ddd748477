"""``tallyform export``: bring a live org's templates under version control.

Each live template is written as one canonical template file (the form ``fmt`` writes),
with explicit keys on the template, its steps, form fields and kick-off fields, people by
email, groups by name, folders by path and tags by title. Files go to the folder the org
keeps the template in (``Finance/Purchasing`` -> ``templates/finance/purchasing/``),
unless the repository already has a file for the template's key, which is then the one
written. A file that means something else than the org holds is left as it is unless
``--force``; one that differs only in form (formatting, key order, a default written out)
means the same, as plan reads it, and is left as it is. ``--diff`` (and ``--dry-run``)
show how each file that differs does.

Export then adopts what it wrote, as ``terraform import`` records what it imports: it
writes the ``tallyform_key`` of every exported object that has none yet (and defines
tallyform's custom fields if the org lacks them), and nothing else, under the org's
apply lock. So a plan right after an export shows no changes. ``--dry-run`` writes
neither files nor keys: it says what would be written and adopted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import click
import yaml

from tallyform.bounded import FileRefused, read_bounded
from tallyform.cli.app import App, pass_app
from tallyform.cli.connect import connect, embedded_guard
from tallyform.cli.guard import InterruptGuard
from tallyform.cli.interrupt import INTERRUPTED
from tallyform.cli.options import only_option, org_option, parallelism_option
from tallyform.cli.terminal import lock_hooks
from tallyform.client import TallyfyClient, TallyfyError
from tallyform.config import OrgSettings, Project
from tallyform.config.checks import check_template_document
from tallyform.config.fmt import format_text
from tallyform.config.project import display_path, load_template_file, template_files
from tallyform.config.source import MAX_FILE_BYTES, Problem, parse_text
from tallyform.engine import make_plan
from tallyform.engine.apply import KeySetupRefused, apply_plan
from tallyform.engine.export import Exported, export_org
from tallyform.engine.locking import org_lock
from tallyform.engine.session import org_readings
from tallyform.model import Template, slugify
from tallyform.model.changes import Change
from tallyform.model.state import desired_state
from tallyform.tallyfy.read import read_org

# "same": the file differs from the export in form only (formatting, key order, a default
# written out); it means the same, so it is left as it is and adopted like an unchanged one.
Status = Literal["new", "updated", "unchanged", "same", "kept"]
SYMBOLS: dict[Status, str] = {
    "new": "+",
    "updated": "~",
    "unchanged": "=",
    "same": "=",
    "kept": "!",
}


@dataclass
class ExportFile:
    """One exported template's file: where, its text, and what writing it does."""

    template: Exported
    path: Path
    text: str
    status: Status
    declared: Template  # the text read back as validate reads it


@dataclass
class Repository:
    """The templates the repository declares, and the file each key lives in."""

    templates: dict[str, Template] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)


def read_repository(project: Project, org: OrgSettings) -> Repository:
    """The repository's templates by key; a file that does not load still claims its key."""
    repo = Repository()
    for path in template_files(project):
        template, _ = load_template_file(path, [org])
        key = template.key if template is not None else slugify(path.stem)
        repo.paths.setdefault(key, path)
        if template is not None:
            repo.templates.setdefault(key, template)
    return repo


def file_text(document: dict[str, Any]) -> str:
    """A template document as canonical YAML, exactly as ``fmt`` would write it."""
    dumped = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)
    return format_text(dumped)


def schema_comment(path: Path, project: Project) -> str:
    """The editor hint ``init`` writes, when the project keeps the schemas (``schemas/``)."""
    schema = project.root / "schemas" / "template.schema.json"
    if not schema.is_file():
        return ""
    relative = os.path.relpath(schema, path.parent).replace(os.sep, "/")
    return f"# yaml-language-server: $schema={relative}\n"


def read_back(text: str, display: str, key: str) -> tuple[Template | None, list[Problem]]:
    """The text as validate reads it, and what validate would say (nothing, unless export
    has a bug)."""
    document, problems = parse_text(text, display)
    if problems:
        return None, problems
    return check_template_document(document, key)


def target_path(exported: Exported, folder: Path, repo: Repository) -> Path:
    """The repository's file for the key if it is in ``folder``, else one by the org's folder."""
    known = repo.paths.get(exported.key)
    if known is not None and known.resolve().is_relative_to(folder.resolve()):
        return known
    parts = [slugify(part) or "folder" for part in (exported.folder or "").split("/") if part]
    return folder.joinpath(*parts, f"{exported.key}.yaml")


def _status(path: Path, text: str, force: bool, declared: Template, org: OrgSettings) -> Status:
    if not path.exists():
        return "new"
    try:
        current = read_bounded(path, MAX_FILE_BYTES).decode("utf-8")
    except (FileRefused, UnicodeDecodeError):  # a FIFO or device too: never read
        current = None
    if current == text:
        return "unchanged"
    if current is not None:
        written, _ = load_template_file(path, [org])
        if written is not None and meaning(written) == meaning(declared):
            return "same"
    return "updated" if force else "kept"


def meaning(template: Template) -> Any:
    """What a declared template means, as plan compares it: its normalised state (defaults
    filled in, a one-condition rule's match as plan reads it, people and tags sorted), and
    its scenarios, without where anything was written or whether a key was written out."""
    state = desired_state(template)
    return (
        state.attrs,
        [(key, item.attrs) for key, item in state.kickoff.items()],
        [(key, step.attrs) for key, step in state.steps.items()],
        [(key, item.step, item.attrs) for key, item in state.fields.items()],
        [(name, state.rules[name].attrs) for name in sorted(state.rules)],
        sorted(state.tags),
        _plain(template.tests),
    )


def _plain(value: Any) -> Any:
    """A value of the model as plain, comparable data, without origins."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(
            (part.name, _plain(getattr(value, part.name)))
            for part in dataclasses.fields(value)
            if part.name not in ("origin", "key_written")
        )
    if isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted(((str(k), _plain(v)) for k, v in value.items()), key=repr))
    return value


def _diff(item: ExportFile) -> str:
    """How the repository's file differs from what the org holds, as a unified diff."""
    try:
        current = read_bounded(item.path, MAX_FILE_BYTES).decode("utf-8")
    except (OSError, FileRefused, UnicodeDecodeError):  # a FIFO or device: never read
        return ""
    shown = display_path(item.path)
    lines = difflib.unified_diff(
        current.splitlines(keepends=True),
        item.text.splitlines(keepends=True),
        f"{shown} (the repository)",
        f"{shown} (the org)",
    )
    return "".join(lines)


def adoption_changes(changes: list[Change]) -> tuple[list[Change], list[Change]]:
    """The changes that only write tallyform's keys (definitions and values), and the rest."""
    adopt = [
        c
        for c in changes
        if (c.kind == "key" and c.action == "create")
        or (c.action == "update" and not c.changes_more_than("key"))
    ]
    return adopt, [c for c in changes if c not in adopt]


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
    try:
        with interrupts, embedded_guard(org), connect(app, org, parallelism) as client:
            files = _export_files(app, client, org, project, repo, folder, only, force)
            if files is None:
                return
            _write(files, dry_run, show_diff or dry_run)
            adopted = _adopt(app, client, org, project, files, dry_run, interrupts)
    except (KeySetupRefused, TallyfyError) as error:
        raise click.ClickException(str(error)) from None
    if interrupts.stop.is_set():
        raise SystemExit(INTERRUPTED)
    kept = [f for f in files if f.status == "kept"]
    _summary(files, dry_run)
    if kept:
        raise click.ClickException(
            f"{len(kept)} file(s) differ from the org and were left as they are (and their "
            "templates not adopted); review them, then export again with --force to overwrite"
        )
    if not adopted:
        raise SystemExit(1)


def _with_tests(exported: Exported, repo: Repository) -> dict[str, Any]:
    """The exported document, with the scenarios (`tests:`) of the repository's file for
    its key: Tallyfy does not hold them, and exporting must not lose them."""
    declared = repo.templates.get(exported.key)
    if declared is None or not declared.tests or declared.origin is None:
        return exported.document
    return {**exported.document, "tests": declared.origin.data("tests")}


def _export_files(
    app: App,
    client: TallyfyClient,
    org: OrgSettings,
    project: Project,
    repo: Repository,
    folder: Path,
    only: tuple[str, ...],
    force: bool,
) -> list[ExportFile] | None:
    """Read the org and make each template's file text; None when there is nothing to export."""
    live = read_org(client, org_readings(project, org, client.org_id).applies_to)

    def wanted(key: str) -> bool:
        return not only or any(fnmatch.fnmatchcase(key, pattern) for pattern in only)

    result = export_org(client, live, repo.templates, wanted)
    for found in result.conflicts:
        click.echo(app.style(f"Error: {found.message()} It was not exported.", fg="red"), err=True)
    for skipped in result.skipped:
        click.echo(app.style(f"Warning: {skipped}", fg="yellow"), err=True)
    if not result.templates:
        matched = f" matching {', '.join(only)}" if only else ""
        click.echo(f"The org '{org.name}' has no templates{matched} to export.")
        if result.conflicts:
            raise SystemExit(1)
        return None
    files = []
    for exported in sorted(result.templates, key=lambda e: e.key):
        path = target_path(exported, folder, repo)
        text = schema_comment(path, project) + file_text(_with_tests(exported, repo))
        declared, problems = read_back(text, display_path(path), exported.key)
        if declared is None:  # only with problems
            raise click.ClickException(
                f"export made a file for template {exported.key} that does not validate "
                f"(a bug in tallyform; please report it): {problems[0]}"
            )
        for warning in exported.warnings:
            click.echo(app.style(f"Warning: {warning}", fg="yellow"), err=True)
        status = _status(path, text, force, declared, org)
        files.append(ExportFile(exported, path, text, status, declared))
    if result.conflicts:
        raise SystemExit(1)
    return files


def _write(files: list[ExportFile], dry_run: bool, show_diff: bool) -> None:
    for item in files:
        shown = display_path(item.path)
        if item.status == "kept":
            click.echo(f"  ! {shown} differs from the org; left as it is")
        if item.status in ("kept", "updated") and show_diff:
            click.echo(_diff(item), nl=False)
        if item.status == "kept":
            continue
        label = {
            "new": "",
            "updated": " (would be overwritten)" if dry_run else " (overwritten)",
            "unchanged": " (unchanged)",
            "same": " (the same as the org's, written in another form; left as it is)",
        }[item.status]
        click.echo(f"  {SYMBOLS[item.status]} {shown}{label}")
        if item.status in ("new", "updated") and not dry_run:
            item.path.parent.mkdir(parents=True, exist_ok=True)
            item.path.write_text(item.text, "utf-8")


def _adopt(
    app: App,
    client: TallyfyClient,
    org: OrgSettings,
    project: Project,
    files: list[ExportFile],
    dry_run: bool,
    interrupts: InterruptGuard,
) -> bool:
    """Write the tallyform keys the exported objects lack; False when some could not be."""
    templates = [f.declared for f in files if f.status != "kept"]
    keys = [t.key for t in templates]
    if not keys:
        return True
    lock = (
        contextlib.nullcontext()
        if dry_run
        else org_lock(client, org, project.root, 0.0, False, lock_hooks())
    )
    with lock:  # a dry run writes nothing, not even the lock
        result = make_plan(
            client, org.name, templates, keys, org_readings(project, org, client.org_id).applies_to
        )
        if result.plan is None:
            app.report(result.problems)
            return False
        adopt, other = adoption_changes(result.plan.changes)
        for change in other:
            click.echo(
                app.style(
                    f"Warning: {change.name}: the exported file and the org still differ "
                    f"({change.action}); `tallyform plan` shows it. Please report this.",
                    fg="yellow",
                ),
                err=True,
            )
        writes = sum(c.writes for c in adopt)
        objects = sum(1 for c in adopt if c.kind != "key")
        if not adopt:
            click.echo("Every exported object already carries its tallyform key.")
            return True
        if dry_run:
            click.echo(
                f"Would adopt {objects} object(s): write their tallyform keys ({writes} writes)."
            )
            return True
        result.plan.changes = adopt
        interrupts.arm()
        report = apply_plan(client, result.plan, stop=interrupts.stop)
    for outcome in report.failed:
        where = f"template {outcome.scope}" if outcome.scope else "the tallyform keys"
        click.echo(f"Error: adopting {where} stopped: {outcome.error}", err=True)
    done = sum(1 for c in report.done if c.kind != "key")
    click.echo(f"Adopted {done} object(s): wrote their tallyform keys ({writes} writes).")
    if report.not_done:
        click.echo(
            "Run `tallyform export` again (or `tallyform apply`) to write the keys left.", err=True
        )
        return False
    return True


def _summary(files: list[ExportFile], dry_run: bool) -> None:
    counts = {status: sum(1 for f in files if f.status == status) for status in SYMBOLS}
    verb = "Would export" if dry_run else "Exported"
    parts = [
        f"{counts['new']} new",
        f"{counts['updated']} overwritten",
        f"{counts['unchanged'] + counts['same']} unchanged",
    ]
    if counts["kept"]:
        parts.append(f"{counts['kept']} left as they are")
    click.echo(f"{verb} {len(files)} template(s): {', '.join(parts)}.")
