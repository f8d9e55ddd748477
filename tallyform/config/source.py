"""Reading YAML files while keeping the file, line and column of every value.

PyYAML's composer gives a node tree with marks; this module turns it into plain Python
data plus a table from each value's path (a tuple of keys and indexes) to its location,
so later checks can point at ``file:line:column``. It also catches what PyYAML lets
through silently: duplicate mapping keys, recursive aliases, and invisible characters that
make text display differently from what it is (bidi overrides, control characters).

Hostile input is refused before it costs much, each time as a located problem (the
README's "Limits"): a file over :data:`MAX_FILE_BYTES` is never read (a stat says so,
and the bounded reader, :mod:`tallyform.bounded`, never reads more, nor from a device or
a FIFO); the composer stops at the first node nested deeper than :data:`MAX_DEPTH`
levels, or that would make the document, aliases expanded, hold more than
:data:`MAX_VALUES` values or :data:`MAX_TEXT` characters of text (sizes are counted on
the node graph, so an alias bomb or a long text used many times is never expanded); a
number written with more than :data:`MAX_NUMBER_DIGITS` digits is never converted.

Scalars follow YAML 1.2's core schema rather than PyYAML's YAML 1.1: only
``true``/``false`` are booleans (so an option ``No`` stays the text "No") and dates
stay strings. ``fmt`` (ruamel.yaml) reads files the same way.

Two readers give the same answer. The fast one (:func:`plain_document`) builds data and
locations straight from libyaml's events (PyYAML's C parser, when PyYAML has it) for the
files nearly everyone writes: no anchors, aliases, tags, merge keys or duplicate keys,
nothing invisible, well within the limits. At the first thing it does not handle, or any
error, it gives up and the full reader (PyYAML's composer with the limits, then
:class:`_Builder`) reads the file again and has the last word on every message and
location. The fast reader keeps the limits too: it stops before any of them, and expands
nothing (an alias makes it give up).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from tallyform.bounded import FileRefused, TooLarge, read_bounded
from tallyform.config import yaml_syntax
from tallyform.model.template import Location as Location

try:  # PyYAML built with libyaml, as its wheels are
    from yaml._yaml import CParser as _EventParser
except ImportError:  # pragma: no cover - the pure-Python parser gives the same events
    from yaml import SafeLoader as _EventParser  # type: ignore[assignment]

DataPath = tuple[str | int, ...]

MAX_FILE_BYTES = 1_000_000  # 1 MB per file
MAX_DEPTH = 64  # levels of nesting, aliases expanded
MAX_VALUES = 50_000  # keys and values of one document, aliases expanded
# Characters of text in one document, aliases expanded: a file holds at most
# MAX_FILE_BYTES of its own, so only aliases (or variables put in) can reach this.
MAX_TEXT = 2 * MAX_FILE_BYTES
MAX_NUMBER_DIGITS = 100

_DECIMAL = re.compile(r"[-+]?[0-9][0-9_]*")
# Bidi embeddings, overrides and isolates ("Trojan Source"), and control characters.
_HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

_BOOL_WORDS = {"true": True, "false": False}
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_FLOAT_TAG = "tag:yaml.org,2002:float"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the user's input, at a location."""

    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass
