"""The emulator's view of HTTP: requests, responses, API errors and envelopes.

Independent of any HTTP library, so the same handlers serve the in-process httpx
transport and the real socket server.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100


@dataclass
class Request:
    method: str
    path: str  # without the query string, e.g. /api/organizations/ab.../checklists
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    base_url: str = "http://127.0.0.1/api"

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        query_string: str,
        headers: dict[str, str],
        body: bytes,
        base_url: str,
    ) -> Request:
        # Tallyfy does not read '+' as a space in a query (reference 5.2): only %20 is one.
        literal = query_string.replace("+", "%2B")
        query = {k: v[-1] for k, v in parse_qs(literal, keep_blank_values=True).items()}
        lowered = {k.lower(): v for k, v in headers.items()}
        return cls(method.upper(), path, query, lowered, body, base_url)

    def json(self) -> Any:
        """The JSON body (an empty body reads as {}); malformed JSON is a 400."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiError(
                400, {"error": True, "message": "The request body is not valid JSON."}
            ) from None


@dataclass
class Response:
    """An answer. ``body`` may share objects with the emulator's state (handlers render
    without deep copies), so the emulator seals it (:meth:`seal`) under its lock, before any
    later write can change them; :meth:`content` then gives the bytes sealed."""

    status: int
    body: Any = None  # JSON-able, or None for no body
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    _sealed: bytes | None = field(default=None, repr=False, compare=False)

    def seal(self) -> None:
        """Encode the body now, as it stands."""
        self._sealed = self._encode()

    def content(self) -> bytes:
        return self._sealed if self._sealed is not None else self._encode()

    def _encode(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body).encode()


class ApiError(Exception):
    """Raised by handlers to answer with an error status and body."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(
        404, {"error": True, "message": "Resource not found", "code": "RESOURCE_NOT_FOUND"}
    )


def endpoint_not_found() -> ApiError:
    return ApiError(
        404, {"error": True, "message": "API endpoint not found", "code": "ENDPOINT_NOT_FOUND"}
    )


def forbidden(message: str) -> ApiError:
    return ApiError(403, {"error": True, "message": message})


def invalid(errors: dict[str, list[str]]) -> ApiError:
    """A 422 in both shapes the sources show: Laravel's message plus the docs' error flag."""
    return ApiError(
        422, {"error": True, "message": "The given data was invalid.", "errors": errors}
    )


def item(data: Any, status: int = 200) -> Response:
    return Response(status, {"data": data})


def wrapped(data: Any) -> dict[str, Any]:
    """A transformer include: collections and items arrive as {"data": ...}."""
    return {"data": data}


def page_of(
    request: Request, rows: list[Any], render: Callable[[Any], Any] | None = None
) -> Response:
    """One page of a list with Fractal's ``meta.pagination``; per_page defaults to 10, caps at 100.
    ``render``, if given, makes the answer's row of each row on the page (and only those)."""
    current, per_page = page_window(request)
    total = len(rows)
    total_pages = max(1, math.ceil(total / per_page))
    chunk = rows[(current - 1) * per_page : current * per_page]
    if render is not None:
        chunk = [render(row) for row in chunk]
    links: dict[str, str] = {}
    if current < total_pages:
        links["next"] = _page_url(request, current + 1)
    if current > 1:
        links["previous"] = _page_url(request, current - 1)
    pagination: dict[str, Any] = {
        "total": total,
        "count": len(chunk),
        "per_page": per_page,
        "current_page": current,
        "total_pages": total_pages,
        "links": links or [],  # PHP's empty associative array serializes as []
    }
    return Response(200, {"data": chunk, "meta": {"pagination": pagination}})


def page_window(request: Request) -> tuple[int, int]:
    """The page a list request asks for (1-based) and its size (10 unless told, at most 100)."""
    per_page = _int(request.query.get("per_page"), DEFAULT_PER_PAGE)
    return max(1, _int(request.query.get("page"), 1)), max(1, min(per_page, MAX_PER_PAGE))


def _page_url(request: Request, number: int) -> str:
    query = dict(request.query, page=str(number))
    path = request.path.removeprefix("/api")
    return f"{request.base_url}{path}?{urlencode(query, quote_via=quote)}"


def _int(raw: str | None, default: int) -> int:
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        return default
