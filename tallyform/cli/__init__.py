"""The command line: the only part of tallyform that uses click."""

from tallyform.cli import files
from tallyform.cli.app import cli, main

cli.add_command(files.init)
cli.add_command(files.validate)
cli.add_command(files.fmt)
cli.add_command(files.schema)

__all__ = ["cli", "main"]
