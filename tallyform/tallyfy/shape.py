"""Checking that an answer holds what tallyform reads from it, before it is read.

Tallyfy's answers are trusted to carry ``id`` and the few fields tallyform looks up; when
one does not (an API change, a proxy, a half-written member), the error names the request
and what was missing, instead of a bare ``KeyError`` far from the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tallyform.client.errors import UnexpectedAnswer


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def require_members(rows: Iterable[Any], path: str, *keys: str, method: str = "GET") -> None:
    """Raise :class:`UnexpectedAnswer` naming ``method path`` if any row is not an object
    holding every one of ``keys``."""
    rows = list(rows)
    for number, row in enumerate(rows, start=1):
        missing = [key for key in keys if not isinstance(row, dict) or key not in row]
        if missing:
            said = " and ".join(f"'{key}'" for key in missing)
            raise UnexpectedAnswer(
                f"the {_ordinal(number)} of {len(rows)} members of the answer has no {said}; "
                "Tallyfy answered in a shape tallyform does not know, so nothing was changed. "
                "Run again with -vv to see the answer, and report it if it persists",
                method=method,
                path=path,
            )
