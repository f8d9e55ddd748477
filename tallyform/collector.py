"""Pausing Python's cyclic garbage collector while tallyform builds big object graphs.

Reading a 1,000-template org or state file makes millions of dicts and lists and almost
no cyclic garbage (a few hundred objects a plan); the collector would walk the young
ones again and again (0.3 s of a 1,000-template plan, half of a state file's load).
Reference counting still frees everything else while it is paused. Once it is over,
what was made meanwhile and still lives moves to the collector's permanent generation
(``gc.freeze``): otherwise the first collection after the pause walks all of it at once
(0.4 s at 1,000 templates). A cycle among those objects that becomes garbage later is
freed only at exit; there are a few hundred such objects a plan.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off inside, and as it was after (nested pauses leave it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()
