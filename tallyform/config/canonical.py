"""The canonical form of plain template data, written without ruamel.yaml.

``fmt`` rewrites files with ruamel.yaml, which keeps comments but reads and writes a
template in some 50 ms. Nearly every file it meets is already canonical, and saying so
needs no round trip: :func:`canonical_text` writes the canonical form of the data the
fast YAML reader got from the file, and when that text is the file's text, the file is
canonical. Anything else (a difference, or data this module does not write) goes to
ruamel.yaml, which has the last word.

So this module only needs to be right about the texts it writes: for every text T that
:func:`canonical_text` returns, ``fmt.format_text(T) == T``. It stays within what it is
sure of and returns None otherwise: mappings with text keys, non-empty lists, text that
needs no quotes (or only the single quotes fmt puts around YAML 1.1 booleans), whole
numbers, true and false, and comments only in a block of ``#`` lines at the top.
tests/test_fmt_fast.py checks that promise on generated data and on every example.

The rules (key order, flow or block style) are fmt's own, shared from here.
"""

from __future__ import annotations

import re
from typing import Any

STRUCTURAL_KEYS = frozenset({"kickoff", "steps", "fields", "rules", "tests"})
MAX_WIDTH = 88  # a flow line past this is written in block style (a list of rules reads better)
INDENT = 2

# Words YAML 1.1 readers take for booleans; quoted so that every reader sees text.
YAML11_BOOLS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false"})

# Text written plain: a letter (or $, ( or /) first, then letters, digits, spaces and
# punctuation that is no YAML indicator inside a plain scalar, and no space at the end.
# In flow style (inside [...] or {...}) none of ',?[]{}' either.
_FIRST = r"(?:[^\W\d_]|[$(/])"
_BLOCK_CHARS = r"\w.\-/()$@+&'%=~;!*<>|\"?,\[\]{}"
_FLOW_CHARS = r"\w.\-/()$@+&'%=~;!*<>|\""
_PLAIN_BLOCK = re.compile(f"{_FIRST}(?:[{_BLOCK_CHARS} ]*[{_BLOCK_CHARS}])?")
_PLAIN_FLOW = re.compile(f"{_FIRST}(?:[{_FLOW_CHARS} ]*[{_FLOW_CHARS}])?")
_LONGEST_TEXT = 1000  # fmt writes at most 4,096 columns before it folds long text
# The YAML 1.2 words that are no text (true and false are YAML11_BOOLS).
_NOT_TEXT = frozenset({"null", "Null", "NULL"})


class _Unsure(Exception):
    """Data this module does not write; ruamel.yaml decides."""


def resolve_schema(schema: dict[str, Any] | None, root: dict[str, Any]) -> dict[str, Any] | None:
    if schema is None:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = root["$defs"][ref.removeprefix("#/$defs/")]
        return resolved
    for branch in schema.get("anyOf", ()):
        if branch.get("type") == "object":
            return dict(branch)
    return schema


def child_schema(
    schema: dict[str, Any] | None, key: Any, root: dict[str, Any]
) -> dict[str, Any] | None:
    if schema is None:
        return None
    if isinstance(key, int):
        return resolve_schema(schema.get("items"), root)
    return resolve_schema(schema.get("properties", {}).get(key), root)


def key_order(keys: list[Any], schema: dict[str, Any] | None) -> list[Any]:
    """Keys in the order the schema lists them, unknown keys last, as written."""
    known = list((schema or {}).get("properties", {}))
    present = set(keys)
    return [k for k in known if k in present] + [k for k in keys if k not in known]


def depth(node: Any) -> int:
    if isinstance(node, dict):
        return 1 + max((depth(v) for v in node.values()), default=0)
    if isinstance(node, list):
        return 1 + max((depth(v) for v in node), default=0)
    return 0


