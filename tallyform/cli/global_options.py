"""The options every command takes, before or after its name: ``-C DIR``, ``--config
FILE``, ``--no-color``, ``-v``; the colour choice and the log they set.

``tallyform plan -v`` is ``tallyform -v plan``: each command takes them as options of its
own (:func:`with_global_options`), parsed by click, each adding to the :class:`App` the
group made.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from tallyform.cli.context import App
from tallyform.client.redact import install_log_redaction

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


def setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("tallyform")
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_log_redaction()


def find_app(ctx: click.Context) -> App | None:
    found = ctx.find_object(App)
    return found if isinstance(found, App) else None


def _set_path(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
    """``-C DIR`` and ``--config FILE`` after the command: the App's field of the same
    name as the group's own option (``global_directory`` -> ``directory``)."""
    app = find_app(ctx)
    if app is not None and value is not None and param.name:
        setattr(app, param.name.removeprefix("global_"), value)


def _set_no_color(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    app = find_app(ctx)
    if app is not None and value:
        app.color = ctx.color = False


def _add_verbose(ctx: click.Context, _: click.Parameter, value: int) -> None:
    app = find_app(ctx)
    if app is not None and value:
        app.verbose += value
        setup_logging(app.verbose)


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
