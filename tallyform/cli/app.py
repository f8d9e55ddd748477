"""The ``tallyform`` command group: global options, shared state, and exit codes.

Exit codes follow Terraform: 0 success, 1 any error (bad input, API failure, usage
errors included), 2 only for ``plan --detailed-exitcode`` when there are changes. click's
own exit code 2 for usage errors is therefore mapped to 1.

The global options (``-C DIR``, ``--config FILE``, ``--no-color``, ``-v``) are accepted
before or after the command: ``tallyform plan -v`` is ``tallyform -v plan``; each command
takes them as options of its own (:func:`global_options`), parsed by click. No Python
traceback reaches a user: an unexpected exception is reported in one short message, and
its traceback, secrets masked, goes to a file the message names.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from tallyform import __version__
from tallyform.cli import interrupt
from tallyform.client.redact import MASK, install_log_redaction, redact
from tallyform.config import Problem, Project, find_config, load_project
from tallyform.errors import TallyformError


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
                raise SystemExit(1)
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


NOT_FORCED = ("", "0", "false")  # FORCE_COLOR values that force nothing, as Node's tools read them


def color_choice(no_color: bool) -> bool | None:
    """Whether to colour output: False with --no-color or NO_COLOR (they win), True with
    FORCE_COLOR (CI logs show colour without a terminal), else None: click colours only
    a terminal."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR", "").strip().lower() not in NOT_FORCED:
        return True
    return None


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("tallyform")
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_log_redaction()


SECRET_OPTIONS = ("--token",)  # options whose value a crash report must not show
REPORT_HINT = (
    "Please report it to the tallyform maintainers with that file attached "
    "(read it first: it holds the command line and the traceback, secrets masked)."
)


def _app(ctx: click.Context) -> App | None:
    found = ctx.find_object(App)
    return found if isinstance(found, App) else None


def _set_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """``-C DIR`` and ``--config FILE`` after the command: the App's field of the same
    name as the group's own option (``global_directory`` -> ``directory``)."""
    app = _app(ctx)
    if app is not None and value is not None and param.name:
        setattr(app, param.name.removeprefix("global_"), value)