def flow_text(node: Any) -> str:
    """An estimate of the node's one-line rendering, used only to measure it."""
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k}: {flow_text(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(flow_text(v) for v in node) + "]"
    if node is None:
        return "null"
    if isinstance(node, bool):
        return "true" if node else "false"
    text = str(node)
    return text if text.replace(" ", "").replace("-", "").replace(".", "").isalnum() else repr(text)


def fits_in_flow(node: Any, key: Any, indent: int) -> bool:
    """Whether fmt writes ``node``, the value of ``key`` at ``indent``, on one line.

    An item of a block list has its index as ``key`` and is written after ``- ``: a
    list too long for one line keeps its short items on a line each. (fmt also keeps a
    collection with a comment inside in block style.)
    """
    lead = 2 if isinstance(key, int) else len(f"{key}: ")
    return (
        key not in STRUCTURAL_KEYS
        and len(node) > 0
        and depth(node) <= 4
        and indent + lead + len(flow_text(node)) <= MAX_WIDTH
    )


def canonical_text(data: Any, head: str, schema: dict[str, Any]) -> str | None:
    """The text fmt writes for ``data`` after the comment lines ``head``; None if unsure.

    ``head`` is the file's first lines, each a ``#`` comment, as written.
    """
    if not isinstance(data, dict) or not data:
        return None
    writer = _Writer(schema)
    try:
        writer.block_mapping(data, schema, 0, "", -INDENT)
    except _Unsure:
        return None
    return head + "\n".join(writer.lines) + "\n"


_SCALARS: dict[tuple[str, bool], str] = {}  # (text, in flow style) -> as written


def _scalar(value: Any, flow: bool) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return str(value)
    if type(value) is not str:
        raise _Unsure
    written = _SCALARS.get((value, flow))
    if written is not None:
        return written
    if len(value) > _LONGEST_TEXT:
        raise _Unsure
    if value.lower() in YAML11_BOOLS:
        written = f"'{value}'"
    elif value in _NOT_TEXT or not (_PLAIN_FLOW if flow else _PLAIN_BLOCK).fullmatch(value):
        raise _Unsure
    else:
        written = value
    if len(value) <= 64 and len(_SCALARS) < 20_000:
        _SCALARS[(value, flow)] = written  # keys and many values come back in every file
    return written


class _Writer:
    """Writes data in fmt's canonical form, line by line; _Unsure where it is not sure."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.lines: list[str] = []

    def block_mapping(
        self,
        node: dict[Any, Any],
        schema: dict[str, Any] | None,
        column: int,
        lead: str,
        indent: int,
    ) -> None:
        """A block mapping with its keys at ``column``; its first line starts with ``lead``."""
        for index, key in enumerate(key_order(list(node), schema)):
            if type(key) is not str:
                raise _Unsure
            start = (lead if index == 0 else " " * column) + _scalar(key, False) + ":"
            value = node[key]
            if not isinstance(value, dict | list):
                self.lines.append(f"{start} {_scalar(value, False)}")
                continue
            if not value:
                raise _Unsure  # an empty list or mapping
            inner = child_schema(schema, key, self.root)
            # The width of a flow rendering does not depend on the order of its keys.
            if fits_in_flow(value, key, indent + INDENT):
                self.lines.append(f"{start} {self.flow(value, inner, 0)}")
                continue
            self.lines.append(start)
            if isinstance(value, dict):
                self.block_mapping(
                    value, inner, column + INDENT, " " * (column + INDENT), indent + INDENT
                )
            else:
                self.block_sequence(value, inner, column + INDENT, indent + INDENT, key)

    def block_sequence(
        self, node: list[Any], schema: dict[str, Any] | None, dash: int, indent: int, key: str
    ) -> None:
        """A block list, the value of ``key``, with its dashes at column ``dash``."""
        # fmt's rules see an item's index as its key; the main lists' items, the list's key.
        item_key: str | int = key if key in STRUCTURAL_KEYS else 0
        inner = child_schema(schema, 0, self.root)
        for item in node:
            if isinstance(item, dict):
                if not item:
                    raise _Unsure
                if fits_in_flow(item, item_key, indent + INDENT):
                    self.lines.append(" " * dash + "- " + self.flow(item, inner, 0))
                else:
                    self.block_mapping(
                        item, inner, dash + INDENT, " " * dash + "- ", indent + INDENT
                    )
            elif isinstance(item, list):
                raise _Unsure  # a list in a list, in block style
            else:
                self.lines.append(" " * dash + "- " + _scalar(item, False))

    def flow(self, node: Any, schema: dict[str, Any] | None, lists: int) -> str:
        """``node`` in flow style, inside ``lists`` flow lists."""
        if not isinstance(node, dict | list):
            return _scalar(node, True)
        if not node:
            raise _Unsure
        if lists >= 3:
            raise _Unsure  # ruamel.yaml pads a collection inside three flow lists with spaces
        if isinstance(node, list):
            inner = child_schema(schema, 0, self.root)
            return "[" + ", ".join(self.flow(item, inner, lists + 1) for item in node) + "]"
        parts = []
        for key in key_order(list(node), schema):
            if type(key) is not str:
                raise _Unsure
            value = self.flow(node[key], child_schema(schema, key, self.root), lists)
            parts.append(f"{_scalar(key, True)}: {value}")
        return "{" + ", ".join(parts) + "}"
