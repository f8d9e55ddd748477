"""Rows that move between pages while a list is read (the ``page_drift`` quirk).

Tallyfy lists templates newest-edited first, so an edit made while a client reads pages
2..N moves that template to the top of page 1, which the client has already read: every
row before it shifts down one place, the last row of each earlier page is seen again at
the top of the next, and the edited template is never seen (audit P3). :class:`PageDrift`
plays that edit once for every read of page 2 or later: a row from beyond page 1, picked
from a random stream seeded by the fault seed, moves to the top, and stays there (the
order of later reads includes every earlier move), so a run is reproducible.
"""

from __future__ import annotations

import random
from typing import Any


class PageDrift:
    """The rows moved to the top so far, latest first, and the stream that picks the next."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._moved: list[str] = []

    def order(self, rows: list[dict[str, Any]], page: int, per_page: int) -> list[dict[str, Any]]:
        """``rows`` (in the list's order, each with an ``id``) as a read of ``page`` sees them."""
        arranged = self._arranged(rows)
        if page >= 2 and len(arranged) > per_page:
            moved = arranged[self._random.randrange(per_page, len(arranged))]
            self._moved = [moved["id"], *(i for i in self._moved if i != moved["id"])]
            arranged = self._arranged(rows)
        return arranged

    def _arranged(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rank = {row_id: place for place, row_id in enumerate(self._moved)}
        top = sorted((r for r in rows if r["id"] in rank), key=lambda r: rank[r["id"]])
        return top + [r for r in rows if r["id"] not in rank]