def _set_no_color(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    app = _app(ctx)
    if app is not None and value:
        app.color = ctx.color = False


def _add_verbose(ctx: click.Context, _: click.Parameter, value: int) -> None:
    app = _app(ctx)
    if app is not None and value:
        app.verbose += value
        _setup_logging(app.verbose)


def global_options() -> list[click.Option]:
    """The options every command also takes after its name (``tallyform plan -v
    --no-color``), as the group takes them before it: written once, and attached to each
    command as it is loaded (:meth:`TallyformGroup.get_command`); each adds to the App
    the group made."""
    return [
        click.Option(
            ["-C", "global_directory"],
            type=click.Path(file_okay=False, path_type=Path),
            metavar="DIR",
            expose_value=False,
            callback=_set_path,
            help="Run as if started in DIR (where tallyform.yaml is).",
        ),
        click.Option(
            ["--config", "global_config_file"],
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="FILE",
            expose_value=False,
            callback=_set_path,
            help="Use this project file instead of looking for tallyform.yaml.",
        ),
        click.Option(
            ["--no-color", "global_no_color"],
            is_flag=True,
            expose_value=False,
            callback=_set_no_color,
            help="Plain output (also when NO_COLOR is set).",
        ),
        click.Option(
            ["-v", "--verbose", "global_verbose"],
            count=True,
            expose_value=False,
            callback=_add_verbose,
            help="Log more: -v requests, -vv everything.",
        ),
    ]


def with_global_options(command: click.Command) -> click.Command:
    """``command`` (and each command of a group) taking the global options too, where it
    does not define an option of the same name itself."""
    own = {name for param in command.params for name in getattr(param, "opts", [])}
    for option in global_options():
        if not own & set(option.opts):
            command.params.append(option)
    if isinstance(command, click.Group):
        for inner in command.commands.values():
            with_global_options(inner)
    return command


def _shown_arguments(args: Sequence[str]) -> str:
    """The command line for a crash report, with the values of secret options masked."""
    shown: list[str] = []
    for position, token in enumerate(args):
        name = token.split("=", 1)[0]
        if name in SECRET_OPTIONS and "=" in token:
            token = f"{name}={MASK}"
        elif position and args[position - 1] in SECRET_OPTIONS:
            token = MASK
        shown.append(token)
    return redact(" ".join(shown))


def write_crash_report(error: BaseException, args: Sequence[str]) -> Path:
    """Write the traceback of an unexpected ``error``, secrets masked, to a new file; its path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = "\n".join(
        [
            f"tallyform {__version__}, Python {platform.python_version()}, {platform.platform()}",
            f"command: tallyform {_shown_arguments(args)}",
            "",
            "".join(traceback.format_exception(type(error), error, error.__traceback__)),
        ]
    )
    handle, name = tempfile.mkstemp(prefix=f"tallyform-crash-{stamp}-", suffix=".txt")
    with os.fdopen(handle, "w", encoding="utf-8", errors="replace") as out:
        out.write(redact(text))
    return Path(name)


def report_crash(error: BaseException, args: Sequence[str]) -> None:
    """Tell the user, in a few lines, that tallyform failed unexpectedly and what to do."""
    detail = redact(str(error)).strip().splitlines()
    what = type(error).__name__ + (f": {detail[0][:300]}" if detail else "")
    try:
        where = f"The full traceback is in {write_crash_report(error, args)}."
    except OSError as unwritable:
        where = (
            f"The traceback could not be written to a file ({unwritable.strerror or unwritable})."
        )
    click.echo(
        f"Error: tallyform stopped unexpectedly ({what}).\n"
        f"This is a bug in tallyform. {where}\n{REPORT_HINT}",
        err=True,
    )


class TallyformGroup(click.Group):
    """A click group whose every failure exits 1 with a short message, never a traceback.

    Each command also takes the global options (:func:`with_global_options`). A
    command registered with :meth:`add_lazy` is imported only when it is run or listed,
    so that `validate` does not start by loading the API client, the planner and the
    emulator.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}  # command name -> "module:attribute"

    def add_lazy(self, name: str, where: str) -> None:
        self.lazy[name] = where

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            loaded = getattr(importlib.import_module(module), attribute)
            self.add_command(with_global_options(loaded), cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; problems in the user's files it ends with are each printed at
        their place (:class:`tallyform.engine.session.ProblemsFound`), then exit 1."""
        try:
            return super().invoke(ctx)
        except TallyformError as error:
            from tallyform.engine.session import ProblemsFound  # only an error pays for it

            app = _app(ctx)
            if not isinstance(error, ProblemsFound) or app is None:
                raise
            app.report(error.problems)
            raise SystemExit(error.exit_code) from None

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
        arguments = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            if interrupt.received():  # click turns a KeyboardInterrupt into Abort
                return interrupt.report()
            click.echo("Aborted.", err=True)
            return 1
        except click.ClickException as error:
            error.show()
            return 1
        except TallyformError as error:  # every error a user can act on (tallyform.errors)
            click.echo(f"Error: {error}", err=True)
            return error.exit_code
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 1
        except Exception as error:  # the last resort: a bug, reported without a traceback
            report_crash(error, arguments)
            return 1
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
@click.option(
    "--no-color",
    is_flag=True,
    help="Plain output (also when NO_COLOR is set); FORCE_COLOR colours output without a terminal.",
)
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
    The options below may also follow the command: `tallyform plan -v --no-color`.
    """
    color = color_choice(no_color)
    ctx.color = color
    _setup_logging(verbose)
    ctx.obj = App(directory=directory, config_file=config_file, color=color, verbose=verbose)


# A plan of a big org holds about a million live objects (1,000 templates), none of them
# garbage; Python's default collector looks at them again every 700 allocations. A
# higher first threshold cuts a re-plan's CPU by about a third (measured: 1.1-1.6 s to
# 0.7-0.8 s at 300 templates) and still frees cyclic garbage.
GC_THRESHOLDS = (50_000, 20, 20)


COMMANDS = {  # imported when run or listed (TallyformGroup.add_lazy)
    "init": "tallyform.cli.files:init",
    "validate": "tallyform.cli.validate:validate",
    "fmt": "tallyform.cli.files:fmt",
    "schema": "tallyform.cli.files:schema",
    "plan": "tallyform.cli.plan:plan",
    "show": "tallyform.cli.show:show",
    "apply": "tallyform.cli.apply:apply",
    "export": "tallyform.cli.export:export",
    "probe": "tallyform.cli.probe:probe",
    "emulator": "tallyform.cli.emulator:emulator",
    "check": "tallyform.cli.logic:check",
    "test": "tallyform.cli.logic:test",
    "graph": "tallyform.cli.logic:graph",
}
for _name, _where in COMMANDS.items():
    cli.add_lazy(_name, _where)


def run() -> int:
    """Run the command line in ``sys.argv``; its exit code (:func:`tallyform.cli.main`
    installs the Ctrl-C handler first, then calls this)."""
    gc.set_threshold(*GC_THRESHOLDS)
    code: int = cli.main(prog_name="tallyform", standalone_mode=False)
    return code
