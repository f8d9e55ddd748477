"""The command line: the only part of tallyform that uses click.

Each command's module is imported when that command runs (or help lists it), so a quick
command starts without loading what the others need.
"""

from tallyform.cli.app import cli, main

for _name, _where in {
    "init": "tallyform.cli.files:init",
    "validate": "tallyform.cli.validate:validate",
    "fmt": "tallyform.cli.files:fmt",
    "schema": "tallyform.cli.files:schema",
    "plan": "tallyform.cli.plan:plan",
    "show": "tallyform.cli.show:show",
    "apply": "tallyform.cli.apply:apply",
    "export": "tallyform.cli.export:export",
    "emulator": "tallyform.cli.emulator:emulator",
    "check": "tallyform.cli.logic:check",
    "test": "tallyform.cli.logic:test",
    "graph": "tallyform.cli.logic:graph",
}.items():
    cli.add_lazy(_name, _where)

__all__ = ["cli", "main"]
