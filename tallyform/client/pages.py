"""Reading a paginated list whole: page 1, then the other pages side by side.

Rows are kept once by id, in the order first seen, and counted against the total that
page 1 states: rows that moved between pages while they were read (an edit meanwhile
reorders a list sorted by last update) can be seen twice or missed, so a list found
short is read again, a page at a time, up to :data:`LIST_READS` times, and what each
read found is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from tallyform.client.errors import TallyfyError
from tallyform.client.shapes import Json, Page, Pagination, Record
from tallyform.parallel import in_parallel

log = logging.getLogger("tallyform.client")

PER_PAGE = 100  # the API's most
LIST_READS = 3  # reads of a list that keeps changing while it is read, before giving up


def read_list(fetch: Callable[[int], Json], path: str, workers: int) -> list[Record]:
    """Every row of the list at ``path`` whose page N ``fetch(N)`` answers; the first read
    reads pages 2 and on ``workers`` at a time."""
    found: list[Record] = []
    total: int | None = None
    for attempt in range(1, LIST_READS + 1):
        rows, total = _read_pages(fetch, path, workers if attempt == 1 else 1)
        found = _unique_by_id(found + rows)  # a row missed by one read shows in another
        if total is None or len(found) >= total:
            return found
        log.info(
            "GET %s: %d of %d rows (the list changed while it was read); reading it again",
            path,
            len(found),
            total,
        )
    raise TallyfyError(
        f"the list changed while it was read {LIST_READS} times ({len(found)} of {total} "
        "rows); run the command again",
        method="GET",
        path=path,
    )


def _read_pages(
    fetch: Callable[[int], Json], path: str, workers: int
) -> tuple[list[Record], int | None]:
    """Every page's rows, and the total page 1 states (None if it states none)."""
    first = page_of(fetch(1), path)
    pages, total = _pages_and_total(first["pagination"], path)
    rows = list(first["rows"])
    rest = in_parallel(lambda number: page_of(fetch(number), path), range(2, pages + 1), workers)
    for page in rest:
        rows.extend(page["rows"])
    return rows, total


def page_of(body: Json, path: str) -> Page:
    """A list page's rows (``data`` of the envelope, or a bare list), each an object, and
    its ``meta.pagination`` (None if it has none)."""
    rows = body.get("data") if isinstance(body, dict) else body
    if rows is None:
        rows = []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise TallyfyError(
            "the answer is not a list of objects (expected `data: [{...}, ...]`)",
            method="GET",
            path=path,
        )
    meta = body.get("meta") if isinstance(body, dict) else None
    pagination = meta.get("pagination") if isinstance(meta, dict) else None
    return Page(
        rows=[row for row in rows if isinstance(row, dict)],
        pagination=cast(Pagination, pagination) if isinstance(pagination, dict) else None,
    )


def _pages_and_total(pagination: Pagination | None, path: str) -> tuple[int, int | None]:
    """The page count and row total of ``meta.pagination`` (1 and None when absent)."""
    if pagination is None:
        return 1, None
    try:
        pages = int(pagination.get("total_pages") or 1)
        total = pagination.get("total")
        return max(pages, 1), None if total is None else int(total)
    except (TypeError, ValueError):
        raise TallyfyError(
            "the answer's meta.pagination has a total or page count that is not a number",
            method="GET",
            path=path,
        ) from None


def _unique_by_id(rows: list[Record]) -> list[Record]:
    """Rows in order, each id once (rows without an id are all kept)."""
    seen: set[str] = set()
    unique = []
    for row in rows:
        row_id = row.get("id")
        if row_id is not None:
            if str(row_id) in seen:
                continue
            seen.add(str(row_id))
        unique.append(row)
    return unique
