"""Reading YAML files while keeping the file, line and column of every value.

PyYAML's composer gives a node tree with marks; this module turns it into plain Python
data plus a table from each value's path (a tuple of keys and indexes) to its location,
so later checks can point at ``file:line:column``. It also catches what PyYAML lets
through silently: duplicate mapping keys and recursive aliases.

Scalars follow YAML 1.2's core schema rather than PyYAML's YAML 1.1: only
``true``/``false`` are booleans (so an option ``No`` stays the text "No") and dates
stay strings. ``fmt`` (ruamel.yaml) reads files the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DataPath = tuple[str | int, ...]

_BOOL_WORDS = {"true": True, "false": False}
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, order=True)
class Location:
    """A place in a file; line and column count from 1."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the user's input, at a location."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass
class Document:
    """A YAML file's data with the location of every value and every mapping key."""

    file: str
    data: Any
    values: dict[DataPath, Location] = field(default_factory=dict)
    keys: dict[DataPath, Location] = field(default_factory=dict)

    def at(self, path: DataPath) -> Location:
        """Where the value at ``path`` is, or its nearest known ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return Location(self.file, 1, 1)

    def key_at(self, path: DataPath) -> Location:
        """Where the mapping key naming ``path`` is (falling back to the value)."""
        return self.keys.get(path) or self.at(path)


class _Builder:
    """Walks a composed node tree into data, locations and problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.constructor = yaml.SafeLoader("")
        self.document = Document(file=file, data=None)
        self.problems: list[Problem] = []
        self._active: set[int] = set()

    def location(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.file, mark.line + 1, mark.column + 1)

    def build(self, node: yaml.Node, path: DataPath) -> Any:
        self.document.values.setdefault(path, self.location(node))
        if id(node) in self._active:
            self.problems.append(
                Problem(self.location(node), "an alias refers to itself; remove the loop")
            )
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.build_mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            return self.build_scalar(node)
        finally:
            self._active.discard(id(node))

    def build_scalar(self, node: yaml.Node) -> Any:
        text = node.value
        if node.tag == _BOOL_TAG:
            return _BOOL_WORDS.get(text.lower(), text)
        if node.tag == _TIMESTAMP_TAG or (node.tag == _INT_TAG and ":" in text):
            return text
        return self.constructor.construct_object(node, deep=True)

    def build_mapping(self, node: yaml.MappingNode, path: DataPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in self.flatten_merges(node):
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(self.location(key_node), "a mapping key must be plain text")
                )
                continue
            key = str(self.build_scalar(key_node))
            if key in result:
                first = self.document.keys[path + (key,)]
                self.problems.append(
                    Problem(
                        self.location(key_node),
                        f"duplicate key '{key}' (first given on line {first.line}); remove one of them",
                    )
                )
                continue
            self.document.keys[path + (key,)] = self.location(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def flatten_merges(self, node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        """Yield a mapping's pairs with ``<<: *anchor`` merges expanded (own keys win)."""
        own = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        yield from own
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    self.problems.append(
                        Problem(self.location(source), "'<<' must merge a mapping")
                    )
                    continue
                for pair in self.flatten_merges(source):
                    if pair[0].value not in own_keys:
                        own_keys.add(pair[0].value)
                        yield pair


def _utf8_problem(file: str, raw: bytes, error: UnicodeDecodeError) -> Problem:
    before = raw[: error.start]
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return Problem(
        Location(file, line, column),
        f"byte 0x{raw[error.start]:02x} is not valid UTF-8; save the file as UTF-8",
    )


def _yaml_problem(file: str, error: yaml.YAMLError) -> Problem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
    what = getattr(error, "problem", None) or str(error)
    message = f"this is not valid YAML: {what}"
    context = getattr(error, "context", None)
    started = getattr(error, "context_mark", None)
    if context and started is not None and started is not mark:
        # "while parsing a flow sequence" -> "the flow sequence that started at ..."
        thing = (
            context.removeprefix("while parsing ")
            .removeprefix("while scanning ")
            .removeprefix("a ")
        )
        message += f" (in the {thing} that started at line {started.line + 1}, column {started.column + 1})"
    elif context:
        message += f" ({context})"
    return Problem(where, message)


def parse_text(text: str, file: str) -> tuple[Document, list[Problem]]:
    """Parse YAML text; the document's data is None when the text holds nothing."""
    document = Document(file=file, data=None)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        return document, [_yaml_problem(file, error)]
    if root is None:
        return document, []
    builder = _Builder(file)
    try:
        builder.document.data = builder.build(root, ())
    except yaml.YAMLError as error:
        return document, [_yaml_problem(file, error)]
    return builder.document, sorted(builder.problems)


def load_file(path: Path, display: str | None = None) -> tuple[Document, list[Problem]]:
    """Read and parse one YAML file; problems come back instead of exceptions."""
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return Document(file=file, data=None), [
            Problem(Location(file, 1, 1), f"cannot read the file: {reason}")
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return Document(file=file, data=None), [_utf8_problem(file, raw, error)]
    return parse_text(text.removeprefix("\ufeff"), file)
