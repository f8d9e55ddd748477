"""The command line: the only part of tallyform that uses click.

The entry point, :func:`main`, installs the Ctrl-C handler (:mod:`.interrupt`) before it
imports click or anything else slow, so that Ctrl-C at any moment of a command exits 130
without a traceback. Each command's module is imported when that command runs (or help
lists it), so a quick command starts without loading what the others need.
"""

from __future__ import annotations

import sys

from tallyform.cli import interrupt
from tallyform.lazy import lazy_names

TYPE_CHECKING = False  # not typing's: importing typing would delay the Ctrl-C handler
if TYPE_CHECKING:
    from tallyform.cli.app import cli


def main() -> None:
    """Console-script entry point: ``tallyform``."""
    interrupt.install()
    try:
        from tallyform.cli.app import run

        code = run()
    except KeyboardInterrupt:
        code = interrupt.report()
    interrupt.exit_at_once()
    sys.exit(code)


__getattr__ = lazy_names(__name__, {"cli": "app"})

__all__ = ["cli", "main"]
