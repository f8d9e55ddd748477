"""The ``tallyform`` command group: global options, shared state, and exit codes.

Exit codes follow Terraform: 0 success, 1 any error (bad input, API failure, usage
errors included), 2 only for ``plan --detailed-exitcode`` when there are changes. click's
own exit code 2 for usage errors is therefore mapped to 1.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from tallyform import __version__
from tallyform.client.redact import install_log_redaction
from tallyform.config import ConfigError, Problem, Project, find_config, load_project


@dataclass
class App:
    """What every subcommand gets: where the project is, and how to print."""

    directory: Path | None
    config_file: Path | None
    color: bool | None
    verbose: int

    def project(self) -> Project:
        """The project's settings; a problem in tallyform.yaml ends the command with exit 1."""
        path = find_config(self.directory, self.config_file)
        project, problems = load_project(path)
        if project is None:
            self.report(problems)
            raise SystemExit(1)
        return project

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


def _color_choice(no_color: bool) -> bool | None:
    if no_color or os.environ.get("NO_COLOR"):
        return False
    return None  # let click decide from the terminal


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("tallyform")
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_log_redaction()


class TallyformGroup(click.Group):
    """A click group whose every failure exits 1 with a one-line message, never a traceback."""

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code = self._exit_code(args, prog_name or "tallyform", extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def _exit_code(self, args: Any, prog_name: str, extra: dict[str, Any]) -> int:
        try:
            result = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            return 1
        except click.ClickException as error:
            error.show()
            return 1
        except ConfigError as error:
            click.echo(f"Error: {error}", err=True)
            return 1
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 1
        return result if isinstance(result, int) else 0


@click.group(
    cls=TallyformGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="tallyform")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run as if started in DIR (where tallyform.yaml is).",
    metavar="DIR",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this project file instead of looking for tallyform.yaml.",
    metavar="FILE",
)
@click.option("--no-color", is_flag=True, help="Plain output (also when NO_COLOR is set).")
@click.option("-v", "--verbose", count=True, help="Log more: -v requests, -vv everything.")
@click.pass_context
def cli(
    ctx: click.Context,
    directory: Path | None,
    config_file: Path | None,
    no_color: bool,
    verbose: int,
) -> None:
    """Keep Tallyfy workflow templates in git: validate, plan, apply.

    Templates, their steps, form fields and kick-off forms are declared in YAML next to a
    tallyform.yaml. Start with `tallyform init`, check files with `tallyform validate`.
    """
    color = _color_choice(no_color)
    ctx.color = color
    _setup_logging(verbose)
    ctx.obj = App(directory=directory, config_file=config_file, color=color, verbose=verbose)


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="tallyform")
