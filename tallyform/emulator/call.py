"""What a handler receives: the request, the org's state, the caller and the path parameters,
and where it says what it changed (:class:`~tallyform.emulator.journal.Changes`); with the
emulator's in-memory helpers (tag-link index, page drift)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tallyform.emulator.journal import Changes
from tallyform.emulator.page_drift import PageDrift
from tallyform.emulator.quirks import Quirks, without_empty_strings
from tallyform.emulator.wire import ApiError, Request, Response, forbidden, not_found


@dataclass
class Call:
    request: Request
    state: dict[str, Any]
    user: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)
    quirks: Quirks = field(default_factory=Quirks)
    changes: Changes = field(default_factory=Changes)
    links: LinkIndex = field(default_factory=lambda: LinkIndex())
    drift: PageDrift = field(default_factory=PageDrift)

    def body(self) -> dict[str, Any]:
        """The JSON body, with empty strings read as null, as Laravel's default middleware
        (ConvertEmptyStringsToNull) does: so ``""`` is how a client clears a value. Under
        ``empty_string=ignored`` they are left out instead (``refused`` 422s them before
        any handler runs, :meth:`.app.Emulator._refuse_nulls`)."""
        data = self.request.json()
        if not isinstance(data, dict):
            raise ApiError(
                400, {"error": True, "message": "The request body must be a JSON object."}
            )
        if self.quirks.empty_string == "ignored":
            return dict_of(without_empty_strings(data))
        return dict_of(empty_strings_to_null(data))

    @property
    def includes(self) -> set[str]:
        """The relations named in the ``with`` query parameter (comma-separated)."""
        raw = self.request.query.get("with", "")
        return {part.strip() for part in raw.split(",") if part.strip()}

    @property
    def is_admin(self) -> bool:
        return bool(self.user.get("role") == "admin")

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise forbidden(f"Only an administrator can {what}.")

    def template(self, *, archived: bool = False) -> dict[str, Any]:
        """The template named in the path; archived ones are 404 unless asked for.
        A write's handler may change it: it is marked changed."""
        found: dict[str, Any] | None = self.state["checklists"].get(self.params["checklist"])
        if found is None or (found["archived_at"] is not None and not archived):
            raise not_found()
        self.changes.template(found)
        return found

    def step(self) -> dict[str, Any]:
        """The step named in the path (marked changed, with its template)."""
        template = self.template()
        for step in template["steps"]:
            if step["id"] == self.params["step"]:
                self.changes.step(template, step["id"])
                return dict_of(step)
        raise not_found()

    def capture(self) -> dict[str, Any]:
        for capture in self.step()["captures"]:
            if capture["id"] == self.params["capture"]:
                return dict_of(capture)
        raise not_found()

    def deleted(self, message: str) -> Response:
        """The answer to a delete of a field, step, rule or tag link: 200 with a message,
        or 204 with no body when the ``bodiless_deletes`` quirk is on (Swagger, 10.8)."""
        if self.quirks.bodiless_deletes:
            return Response(204)
        return Response(200, {"message": message})


class LinkIndex:
    """``state["tag_links"]`` by subject and by id: a template's tags, or one link, found
    without a scan of every link in the org. Rebuilt when the list is not the one it
    indexed or not as long; :meth:`added` and :meth:`removed` keep it current."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] | None = None
        self._length = -1
        self._by_subject: dict[str, list[dict[str, Any]]] = {}
        self._by_id: dict[int, dict[str, Any]] = {}

    def _current(self, rows: list[dict[str, Any]]) -> None:
        if rows is self._rows and len(rows) == self._length:
            return
        self._by_subject, self._by_id = {}, {}
        for link in rows:
            self._by_subject.setdefault(link["subject_id"], []).append(link)
            self._by_id[link["id"]] = link
        self._rows, self._length = rows, len(rows)

    def of(self, rows: list[dict[str, Any]], subject_id: str) -> list[dict[str, Any]]:
        """The links of one subject, in the list's order (not to be changed)."""
        self._current(rows)
        return self._by_subject.get(subject_id, [])

    def get(self, rows: list[dict[str, Any]], link_id: int) -> dict[str, Any] | None:
        self._current(rows)
        return self._by_id.get(link_id)

    def added(self, rows: list[dict[str, Any]], link: dict[str, Any]) -> None:
        """``link`` was just appended to ``rows``."""
        if rows is self._rows and len(rows) == self._length + 1:
            self._by_subject.setdefault(link["subject_id"], []).append(link)
            self._by_id[link["id"]] = link
            self._length += 1

    def removed(self, rows: list[dict[str, Any]], link: dict[str, Any]) -> None:
        """``link`` was just removed from ``rows``."""
        if rows is self._rows and len(rows) == self._length - 1:
            self._by_subject[link["subject_id"]].remove(link)
            del self._by_id[link["id"]]
            self._length -= 1


def empty_strings_to_null(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, dict):
        return {k: empty_strings_to_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [empty_strings_to_null(v) for v in value]
    return value


def dict_of(value: Any) -> dict[str, Any]:
    """``value`` typed as the JSON object it is (state rows are plain dicts)."""
    assert isinstance(value, dict)
    return value


def pick(body: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """The keys the API validates; every other key is dropped silently (reference 6.1)."""
    return {k: v for k, v in body.items() if k in allowed}


def renumber(rows: list[dict[str, Any]]) -> None:
    """Give rows their 1-based positions in list order."""
    for index, row in enumerate(rows, start=1):
        row["position"] = index


def move(rows: list[dict[str, Any]], row: dict[str, Any], position: int) -> None:
    """Move ``row`` to a 1-based position (clamped), renumbering everything."""
    rows.remove(row)
    index = max(0, min(position - 1, len(rows)))
    rows.insert(index, row)
    renumber(rows)
