"""``tallyform fmt``: rewriting template files in one canonical form, comments kept.

Canonical form:

- keys in the order the JSON Schema lists them (unknown keys last, as written);
- two-space indentation, list dashes indented under their key;
- the main lists (``kickoff``, ``steps``, ``fields``, ``rules``) and their items in block
  style; every other list or mapping on one line in flow style when it has no comments
  inside and fits in 100 columns (``options: [A, B]``, ``deadline: {value: 2, unit: days}``),
  block style otherwise;
- quotes only where YAML needs them; long text is never re-wrapped.

ruamel.yaml is used because it keeps comments on a round trip (PyYAML drops them). A
comment survives with the key it is written beside; a comment inside a collection keeps
that collection in block style. A file is read and composed within validate's limits
(size, nesting, alias expansion, number length) before ruamel.yaml sees it; a file past
one is left as it is, with the reason.

Most files are canonical already, and a ruamel.yaml round trip (some 50 ms a template)
is not needed to see it: when the fast YAML reader reads the file and
:func:`~tallyform.config.canonical.canonical_text` writes exactly the file's text from
its data, the file is left as it is. Every other file goes through ruamel.yaml.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.tokens import CommentToken

from tallyform.config import yaml_syntax
from tallyform.config.canonical import (
    INDENT,
    STRUCTURAL_KEYS,
    YAML11_BOOLS,
    canonical_text,
    child_schema,
    fits_in_flow,
    key_order,
)
from tallyform.config.schema import load_schema
from tallyform.config.source import (
    Document,
    LimitExceeded,
    compose_limited,
    plain_document,
    read_limited,
)


@dataclass(frozen=True)
class FmtResult:
    """One file's outcome; a changed file's text as it was and as fmt writes it."""

    path: Path
    changed: bool
    error: str | None = None
    before: str | None = None
    after: str | None = None
    document: Document | None = None  # the file as read, when the fast reader read it


def _represent_str(representer: RoundTripRepresenter, data: str) -> Any:
    style = "'" if data.lower() in YAML11_BOOLS else None
    return representer.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.representer.add_representer(str, _represent_str)
    yaml.version = None
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.preserve_quotes = False
    yaml.brace_single_entry_mapping_in_flow_sequence = True
    return yaml


def _has_comments(node: Any) -> bool:
    ca = getattr(node, "ca", None)
    if ca is None:
        return False
    if ca.comment or any(v for v in ca.items.values() if v):
        return True
    children = node.values() if isinstance(node, dict) else node
    return any(_has_comments(child) for child in children)


def _order_keys(node: CommentedMap, schema: dict[str, Any] | None) -> None:
    for key in key_order(list(node), schema):
        node.move_to_end(key)


def _set_flow_deep(node: Any) -> None:
    node.fa.set_flow_style()
    for child in node.values() if isinstance(node, dict) else node:
        if isinstance(child, CommentedMap | CommentedSeq):
            _set_flow_deep(child)


def _has_inner_comments(node: Any) -> bool:
    """Comments inside a collection; not the one at the end of its key's line, which stays
    at the end of that line in flow style and in block style alike."""
    ca = node.ca
    own = ca.comment
    if own and (own[1:] and any(own[1:]) or str(getattr(own[0], "value", "")).count("\n") > 1):
        return True
    if any(v for v in ca.items.values() if v):
        return True
    children = node.values() if isinstance(node, dict) else node
    return any(_has_comments(child) for child in children)


def _set_style(node: Any, key: Any, indent: int) -> None:
    if fits_in_flow(node, key, indent) and not _has_inner_comments(node):
        _set_flow_deep(node)
    else:
        node.fa.set_block_style()


def _is_block(node: Any) -> bool:
    return (
        isinstance(node, CommentedMap | CommentedSeq) and len(node) > 0 and not node.fa.flow_style()
    )


def _last_slot(node: Any) -> tuple[Any, Any, int]:
    """The container, key and comment slot where ruamel keeps what follows ``node``."""
    while True:
        if isinstance(node, CommentedMap):
            key, slot = list(node)[-1], 2
        else:
            key, slot = len(node) - 1, 0
        if not _is_block(node[key]):
            return node, key, slot
        node = node[key]


def _slot_after(node: CommentedMap, key: Any) -> tuple[Any, Any, int]:
    """Where ruamel keeps the comments written after ``node[key]``'s value."""
    value = node[key]
    return _last_slot(value) if _is_block(value) else (node, key, 2)


def _detach_after(node: CommentedMap, key: Any) -> str:
    """Remove and return the full-line comments written after a key's value.

    ruamel attaches such a comment to the last scalar before it, but it describes
    what follows; once keys are reordered it must move with the key that follows.
    The end-of-line comment stays where it is.
    """
    container, slot_key, slot = _slot_after(node, key)
    entry = container.ca.items.get(slot_key)
    if not entry or entry[slot] is None:
        return ""
    token = entry[slot]
    own_line, newline, rest = str(token.value).partition("\n")
    if not rest.strip():
        return ""
    token.value = own_line + newline
    if not own_line.strip():
        entry[slot] = None
    return rest


def _attach_after(node: CommentedMap, key: Any, comment: str) -> None:
    container, slot_key, slot = _slot_after(node, key)
    entry = container.ca.items.setdefault(slot_key, [None, None, None, None])
    token = entry[slot]
    if token is None:
        entry[slot] = CommentToken("\n" + comment, CommentMark(0))
    else:
        token.value = (token.value if token.value.endswith("\n") else token.value + "\n") + comment


