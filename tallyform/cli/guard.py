"""Ctrl-C while changes are made, as in Terraform: the first stops new changes from
starting and lets those under way finish; a second ends the process at once (130).

The engine is told through the guard's ``stop`` event; this module only owns the signal
and the line that says what the first Ctrl-C does.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

import click

from tallyform.cli import interrupt


class InterruptGuard:
    """Once armed, the first SIGINT sets ``stop`` and a second ends the process at once (130).

    It stays armed until the block ends, so a Ctrl-C while the report is printed or the
    lock released is handled the same way.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._previous: Any = None
        self._armed = False

    def arm(self) -> None:
        try:
            self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
            self._armed = True
        except ValueError:  # not the main thread: signals stay as they are
            pass

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            interrupt.exit_now()
        self.stop.set()
        click.echo(
            "\nInterrupted: finishing the changes under way and starting no new ones "
            "(press Ctrl-C again to quit at once).",
            err=True,
        )

    def __enter__(self) -> InterruptGuard:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._armed and not self.stop.is_set():
            signal.signal(signal.SIGINT, self._previous)
        # Interrupted: the command is ending with 130; a second Ctrl-C until the process
        # is gone still exits at once with 130 rather than a KeyboardInterrupt.