class Document:
    """A YAML file's data with where every value and every mapping key starts.

    ``values`` and ``keys`` hold PyYAML's marks (counting from 0) as the parser made
    them, which costs nothing per value; :meth:`at` and :meth:`key_at` give locations.
    """

    file: str
    data: Any
    values: dict[DataPath, yaml.Mark] = field(default_factory=dict)
    keys: dict[DataPath, yaml.Mark] = field(default_factory=dict)

    def at(self, path: DataPath) -> Location:
        """Where the value at ``path`` is, or its nearest known ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return Location(self.file, found.line + 1, found.column + 1)
        return Location(self.file, 1, 1)

    def key_at(self, path: DataPath) -> Location:
        """Where the mapping key naming ``path`` is (falling back to the value)."""
        found = self.keys.get(path)
        if found is None:
            return self.at(path)
        return Location(self.file, found.line + 1, found.column + 1)


@dataclass(frozen=True)
class DocumentOrigin:
    """Where a declared object came from: a document and the path inside it (the files'
    side of :class:`tallyform.model.Origin`)."""

    document: Document
    path: DataPath

    def locate(self, *sub: str | int) -> Location:
        return self.document.at((*self.path, *sub))

    def data(self, *sub: str | int) -> Any:
        """The value as written in the file at this origin (and ``sub`` below it)."""
        node: Any = self.document.data
        for part in (*self.path, *sub):
            node = node[part]
        return node


class LimitExceeded(Exception):
    """A document passes one of the limits; ``mark`` is where (0-based, as PyYAML's)."""

    def __init__(self, mark: yaml.Mark, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message

    def problem(self, file: str) -> Problem:
        return Problem(Location(file, self.mark.line + 1, self.mark.column + 1), self.message)


class _LimitedLoader(yaml_syntax.TabSeparation, yaml.SafeLoader):
    """PyYAML's safe composer, stopped at the first node that passes a limit.

    It keeps a running count of values and of characters of text with every alias
    counted at its full expanded size (recorded once per node), so the check costs one
    step per node written, never one per node expanded.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._total = 0
        self._text = 0
        self._aliases = False
        self._sizes: dict[int, _Size] = {}  # id(node) -> its size, aliases expanded

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            self._aliases = True
            target = super().compose_node(parent, index)
            # An alias to a node still open is a loop, which the builder reports.
            size = self._sizes.get(id(target), _ONE)
            self._count(size.values, mark)
            self._count_text(size.text, mark)
            if self._depth + size.levels > MAX_DEPTH:
                raise LimitExceeded(mark, _too_deep(self._aliases))
            return target
        if self._depth >= MAX_DEPTH:
            raise LimitExceeded(mark, _too_deep(self._aliases))
        self._count(1, mark)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._measure(node)
            if isinstance(node, yaml.ScalarNode):
                self._count_text(len(node.value), mark)
        return node

    def _count_text(self, characters: int, mark: yaml.Mark) -> None:
        self._text += characters
        if self._text > MAX_TEXT:
            expanded = " once its aliases are expanded" if self._aliases else ""
            raise LimitExceeded(
                mark,
                f"the file holds more than {MAX_TEXT:,} characters of text{expanded}; "
                f"tallyform reads at most {MAX_TEXT:,} (see Limits in the README)",
            )

    def _count(self, values: int, mark: yaml.Mark) -> None:
        self._total += values
        if self._total > MAX_VALUES:
            expanded = " once its aliases are expanded" if self._aliases else ""
            raise LimitExceeded(
                mark,
                f"the file holds more than {MAX_VALUES:,} values{expanded}; tallyform "
                f"reads at most {MAX_VALUES:,} (see Limits in the README)",
            )

    def _measure(self, node: yaml.Node) -> None:
        if isinstance(node, yaml.ScalarNode):
            _check_number(node)
            children: list[yaml.Node] = []
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = list(node.value)
        measured = [self._sizes.get(id(child), _ONE) for child in children]
        self._sizes[id(node)] = _Size(
            values=1 + sum(size.values for size in measured),
            levels=1 + max((size.levels for size in measured), default=0),
            text=(
                len(node.value)
                if isinstance(node, yaml.ScalarNode)
                else sum(size.text for size in measured)
            ),
        )


@dataclass(frozen=True)
class _Size:
    """A node's size with its aliases expanded: values, levels of nesting, characters."""

    values: int
    levels: int
    text: int


_ONE = _Size(1, 1, 0)  # a node not measured yet: an alias to one still open is a loop


def _too_deep(aliases: bool) -> str:
    expanded = " once its aliases are expanded" if aliases else ""
    return (
        f"nested more than {MAX_DEPTH} levels deep{expanded}; tallyform reads at most "
        f"{MAX_DEPTH} levels (see Limits in the README)"
    )


def _check_number(node: yaml.ScalarNode) -> None:
    if node.style is None and _DECIMAL.fullmatch(node.value):
        digits = sum(c.isdigit() for c in node.value)
        if digits > MAX_NUMBER_DIGITS:
            raise LimitExceeded(
                node.start_mark,
                f"this number has {digits:,} digits; tallyform reads numbers of at most "
                f"{MAX_NUMBER_DIGITS} digits (quote it if it is text)",
            )


def compose_limited(text: str) -> yaml.Node | None:
    """The node tree of one YAML document within the limits.

    Raises :class:`LimitExceeded`, or PyYAML's ``YAMLError`` when the text is not YAML.
    """
    loader = _LimitedLoader(text)
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


class _GiveUp(Exception):
    """The fast reader meets something it leaves to the full one."""


# Where the fast reader gives up at once: line breaks and tabs other than plain \n (and
# \r\n), which the two parsers are not both known to place alike, and a byte order mark.
_UNUSUAL = re.compile("[\t\x85\u2028\u2029\ufeff]")
_BLOCK_HEADER = re.compile(r"[|>][1-9+-]{0,2}(?:[ \r\n]|$)")
_RESOLVERS = yaml.SafeLoader.yaml_implicit_resolvers  # first character -> implicit types
_SAFE = yaml.SafeLoader("")  # resolves and constructs scalars as the full reader does
# Safely below the limits, so that a file the fast reader accepts is never one the full
# reader would refuse (it counts and nests the same nodes, without aliases).
_FAST_MAX_DEPTH = MAX_DEPTH - 4
_FAST_MAX_VALUES = MAX_VALUES - 4
_LONG_KEY = 512  # characters; both parsers look at most 1024 ahead for a key's ':'
_PLAIN: dict[str, Any] = {}  # plain scalar -> value, for those _RESOLVERS may type


def _scalar(event: Any, text: str, flow: bool) -> Any:
    """The value of a scalar event as the full reader builds it; _GiveUp for anything rare.

    Where libyaml reads more than PyYAML's own parser (which refuses it), it gives up:
    a block scalar header not followed by a space, a '?' inside a plain scalar in a flow
    collection. Escapes in double quotes are left to the full reader, too.
    """
    value: str = event.value
    style = event.style
    if event.anchor is not None or event.tag is not None:
        raise _GiveUp
    if style:  # quoted or a block scalar: always text
        start = event.start_mark.index
        if style == '"':
            if "\\" in text[start : event.end_mark.index]:
                raise _GiveUp
        elif style in "|>" and not _BLOCK_HEADER.match(text, start):
            raise _GiveUp
        return value
    if flow and "?" in value:
        raise _GiveUp
    if not value:
        raise _GiveUp  # nothing written: the parsers place such a value differently
    return _plain(value) if value[0] in _RESOLVERS else value


def _plain(value: str) -> Any:
    """The value of a plain scalar whose first character may make it more than text."""
    known = _PLAIN.get(value, _GiveUp)
    if known is not _GiveUp:
        return known
    tag = _SAFE.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    result: Any = value
    if tag in (_STR_TAG, _TIMESTAMP_TAG):
        pass
    elif len(value) > MAX_NUMBER_DIGITS and _DECIMAL.fullmatch(value):
        raise _GiveUp  # the full reader says how many digits
    elif tag == _NULL_TAG:
        result = None
    elif tag == _BOOL_TAG:
        result = _BOOL_WORDS.get(value.lower(), value)
    elif tag == _INT_TAG:
        if ":" not in value:
            result = _SAFE.construct_yaml_int(yaml.ScalarNode(tag, value))
    elif tag == _FLOAT_TAG:
        result = _SAFE.construct_yaml_float(yaml.ScalarNode(tag, value))
        if not math.isfinite(result):
            raise _GiveUp
    else:
        raise _GiveUp  # merge keys, and types the full reader refuses
    if len(value) <= 64 and len(_PLAIN) < 10_000:
        _PLAIN[value] = result  # the same few words and numbers come back in every file
    return result


def plain_document(text: str, file: str) -> Document | None:
    """The document, when the fast reader can read it exactly as the full one would."""
    if _HIDDEN.search(text) or _UNUSUAL.search(text):
        return None
    parser = _EventParser(text)
    try:
        return _read_events(parser, text, file)
    except Exception:  # the full reader has the last word on every error
        return None
    finally:
        parser.dispose()


def _read_events(parser: Any, text: str, file: str) -> Document:
    get = parser.get_event
    get()  # the stream's start
    event = get()
    document = Document(file=file, data=None)
    if type(event) is StreamEndEvent:
        return document
    if type(event) is not DocumentStartEvent or event.explicit or event.version or event.tags:
        raise _GiveUp
    values, keys = document.values, document.keys
    stack: list[tuple[Any, DataPath, Any, bool, bool]] = []
    container: Any = None  # the open mapping or list, None at the top
    path: DataPath = ()
    key: Any = _GiveUp  # the open mapping's key waiting for its value; _GiveUp: none
    in_mapping = False
    flow = False  # inside a flow collection ([...] or {...})
    count = 0
    resolved = _RESOLVERS
    while True:
        event = get()
        kind = type(event)
        if kind is ScalarEvent:
            value = event.value
            if event.style or not value or event.anchor is not None or event.tag is not None:
                value = _scalar(event, text, flow)
            elif flow and "?" in value:
                raise _GiveUp  # see _scalar
            elif value[0] in resolved:
                value = _plain(value)
            if in_mapping and key is _GiveUp:
                key = str(value)
                if key in container or event.end_mark.index - event.start_mark.index > _LONG_KEY:
                    raise _GiveUp  # a duplicate key, or one the parsers may not agree on
                keys[path + (key,)] = event.start_mark
            elif in_mapping:
                values[path + (key,)] = event.start_mark
                container[key] = value
                key = _GiveUp
            elif container is not None:
                values[path + (len(container),)] = event.start_mark
                container.append(value)
            else:
                values[()] = event.start_mark
                document.data = value
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.anchor is not None or event.tag is not None:
                raise _GiveUp
            if len(stack) >= _FAST_MAX_DEPTH or (in_mapping and key is _GiveUp):
                raise _GiveUp  # deep, or a mapping or list used as a key
            opened: Any = {} if kind is MappingStartEvent else []
            if in_mapping:
                inner: DataPath = path + (key,)
                container[key] = opened
            elif container is not None:
                inner = path + (len(container),)
                container.append(opened)
            else:
                inner = ()
                document.data = opened
            values[inner] = event.start_mark
            stack.append((container, path, key, in_mapping, flow))
            container, path, key = opened, inner, _GiveUp
            in_mapping, flow = kind is MappingStartEvent, flow or bool(event.flow_style)
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            container, path, _, in_mapping, flow = stack.pop()
            key = _GiveUp
            continue
        elif kind is DocumentEndEvent and not event.explicit:
            break
        else:
            raise _GiveUp  # an alias, or a document marker
        count += 1
        if count >= _FAST_MAX_VALUES:
            raise _GiveUp
    if type(get()) is not StreamEndEvent:
        raise _GiveUp  # more than one document
    return document


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
        self.document.values.setdefault(path, node.start_mark)
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
        value = self.construct_scalar(node)
        if isinstance(value, str):
            self.check_text(value, node)
        elif isinstance(value, float) and not math.isfinite(value):
            self.problems.append(
                Problem(self.location(node), f"{node.value!r} is not a finite number")
            )
        return value

    def construct_scalar(self, node: yaml.Node) -> Any:
        text = node.value
        if node.tag == _BOOL_TAG:
            return _BOOL_WORDS.get(text.lower(), text)
        if node.tag == _TIMESTAMP_TAG or (node.tag == _INT_TAG and ":" in text):
            return text
        try:
            return self.constructor.construct_object(node, deep=True)
        except ValueError:
            implicit = self.constructor.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
            if implicit != node.tag:
                tag = node.tag.rpartition(":")[2]
                self.problems.append(
                    Problem(self.location(node), f"{text!r} is not a valid !!{tag}")
                )
            # else YAML 1.1 took `0b_` for a number, which it is not: it is the text written
            return text

    def check_text(self, text: str, node: yaml.Node) -> None:
        """Refuse characters that make text display differently from what it is."""
        found = _HIDDEN.search(text)
        if found is None:
            return
        char = found.group()
        name = unicodedata.name(char, "a control character")
        self.problems.append(
            Problem(
                self.location(node),
                f"contains U+{ord(char):04X} ({name}), an invisible character that can make "
                "text display differently from what it is; remove it",
            )
        )

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
                        f"duplicate key '{key}' (first given on line {first.line + 1}); remove one of them",
                    )
                )
                continue
            self.document.keys[path + (key,)] = key_node.start_mark
            result[key] = self.build(value_node, (*path, key))
        return result

    def flatten_merges(
        self, node: yaml.MappingNode, chain: frozenset[int] = frozenset()
    ) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        """Yield a mapping's pairs with ``<<: *anchor`` merges expanded (own keys win)."""
        own = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        yield from own
        chain = chain | {id(node)}
        for source in self.merge_sources(node):
            if id(source) in chain or id(source) in self._active:
                self.problems.append(
                    Problem(self.location(source), "an alias refers to itself; remove the loop")
                )
                continue
            for pair in self.flatten_merges(source, chain):
                name = pair[0].value if isinstance(pair[0], yaml.ScalarNode) else None
                if name is None or name not in own_keys:
                    own_keys.add(name)
                    yield pair

    def merge_sources(self, node: yaml.MappingNode) -> Iterator[yaml.MappingNode]:
        """The mappings a mapping's ``<<`` keys merge, in order; others are problems."""
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for source in sources:
                if isinstance(source, yaml.MappingNode):
                    yield source
                else:
                    self.problems.append(
                        Problem(self.location(source), "'<<' must merge a mapping")
                    )


