"""The ``tallyform`` command group's class: commands loaded when run, and every failure
turned into its exit code with a short message, never a traceback.

Exit codes follow Terraform: 0 success, 1 any error (bad input, API failure, usage errors
included: click's own 2 for usage errors is mapped to 1), 2 only for ``--detailed-exitcode``
when there are changes, 130 interrupted. A command ends otherwise than with success only
by raising a :class:`~tallyform.errors.TallyformError`, which carries its exit code
(:class:`~tallyform.errors.Outcome`: one that has nothing more to say), or one of click's
usage errors; :meth:`TallyformGroup.main` is the one place that turns them into the exit
code. Anything else is a bug (:mod:`.crash`).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from tallyform.cli import interrupt
from tallyform.cli.crash import report_crash
from tallyform.cli.global_options import find_app, with_global_options
from tallyform.errors import Failed, Outcome, TallyformError


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

            app = find_app(ctx)
            if not isinstance(error, ProblemsFound) or app is None:
                raise
            app.report(error.problems)
            raise Failed() from None

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
            if not isinstance(error, Outcome):
                click.echo(f"Error: {error}", err=True)
            return error.exit_code
        except Exception as error:  # the last resort: a bug, reported without a traceback
            report_crash(error, arguments)
            return 1
        return result if isinstance(result, int) else 0
