"""Progress of a long apply: how many changes are done and left, the rate-limit wait, and
an estimate of the time left.

Each change done is still one line on stderr (``+ template x created``). Besides:

- on a terminal, one status line under them, redrawn as each change is done;
- elsewhere (CI logs), a counter line every :data:`EVERY` seconds (``TALLYFORM_PROGRESS_EVERY``
  sets another interval), so a long apply's log says how far it is without a line per redraw.

The estimate is the time per change so far times the changes left; it is said once a few
changes are done and a second has passed, and rounded, as it is rough by nature.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import Protocol, TextIO

import click

EVERY = 5.0  # seconds between counter lines when stderr is not a terminal
SETTLED = 1.0  # seconds before any estimate of the time left is made
CLEAR = "\r\x1b[K"  # back to the line's start, and erase it


class Waited(Protocol):
    """What the counter reads of the client: its rate-limit wait so far (ClientStats)."""

    @property
    def waited(self) -> float: ...


def duration(seconds: float) -> str:
    """A rough span: '40 s', '3 min', '1 h 5 min'."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def every_from_environment(default: float = EVERY) -> float:
    """The CI counter's interval: ``TALLYFORM_PROGRESS_EVERY`` seconds, else ``default``."""
    given = os.environ.get("TALLYFORM_PROGRESS_EVERY", "").strip()
    try:
        return max(0.0, float(given)) if given else default
    except ValueError:
        return default


class Counter:
    """Counts the changes apply has done of ``total`` and says so on ``out``.

    ``line(text)`` prints a change's own line; ``done()`` counts one change; ``finish()``
    clears the terminal's status line. Safe to call from apply's worker threads.
    """

    def __init__(
        self,
        total: int,
        stats: Waited,
        out: TextIO,
        *,
        terminal: bool,
        every: float = EVERY,
        clock: Callable[[], float] = time.monotonic,
        color: bool | None = None,
    ) -> None:
        self.total = total
        self.stats = stats
        self.out = out
        self.terminal = terminal
        self.every = every
        self.clock = clock
        self.color = color
        self.started = clock()
        self.last = self.started  # when the latest counter line was printed (not a terminal)
        self.count = 0
        self.drawn = False  # a status line is on the terminal
        self._lock = threading.Lock()

    def status(self) -> str:
        """'12 of 40 changes done, 28 left, 3.1 s waiting for the rate limit, about 2 min left'."""
        left = self.total - self.count
        said = [f"{self.count} of {self.total} changes done", f"{left} left"]
        waited = self.stats.waited
        if waited >= 0.05:
            said.append(f"{waited:.1f} s waiting for the rate limit")
        elapsed = self.clock() - self.started
        if left and self.count >= 3 and elapsed >= SETTLED:
            said.append(f"about {duration(elapsed / self.count * left)} left")
        return ", ".join(said)

    def _echo(self, text: str, newline: bool = True) -> None:
        click.echo(text, file=self.out, nl=newline, color=self.color)

    def change(self, line: str) -> None:
        """One change is done: print its line, count it and say how far apply is."""
        with self._lock:
            self.count += 1
            if self.terminal:  # written as it is: click would take CLEAR for colour
                width = shutil.get_terminal_size().columns - 1
                status = f"  {self.status()}"[:width]
                self.out.write(f"{CLEAR if self.drawn else ''}{line}\n{status}")
                self.out.flush()
                self.drawn = True
                return
            self._echo(line)
            now = self.clock()
            if now - self.last >= self.every and self.count < self.total:
                self.last = now
                self._echo(f"Progress: {self.status()}.")

    def finish(self) -> None:
        """Clear the terminal's status line (the closing report follows)."""
        with self._lock:
            if self.drawn:
                self.out.write(CLEAR)
                self.out.flush()
                self.drawn = False