def _utf8_problem(file: str, raw: bytes, error: UnicodeDecodeError) -> Problem:
    before = raw[: error.start]
    line = before.count(b"\n") + 1
    column = len(before) - (before.rfind(b"\n") + 1) + 1
    return Problem(
        Location(file, line, column),
        f"byte 0x{raw[error.start]:02x} is not valid UTF-8; save the file as UTF-8",
    )


def _yaml_problem(file: str, error: yaml.YAMLError, text: str) -> Problem:
    found = yaml_syntax.explain(error, text)  # in the user's terms, not PyYAML's
    return Problem(Location(file, found.line, found.column), found.message)


def parse_text(text: str, file: str) -> tuple[Document, list[Problem]]:
    """Parse YAML text; the document's data is None when the text holds nothing."""
    plain = plain_document(text, file)
    if plain is not None:
        return plain, []
    return _parse_fully(text, file)


def _parse_fully(text: str, file: str) -> tuple[Document, list[Problem]]:
    """:func:`parse_text` by the full reader alone, whatever the file holds."""
    document = Document(file=file, data=None)
    try:
        root = compose_limited(text)
    except LimitExceeded as error:
        return document, [error.problem(file)]
    except yaml.YAMLError as error:
        return document, [_yaml_problem(file, error, text)]
    if root is None:
        return document, []
    builder = _Builder(file)
    try:
        builder.document.data = builder.build(root, ())
    except yaml.YAMLError as error:
        return document, [_yaml_problem(file, error, text)]
    return builder.document, sorted(builder.problems)


