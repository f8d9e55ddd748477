"""The command line: the only part of tallyform that uses click."""

from tallyform.cli import apply, emulator, export, files, plan, show, validate
from tallyform.cli.app import cli, main

cli.add_command(files.init)
cli.add_command(validate.validate)
cli.add_command(files.fmt)
cli.add_command(files.schema)
cli.add_command(plan.plan)
cli.add_command(show.show)
cli.add_command(apply.apply)
cli.add_command(export.export)
cli.add_command(emulator.emulator)

__all__ = ["cli", "main"]
