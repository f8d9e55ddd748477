"""What every command gets: where the project is, and how to print (:class:`App`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import click

from tallyform.config import Problem, Project, find_config, load_project
from tallyform.errors import Failed


@dataclass
class App:
    """What every subcommand gets: where the project is, and how to print."""

    directory: Path | None
    config_file: Path | None
    color: bool | None
    verbose: int
    _project: Project | None = field(default=None, init=False, repr=False)

    def project(self) -> Project:
        """The project's settings, read once per command; a problem in tallyform.yaml ends
        the command with exit 1."""
        if self._project is None:
            path = find_config(self.directory, self.config_file)
            project, problems = load_project(path)
            if project is None:
                self.report(problems)
                raise Failed()
            self._project = project
        return self._project

    def report(self, problems: list[Problem]) -> None:
        """Print problems in the user's files, one `FILE:LINE:COLUMN: error: ...` line each."""
        for problem in problems:
            location = self.style(str(problem.location), bold=True)
            click.echo(f"{location}: {self.style('error', fg='red')}: {problem.message}", err=True)
        if len(problems) > 1:
            files = len({p.location.file for p in problems})
            click.echo(
                f"{len(problems)} problems in {files} file{'s' if files != 1 else ''}.", err=True
            )

    def style(self, text: str, **styles: object) -> str:
        return click.style(text, **styles) if self.color is not False else text  # type: ignore[arg-type]


pass_app = click.make_pass_decorator(App)
