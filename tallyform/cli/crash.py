"""What a user sees of a bug: one short message, and a file holding the traceback
(secrets masked) to attach to a bug report, never a traceback on the terminal."""

from __future__ import annotations

import os
import platform
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from tallyform import __version__
from tallyform.client.redact import MASK, redact

SECRET_OPTIONS = ("--token",)  # options whose value a crash report must not show
REPORT_HINT = (
    "Please report it to the tallyform maintainers with that file attached "
    "(read it first: it holds the command line and the traceback, secrets masked)."
)


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
