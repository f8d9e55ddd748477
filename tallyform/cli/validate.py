"""``tallyform validate``: every problem in the project's files, offline, in one run.

Three formats: ``text`` (``FILE:LINE:COLUMN: error: message``, for people), ``github``
(GitHub Actions annotations, so each problem shows on its line of a pull request's diff;
paths relative to the repository's root) and ``json`` (one document, for programs). The
exit code is the same in all three: 1 if there is any problem, else 0.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from tallyform.cli.context import App, pass_app
from tallyform.config import (
    CONFIG_NAME,
    ConfigError,
    Document,
    OrgSettings,
    Problem,
    find_config,
    load_project,
    load_template_file,
    load_templates,
    template_files,
)
from tallyform.config.semantics import check_template_keys
from tallyform.errors import Failed
from tallyform.model import Template
from tallyform.render.places import from_root, in_repository, moved_problems, working_root
from tallyform.render.problems import Report, render_github, render_problems_json


def _config_of(app: App, file: Path) -> Path | None:
    """The tallyform.yaml a file belongs to: -C's or --config's when given, else the
    nearest above the file (so a hook run from the repository's root finds a project in
    a subfolder); None outside any project."""
    if app.directory is not None or app.config_file is not None:
        try:
            return find_config(app.directory, app.config_file)
        except ConfigError:
            return None
    for folder in Path(os.path.abspath(file)).parents:
        if (folder / CONFIG_NAME).is_file():
            return (folder / CONFIG_NAME).resolve()
    return None


def check_files(
    app: App, files: Sequence[Path], read: Mapping[Path, Document] | None = None
) -> Report:
    """What is wrong with the template files given, and with the tallyform.yaml of each
    one's project (whose orgs' variables it is checked with; none outside a project). A
    tallyform.yaml given stands for its whole project.

    ``read``: documents of some of the files, already read (fmt has them).
    """
    problems: list[Problem] = []
    projects: dict[Path | None, list[OrgSettings]] = {None: []}
    templates: dict[Path | None, list[Template]] = {}
    queue = list(dict.fromkeys(files))
    for path in queue:
        config = _config_of(app, path)
        if config not in projects:
            project, found = load_project(config) if config else (None, [])
            problems += found
            projects[config] = list(project.orgs.values()) if project else []
        if path.name == CONFIG_NAME:
            # tallyform.yaml changed: every template of its project may have (variables).
            if config is not None and Path(os.path.abspath(path)) == config:
                project, _ = load_project(config)
                more = template_files(project) if project else []
                queue += [file for file in more if file not in queue]
            continue
        template, found = load_template_file(path, projects[config], (read or {}).get(path))
        problems += found
        if template is not None:
            templates.setdefault(config, []).append(template)
    for group in templates.values():
        problems += check_template_keys(group)
    count = sum(path.name != CONFIG_NAME for path in queue)
    return Report(problems=sorted(set(problems)), unplaced=[], templates=count)


def check_project(app: App) -> Report:
    """Read tallyform.yaml and every template file; what is wrong with any of them."""
    try:
        config = find_config(app.directory, app.config_file)
    except ConfigError as error:
        return Report(problems=[], unplaced=[str(error)], templates=0)
    project, problems = load_project(config)
    if project is None:
        return Report(problems=problems, unplaced=[], templates=0)
    _, problems = load_templates(project)
    return Report(problems=problems, unplaced=[], templates=len(template_files(project)))


def summary_line(report: Report) -> str:
    if report.count == 0:
        count = report.templates
        return f"{count} template{'s' if count != 1 else ''} valid."
    files = report.files
    return f"{report.count} problem{'s' if report.count != 1 else ''} in {files} file{'s' if files != 1 else ''}."


def print_text(app: App, report: Report) -> None:
    """As people read it: `FILE:LINE:COLUMN: error: message` lines on stderr."""
    for message in report.unplaced:
        click.echo(f"Error: {message}", err=True)
    app.report(report.problems)
    if report.count == 0:
        click.echo(summary_line(report))


@click.command()
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text for people; github: GitHub Actions annotations on each problem's line; "
    "json: one document for programs.",
)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def validate(app: App, output: str, files: tuple[Path, ...]) -> None:
    """Check tallyform.yaml and every template file (or only FILES), offline.

    Every problem is reported at once, one line each, as

    \b
      FILE:LINE:COLUMN: error: message

    or, with --format github, as `::error file=...,line=...,col=...::message` lines that
    GitHub shows on the pull request's diff (paths from the repository's root), or, with
    --format json, as one document listing every problem and a summary.

    Exits 1 if there is any problem, 0 when all files are valid. Nothing is sent to Tallyfy.
    """
    report = check_files(app, files) if files else check_project(app)
    if output == "json":
        click.echo(render_problems_json(report), nl=False)
    elif output == "github":
        click.echo(render_github(in_repository(report)), nl=False)
        click.echo(summary_line(report), err=report.count > 0)
    else:
        print_text(app, report)
    if report.count:
        raise Failed()


# ``check`` and ``test`` place their findings as validate places problems.
__all__ = ["check_files", "from_root", "moved_problems", "validate", "working_root"]