def _attach_before_first(node: CommentedMap, comment: str) -> None:
    lines = [line.strip() for line in comment.splitlines() if line.strip()]
    for line in lines:
        node.yaml_set_start_comment(line.lstrip("# "))


def _reorder_with_comments(
    node: CommentedMap, schema: dict[str, Any] | None, reorder_children: Any
) -> None:
    original = list(node)
    # The comment after key i is the comment before key i+1 (or after the whole map).
    before: dict[Any, str] = {}
    after_all = ""
    for index, key in enumerate(original):
        comment = _detach_after(node, key)
        if index + 1 < len(original):
            before[original[index + 1]] = comment
        else:
            after_all = comment
    _order_keys(node, schema)
    reorder_children()
    ordered = list(node)
    for index, key in enumerate(ordered):
        comment = before.get(key, "")
        if not comment:
            continue
        if index == 0:
            _attach_before_first(node, comment)
        else:
            _attach_after(node, ordered[index - 1], comment)
    if after_all:
        _attach_after(node, ordered[-1], after_all)


def _canonicalize(
    node: Any, key: Any, schema: dict[str, Any] | None, root: dict[str, Any], indent: int
) -> None:
    if isinstance(node, CommentedMap):

        def children() -> None:
            for child_key, child in node.items():
                _canonicalize(
                    child, child_key, child_schema(schema, child_key, root), root, indent + INDENT
                )
            if key is not None:
                _set_style(node, key, indent)

        _reorder_with_comments(node, schema, children)
        return
    elif isinstance(node, CommentedSeq):
        for index, child in enumerate(node):
            # Items of the main lists count as structural too, so they stay in block style.
            item_key = key if key in STRUCTURAL_KEYS else index
            _canonicalize(child, item_key, child_schema(schema, index, root), root, indent + INDENT)
    else:
        return
    if key is not None:
        _set_style(node, key, indent)


def format_text(text: str, schema_name: str = "template") -> str:
    """The canonical form of a YAML text (raises ruamel's YAMLError if it does not parse)."""
    yaml = _yaml()
    data = yaml.load(text)
    if isinstance(data, CommentedMap):
        root = load_schema(schema_name)
        _canonicalize(data, None, root, root, -INDENT)
        data.fa.set_block_style()
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _not_yaml(error: Exception) -> str:
    mark = getattr(error, "problem_mark", None)
    where = f"{mark.line + 1}:{mark.column + 1}: " if mark else ""
    if "'\\t'" in str(getattr(error, "problem", "")):  # valid YAML 1.2 that ruamel refuses
        return (
            f"{where}a tab inside text written without quotes, which fmt cannot rewrite "
            "(validate reads it); put the text in quotes. Left as it is"
        )
    return f"{where}not valid YAML, left as it is ({getattr(error, 'problem', None) or error})"


def _unsafe(path: Path) -> tuple[str | None, Document | None, str | None]:
    """The file's text and, when the fast reader read it, its document; or why it is left alone.

    The file is read and composed within the limits of :mod:`tallyform.config.source`
    before ruamel.yaml sees it, so a hostile file costs fmt no more than validate.
    """
    text, problems = read_limited(path, str(path))
    if text is None:
        where = problems[0].location
        return None, None, f"{where.line}:{where.column}: {problems[0].message}"
    plain = plain_document(text, str(path))  # within the limits, and YAML, when not None
    if plain is not None:
        return text, plain, None
    try:
        compose_limited(text)
    except LimitExceeded as error:
        return (
            None,
            None,
            f"{error.mark.line + 1}:{error.mark.column + 1}: {error.message}; left as it is",
        )
    except yaml.YAMLError as error:
        found = yaml_syntax.explain(error, text)
        why = found.message.removeprefix("this is not valid YAML: ")
        return None, None, f"{found.line}:{found.column}: not valid YAML, left as it is ({why})"
    return text, None, None


_COMMENT_LINE = re.compile(r"#[^\r\n]*(?<!\s)\n")


def _already_canonical(text: str, data: Any, schema_name: str) -> bool:
    """Whether ``text`` is known to be in canonical form without a ruamel.yaml round trip.

    True only when the text is exactly what :func:`canonical_text` writes for its data
    (after the same ``#`` lines at the top); False says nothing either way.
    """
    head = 0
    while match := _COMMENT_LINE.match(text, head):
        head = match.end()
    try:
        return canonical_text(data, text[:head], load_schema(schema_name)) == text
    except Exception:  # ruamel.yaml has the last word on every file
        return False


def format_file(path: Path, schema_name: str = "template") -> FmtResult:
    """What formatting one file gives; nothing is written (:func:`write_formatted` does)."""
    original, plain, refused = _unsafe(path)
    if original is None:
        return FmtResult(path, False, refused)
    if plain is not None and _already_canonical(original, plain.data, schema_name):
        return FmtResult(path, False, document=plain)
    try:
        # YAML 1.2 allows a tab that separates (`key:<TAB>value`); ruamel.yaml does not.
        formatted = format_text(yaml_syntax.tabs_as_spaces(original), schema_name)
    except YAMLError as error:
        return FmtResult(path, False, _not_yaml(error))
    changed = formatted != original
    if not changed:
        return FmtResult(path, False, document=plain)
    return FmtResult(path, True, before=original, after=formatted, document=plain)


def write_formatted(result: FmtResult) -> None:
    """Write a changed file's formatted text in place of what it was."""
    if result.changed and result.after is not None:
        result.path.write_text(result.after, "utf-8")
