"""Commands that work on the user's files only, offline: init, fmt, schema (validate: validate.py)."""

from __future__ import annotations

from pathlib import Path

import click

from tallyform.cli.app import App, pass_app
from tallyform.config import display_path, template_files
from tallyform.config.schema import SCHEMA_NAMES
from tallyform.config.starter import schema_text, write_starter


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Write a starter project into DIRECTORY (default: here).

    Its default org is the embedded emulator, so `tallyform plan` works at once,
    with no Tallyfy account.
    """
    try:
        written = write_starter(directory)
    except FileExistsError as existing:
        raise click.ClickException(f"{existing} already exists; nothing was written") from None
    for path in written:
        click.echo(f"created {display_path(path.resolve())}")
    where = "" if directory == Path(".") else f" -C {directory}"
    click.echo(f"\nNext: tallyform{where} validate")


@click.command()
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if any file is not canonical.")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def fmt(app: App, check: bool, files: tuple[Path, ...]) -> None:
    """Rewrite template files in canonical form (key order, indentation, flow style).

    Formats FILES, or every template file of the project. Comments are kept.
    """
    from tallyform.config.fmt import format_file  # ruamel.yaml: only fmt needs it

    paths = list(files) or template_files(app.project())
    failed = False
    for path in paths:
        result = format_file(path, check=check)
        name = display_path(path.resolve())
        if result.error:
            click.echo(
                f"{name}:{result.error}"
                if result.error[:1].isdigit()
                else f"{name}: {result.error}",
                err=True,
            )
            failed = True
        elif result.changed:
            click.echo(f"{'would reformat' if check else 'reformatted'} {name}")
            failed = failed or check
    if failed:
        raise SystemExit(1)


@click.command()
@click.argument("name", type=click.Choice(SCHEMA_NAMES), default="template")
def schema(name: str) -> None:
    """Print the JSON Schema of template files (or of tallyform.yaml: `schema project`).

    Editors use it through the modeline at the top of each file:
    `# yaml-language-server: $schema=../schemas/template.schema.json`.
    """
    click.echo(schema_text(name), nl=False)
