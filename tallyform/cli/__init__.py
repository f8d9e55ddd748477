"""The command line: the only part of tallyform that uses click.

Each command's module is imported when that command runs (or help lists it), so a quick
command starts without loading what the others need.
"""

from tallyform.cli.app import cli, main

for _name, _where in {
    "init": "tallyform.cli.files:init",
    "validate": "tallyform.cli.files:validate",
    "fmt": "tallyform.cli.files:fmt",
    "schema": "tallyform.cli.files:schema",
    "plan": "tallyform.cli.plan:plan",
    "apply": "tallyform.cli.apply:apply",
    "emulator": "tallyform.cli.emulator:emulator",
}.items():
    cli.add_lazy(_name, _where)

__all__ = ["cli", "main"]