def read_limited(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    """A file's text, or why it cannot be read: through the bounded reader, so a file
    over the size limit, a device or a FIFO is refused without being read."""
    try:
        raw = read_bounded(path, MAX_FILE_BYTES)
    except TooLarge as error:
        return None, [_too_large(file, error.size)]
    except FileRefused as error:
        return None, [Problem(Location(file, 1, 1), f"cannot read the file: {error.reason}")]
    try:
        return raw.decode("utf-8").removeprefix("\ufeff"), []
    except UnicodeDecodeError as error:
        return None, [_utf8_problem(file, raw, error)]


def _too_large(file: str, size: int | None) -> Problem:
    """``size`` None: the file grew past the limit after it was measured."""
    what = "the file" if size is None else f"the file of {size:,} bytes"
    return Problem(
        Location(file, 1, 1),
        f"{what} is over the limit of {MAX_FILE_BYTES:,} bytes a file (1 MB, see Limits "
        "in the README); it was not read",
    )


def load_file(path: Path, display: str | None = None) -> tuple[Document, list[Problem]]:
    """Read and parse one YAML file; problems come back instead of exceptions."""
    file = display or str(path)
    text, problems = read_limited(path, file)
    if text is None:
        return Document(file=file, data=None), problems
    return parse_text(text, file)
