"""Ctrl-C from the first moment a command runs: exit 130, never a traceback.

:func:`install` is the first thing the ``tallyform`` entry point does, before click, the
config reader or anything slow is imported. The first SIGINT then raises
``KeyboardInterrupt`` where the command is (so ``finally`` blocks and ``with`` blocks
still close files and release locks) and is remembered; the top level turns it into
exit 130 with one line, "Interrupted.". A second SIGINT, while the first is still being
handled, ends the process at once with 130. Once the command's exit code is known,
:func:`exit_at_once` makes any later SIGINT (while threads are joined and files closed
at interpreter exit) end the process at once with 130 too.

What must be said if the process ends at once (``apply``: its lock may be left) is set
with :func:`last_words`; every exit at once writes it to stderr first.

``apply`` arms its own handler while it carries out changes (the first Ctrl-C stops new
changes, a second exits at once) and puts this one back when it is done. This module
imports nothing but the standard library's ``os``, ``signal`` and ``sys``, so that
installing it costs nothing.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

INTERRUPTED = 130  # the exit code of a command ended by Ctrl-C (128 + SIGINT), as shells show it

_received = 0
_last_words = b""


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    global _received
    _received += 1
    if _received > 1:
        _exit_now(signum, frame)
    raise KeyboardInterrupt


def _exit_now(signum: int, frame: FrameType | None) -> None:
    exit_now()


def exit_now() -> None:
    """End the process at once with 130, saying the :func:`last_words` first."""
    if _last_words:
        try:  # noqa: SIM105 (this module imports only os, signal and sys)
            os.write(2, _last_words)
        except OSError:  # stderr closed: the exit code still says it
            pass
    os._exit(INTERRUPTED)


def last_words(text: str | None) -> None:
    """What an exit at once must say (None: nothing)."""
    global _last_words
    _last_words = f"\n{text}\n".encode() if text else b""


def _handle(handler: Callable[[int, FrameType | None], None]) -> bool:
    """Make ``handler`` SIGINT's; False where that cannot be (not the main thread)."""
    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:
        return False
    return True


def install() -> None:
    """Handle SIGINT as described above (only the main thread may; elsewhere, nothing)."""
    _handle(_on_interrupt)


def received() -> bool:
    """Whether Ctrl-C was pressed since :func:`install` (an abort was an interrupt)."""
    return _received > 0


def exit_at_once() -> None:
    """From now on, Ctrl-C ends the process at once with 130, whatever it is doing."""
    _handle(_exit_now)


def report() -> int:
    """Say that the command was interrupted; the exit code for it."""
    try:
        sys.stderr.write("\nInterrupted.\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or gone: the exit code still says it
        pass
    return INTERRUPTED
