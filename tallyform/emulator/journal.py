"""What a write changed, as journal entries; and replaying them onto a loaded state.

A write journals only the records it changed, in full, so its cost follows the size of
what it touched, never the size of the org. The unit is as small as the state's shape
allows: a template's own fields (with its steps' order) apart from each of its steps
(a step carries its form fields), one row of a keyed table (``tags``, ``folders``,
``tokens``, ``runs``, ...), one tag link, or a whole small document (``counters``, ``guests``...).

Handlers say what they change through :class:`Changes`; most of it is implied:
:meth:`.call.Call.template` marks the template (its steps' positions are remembered, so
a step created, moved or deleted is found without being named), :meth:`.call.Call.step`
marks the step. The rest is named where it happens (a new template, a tag, a folder,
the target of a form field moved to another step, ...).

An entry is a JSON array of operations:

- ``["doc", key, value]``: ``state[key] = value``;
- ``["row", key, id, value]``, ``["row", key, id]``: one row of ``state[key]`` set, deleted;
- ``["step", template_id, step]``: a step, placed by the template operation that follows;
- ``["template", id, fields, step_ids]``, ``["template", id]``: a template set, deleted;
- ``["link", id, link]``, ``["link", id]``: one of ``state["tag_links"]`` set, deleted.
"""

from __future__ import annotations

from typing import Any

#: Top-level dicts of rows, journaled one row at a time.
ROW_TABLES = frozenset(
    {"tags", "folders", "tokens", "token_expiry", "app_tokens", "applications", "runs"}
)


class Changes:
    """The records changed since the last entry was written."""

    def __init__(self) -> None:
        self._docs: set[str] = set()
        self._rows: set[tuple[str, str]] = set()
        self._templates: dict[str, dict[str, Any]] = {}  # id -> its steps' positions before
        self._steps: set[tuple[str, str]] = set()
        self._links: set[int] = set()

    def __bool__(self) -> bool:
        return bool(self._docs or self._rows or self._templates or self._links)

    def clear(self) -> None:
        self._docs.clear()
        self._rows.clear()
        self._templates.clear()
        self._steps.clear()
        self._links.clear()

    def template(self, template: dict[str, Any]) -> None:
        """``template`` is about to change (or be created or deleted). Call it before the
        change: the positions its steps have now tell later which steps moved."""
        if template["id"] not in self._templates:
            self._templates[template["id"]] = {s["id"]: s["position"] for s in template["steps"]}

    def step(self, template: dict[str, Any], step_id: str) -> None:
        """A step of ``template`` (or its form fields) changed."""
        self.template(template)
        self._steps.add((template["id"], step_id))

    def doc(self, key: str) -> None:
        """The top-level ``state[key]`` changed; it is journaled whole."""
        if key == "checklists" or key == "tag_links" or key in ROW_TABLES:
            raise ValueError(f"{key} is journaled row by row")
        self._docs.add(key)

    def row(self, table: str, row_id: str) -> None:
        """One row of a keyed table changed (or was added or deleted)."""
        if table not in ROW_TABLES:
            raise ValueError(f"{table} is not a keyed table")
        self._rows.add((table, row_id))

    def link(self, link_id: int) -> None:
        """One tag link was added or deleted."""
        self._links.add(link_id)

    def ops(self, state: dict[str, Any]) -> list[list[Any]]:
        """The journal entry for these changes, read from ``state`` as it is now."""
        ops: list[list[Any]] = [["doc", key, state[key]] for key in sorted(self._docs)]
        for table, row_id in sorted(self._rows):
            rows = state.get(table, {})
            ops.append(
                ["row", table, row_id, rows[row_id]] if row_id in rows else ["row", table, row_id]
            )
        checklists = state["checklists"]
        steps_ops: list[list[Any]] = []
        template_ops: list[list[Any]] = []
        for template_id, before in self._templates.items():
            template = checklists.get(template_id)
            if template is None:
                template_ops.append(["template", template_id])
                continue
            for step in template["steps"]:
                moved = before.get(step["id"]) != step["position"]
                if moved or (template_id, step["id"]) in self._steps:
                    steps_ops.append(["step", template_id, step])
            fields = {k: v for k, v in template.items() if k != "steps"}
            template_ops.append(
                ["template", template_id, fields, [s["id"] for s in template["steps"]]]
            )
        ops += steps_ops + template_ops
        if self._links:
            links = {link["id"]: link for link in state["tag_links"] if link["id"] in self._links}
            for link_id in sorted(self._links):
                found = links.get(link_id)
                ops.append(["link", link_id, found] if found is not None else ["link", link_id])
        return ops


class Replay:
    """Applies journal entries, in order, to a state loaded from its snapshot."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self._links: dict[int, Any] | None = None  # tag links by id, built when first needed

    def apply(self, ops: Any) -> None:
        """Apply one entry; ValueError (or KeyError, TypeError) if it does not fit."""
        if not isinstance(ops, list):
            raise ValueError("an entry is a list of operations")
        incoming: dict[str, dict[str, Any]] = {}
        for op in ops:
            kind = op[0]
            if kind == "doc":
                self.state[op[1]] = op[2]
            elif kind == "row":
                rows = self.state.setdefault(op[1], {})
                if len(op) == 4:
                    rows[op[2]] = op[3]
                else:
                    rows.pop(op[2], None)
            elif kind == "step":
                incoming.setdefault(op[1], {})[op[2]["id"]] = op[2]
            elif kind == "template":
                self._template(op, incoming.pop(op[1], {}))
            elif kind == "link":
                links = self._link_index()
                if len(op) == 3:
                    links[op[1]] = op[2]
                else:
                    links.pop(op[1], None)
            else:
                raise ValueError(f"unknown operation {kind!r}")
        if incoming:
            raise ValueError("steps without their template")

    def _template(self, op: list[Any], incoming: dict[str, Any]) -> None:
        checklists = self.state["checklists"]
        if len(op) == 2:
            checklists.pop(op[1], None)
            return
        fields, step_ids = op[2], op[3]
        old = checklists.get(op[1])
        known = {s["id"]: s for s in old["steps"]} if old is not None else {}
        fields["steps"] = [incoming[i] if i in incoming else known[i] for i in step_ids]
        checklists[op[1]] = fields

    def _link_index(self) -> dict[int, Any]:
        if self._links is None:
            self._links = {link["id"]: link for link in self.state["tag_links"]}
        return self._links

    def finish(self) -> dict[str, Any]:
        """The state with every entry applied."""
        if self._links is not None:
            self.state["tag_links"] = list(self._links.values())
            self._links = None
        return self.state
