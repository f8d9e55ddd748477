"""The types of what the client takes and gives: JSON values, and the shapes it owns.

A body the client sends is any mapping or list (a TypedDict payload too) that JSON can
carry. An answer is a :data:`Json` value; an object of Tallyfy's (a template, a step, a
tag) is a :data:`Record`, whose keys are Tallyfy's to define and tallyform.tallyfy's to
read. What the client reads itself has a TypedDict of its own: the current user
(``GET /me``), a page of a list and its pagination, and the rate-limit headers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypedDict

Json: TypeAlias = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
"""A JSON value, as parsed from an answer."""

JsonBody: TypeAlias = Mapping[str, object] | Sequence[object] | None
"""What a request carries as JSON: an object or a list; None sends no body."""

Record: TypeAlias = dict[str, Any]
"""One object of Tallyfy's as it came: its fields are read by tallyform.tallyfy."""


class CurrentUser(TypedDict, total=False):
    """``GET /me``: who the credentials belong to (reference 2.1; more fields may come)."""

    id: int
    email: str
    username: str
    first_name: str
    last_name: str
    timezone: str


class Pagination(TypedDict, total=False):
    """``meta.pagination`` of a list page: the row total and the page count are read."""

    total: int
    count: int
    per_page: int
    current_page: int
    total_pages: int


class Page(TypedDict):
    """One page of a list: its rows, and the pagination page 1 states (None if none)."""

    rows: list[Record]
    pagination: Pagination | None


# The X-RateLimit-* headers Tallyfy may send (names in lower case; only -Remaining is
# documented, reference 5.4); the probe reads the limit from them.
RateLimitHeaders = TypedDict(
    "RateLimitHeaders",
    {"x-ratelimit-limit": str, "x-ratelimit-remaining": str, "x-ratelimit-reset": str},
    total=False,
)
RATE_LIMIT_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
