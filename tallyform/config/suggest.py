"""Suggestions ("did you mean") for every name a user types, from one place.

Template keys, step keys, field keys, org names, options, keys of a mapping, rule
verbs: when a name is not one of those known, :func:`advice` says which known name is
closest (a difference of case first: ``JIRA`` for ``Jira``, then a name cut short,
then the closest spelling) and lists the names that would do, so the fix is on the screen. :func:`closest` is the
bare match, for messages that word the rest themselves.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["SHOWN", "advice", "closest", "listing"]

SHOWN = 12  # names listed at most; past that, "... and N more"
_CUTOFF = 0.6  # difflib's ratio below which a name is not offered


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` was most likely meant to be, or None."""
    names = [str(k) for k in known]
    if not names:
        return None
    folded = name.casefold()
    for candidate in names:
        if candidate.casefold() == folded and candidate != name:
            return candidate
    # A name cut short ("prod" for "production"), when only one known name begins so.
    starts = [c for c in names if len(folded) >= 3 and c.casefold().startswith(folded)]
    if len(starts) == 1 and starts[0] != name:
        return starts[0]
    by_fold = {candidate.casefold(): candidate for candidate in names}
    found = difflib.get_close_matches(folded, list(by_fold), n=1, cutoff=_CUTOFF)
    return by_fold[found[0]] if found and by_fold[found[0]] != name else None


def listing(known: Iterable[str], *, sort: bool = True) -> str:
    """Names as a short list: ``a, b, c`` (``... and 4 more`` past :data:`SHOWN`)."""
    names = [str(k) for k in known]
    if sort:
        names = sorted(set(names))
    shown = ", ".join(names[:SHOWN])
    rest = len(names) - SHOWN
    return f"{shown} and {rest} more" if rest > 0 else shown


def advice(name: str, known: Iterable[str], kind: str, *, sort: bool = True) -> str:
    """``did you mean 'x'? KIND here: a, b`` (or ``there are no KIND``) for a name not known.

    ``kind`` names what is listed, in the plural ("steps", "fields", "orgs", "options").
    """
    names = [str(k) for k in known]
    if not names:
        return f"there are no {kind}"
    hint = closest(name, names)
    listed = f"{kind}: {listing(names, sort=sort)}"
    return f"did you mean '{hint}'? {listed}" if hint else listed
