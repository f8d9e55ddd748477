"""Commands that work on the user's files only, offline: init, fmt, schema (validate: validate.py)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import click

from tallyform.cli.context import App, pass_app
from tallyform.config import Document, display_path, template_files
from tallyform.config.schema import SCHEMA_NAMES
from tallyform.config.starter import schema_text, write_starter
from tallyform.errors import Failed, TallyformError

_ORG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ORG_ID = re.compile(r"^[a-f0-9]{32}$")


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--empty",
    is_flag=True,
    help="Write no starter template (to bring an existing org in with `export`).",
)
@click.option(
    "--org",
    "org_name",
    metavar="NAME",
    help="Add a Tallyfy org by this name and make it the default org (needs --org-id).",
)
@click.option(
    "--org-id",
    metavar="ID",
    help="The Tallyfy org's id, 32 hex characters (Settings > Organization).",
)
def init(directory: Path, empty: bool, org_name: str | None, org_id: str | None) -> None:
    """Write a starter project into DIRECTORY (default: here).

    Its default org is the embedded emulator, so `tallyform plan` works at once,
    with no Tallyfy account. To bring an existing org under version control:
    `tallyform init DIR --empty --org production --org-id ID`, then `tallyform export`.
    """
    org = _org_option(org_name, org_id)
    try:
        written = write_starter(directory, empty=empty, org=org)
    except FileExistsError as existing:
        raise TallyformError(f"{existing} already exists; nothing was written") from None
    for path in written:
        click.echo(f"created {display_path(path.resolve())}")
    where = "" if directory == Path(".") else f" -C {directory}"
    if org is None:
        click.echo(f"\nNext: tallyform{where} validate")
    else:
        click.echo(
            f"\nNext: set TALLYFY_API_TOKEN to a token of the org '{org[0]}', then "
            f"tallyform{where} export --dry-run"
        )


def _org_option(name: str | None, org_id: str | None) -> tuple[str, str] | None:
    """``(name, id)`` of the org --org and --org-id add, or None; a usage error if unusable."""
    if name is None and org_id is None:
        return None
    if name is None or org_id is None:
        missing = "--org-id ID" if org_id is None else "--org NAME"
        raise click.UsageError(f"--org and --org-id go together: add {missing}")
    if not _ORG_NAME.match(name) or name == "local":
        raise click.UsageError(
            f"--org '{name}' cannot name the org: use letters, digits, '_' and '-', "
            "not 'local' (the embedded emulator's name), like --org production"
        )
    if not _ORG_ID.match(org_id):
        raise click.UsageError(
            f"--org-id must be the 32-character lowercase hex id shown in Tallyfy's "
            f"Settings > Organization; '{org_id}' is not"
        )
    return name, org_id


@click.command()
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing; exit 1 if any file is not canonical or not valid.",
)
@click.option("--diff", is_flag=True, help="Print each change as a unified diff.")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def fmt(app: App, check: bool, diff: bool, files: tuple[Path, ...]) -> None:
    """Rewrite template files in canonical form (key order, indentation, flow style).

    Formats FILES, or every template file of the project. Comments are kept. A file
    `validate` refuses is left as it is and fails the command, with validate's message
    (with --check too): fmt never moves what it cannot yet place.
    """
    from tallyform.config.fmt import FmtResult, format_file, write_formatted  # ruamel: fmt

    paths = list(files) or template_files(app.project())
    failed = False
    readable: dict[Path, Document | None] = {}
    changed: list[FmtResult] = []
    for path in paths:
        result = format_file(path)
        name = display_path(path.resolve())
        if result.error:
            click.echo(
                f"{name}:{result.error}"
                if result.error[:1].isdigit()
                else f"{name}: {result.error}",
                err=True,
            )
            failed = True
            continue
        readable[path] = result.document
        if result.changed:
            changed.append(result)
    from tallyform.cli.validate import check_files

    read = {path: document for path, document in readable.items() if document}
    problems = check_files(app, list(readable), read).problems
    app.report(problems)
    refused = {Path(p.location.file).resolve() for p in problems}
    for result in changed:
        name = display_path(result.path.resolve())
        if not check and result.path.resolve() in refused:
            click.echo(f"{name}: left as it is until validate accepts it", err=True)
            continue
        if not check:
            write_formatted(result)
        click.echo(f"{'would reformat' if check else 'reformatted'} {name}")
        if diff:
            _print_diff(name, result.before or "", result.after or "")
    if failed or problems or (check and changed):
        raise Failed()


def _print_diff(name: str, before: str, after: str) -> None:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), name, name
    )
    click.echo("".join(lines), nl=False)


@click.command()
@click.argument("name", type=click.Choice(SCHEMA_NAMES), default="template")
def schema(name: str) -> None:
    """Print the JSON Schema of template files (or of tallyform.yaml: `schema project`).

    Editors use it through the modeline at the top of each file:
    `# yaml-language-server: $schema=../schemas/template.schema.json`.
    """
    click.echo(schema_text(name), nl=False)
