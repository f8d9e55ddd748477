"""The ``tallyform`` command group: its options, its commands, and the entry point's run.

Each command's module is imported when that command runs (or help lists it), so a quick
command starts without loading what the others need (:mod:`.group`). The global options
(``-C DIR``, ``--config FILE``, ``--no-color``, ``-v``) are accepted before or after the
command (:mod:`.global_options`).
"""

from __future__ import annotations

import gc
from pathlib import Path

import click

from tallyform import __version__
from tallyform.cli.context import App as App
from tallyform.cli.context import pass_app as pass_app
from tallyform.cli.global_options import color_choice, setup_logging
from tallyform.cli.group import TallyformGroup


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
    setup_logging(verbose)
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
