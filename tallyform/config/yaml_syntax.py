"""YAML syntax errors in the user's terms, and tabs that YAML 1.2 allows.

PyYAML words its syntax errors from the parser's side (``expected <block end>, but
found '<block mapping start>'``, ``mapping values are not allowed here``, ``found
character '\\t' that cannot start any token``). :func:`syntax_problem` looks at the text
around the error and says what the person wrote wrong, in the words they know: a key
out of line with the line above (and by how many spaces), a tab used for indentation, a
value holding ``: `` that needs quotes, a quote or bracket never closed. Each message
keeps the error's ``file:line:column`` (at the key that is out of line, where there is
one); an error it does not recognise keeps PyYAML's words.

:class:`TabSeparation` is a scanner mixin for PyYAML's pure-Python loader: YAML 1.2
allows a tab wherever a space separates two things on one line (``key:<TAB>value``, a
tab before a comment), only never to indent a line, which PyYAML (YAML 1.1) refuses.
:func:`tabs_as_spaces` gives the same text with exactly those tabs made spaces, for
readers that refuse them (ruamel.yaml, in ``fmt``); columns do not move.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = ["Located", "TabSeparation", "explain", "tabs_as_spaces"]


@dataclass(frozen=True)
class Located:
    """A message at a line and column (both from 1) of the file."""

    line: int
    column: int
    message: str


_KEY = re.compile(r"(?P<indent> *)(?P<dash>(?:- +)*)(?P<key>[^\s#:][^#]*?)\s*:(?:\s|$)")
_FLOW_OPENERS = {"flow sequence": ("[", "]"), "flow mapping": ("{", "}")}


_BREAKS = "\r\n\x85\u2028\u2029"
_ENDS = "#\0" + _BREAKS  # what may follow white space that only separates


def _document_marker(scanner: Any) -> bool:
    prefix = scanner.prefix(3)
    return prefix in ("---", "...") and scanner.peek(3) in "\0 \t" + _BREAKS


class TabSeparation:
    """Lets PyYAML's scanner skip a tab that separates, as a space, never one that indents.

    Mixed into a loader class before ``yaml.SafeLoader``; each tab skipped is recorded
    (its index in the text) in ``separating_tabs``.
    """

    separating_tabs: list[int]

    def scan_to_next_token(self) -> None:
        scanner: Any = self
        if scanner.index == 0 and scanner.peek() == "\ufeff":
            scanner.forward()
        found = False
        while not found:
            while True:
                char = scanner.peek()
                if char == "\t" and self._tab_separates():
                    self.__dict__.setdefault("separating_tabs", []).append(scanner.index)
                elif char != " ":
                    break
                scanner.forward()
            if scanner.peek() == "#":
                while scanner.peek() not in "\0\r\n\x85\u2028\u2029":
                    scanner.forward()
            if scanner.scan_line_break():
                if not scanner.flow_level:
                    scanner.allow_simple_key = True
            else:
                found = True

    def scan_plain_spaces(self, indent: int, start_mark: Any) -> list[str] | None:
        """PyYAML's, but a tab is white space in plain text as in YAML 1.2: between two
        words it is part of the text (``title: Purchase<TAB>request``); before a comment
        or the end of the line it separates, and is recorded as such."""
        scanner: Any = self
        chunks: list[str] = []
        length = 0
        while scanner.peek(length) in " \t":
            length += 1
        whitespaces: str = scanner.prefix(length)
        if "\t" in whitespaces and scanner.peek(length) in _ENDS:
            tabs = self.__dict__.setdefault("separating_tabs", [])
            tabs += [scanner.index + i for i, char in enumerate(whitespaces) if char == "\t"]
        scanner.forward(length)
        if scanner.peek() in _BREAKS:
            line_break = scanner.scan_line_break()
            scanner.allow_simple_key = True
            if _document_marker(scanner):
                return None
            breaks = []
            while scanner.peek() in " " + _BREAKS:
                if scanner.peek() == " ":
                    scanner.forward()
                else:
                    breaks.append(scanner.scan_line_break())
                    if _document_marker(scanner):
                        return None
            if line_break != "\n":
                chunks.append(line_break)
            elif not breaks:
                chunks.append(" ")
            chunks.extend(breaks)
        elif whitespaces:
            chunks.append(whitespaces)
        return chunks

    def _tab_separates(self) -> bool:
        """Inside brackets any tab separates; in block style, one after text on its line."""
        scanner: Any = self
        if scanner.flow_level:
            return True
        start = scanner.pointer - scanner.column
        return bool(scanner.buffer[start : scanner.pointer].strip(" \t"))


class _TabFinder(TabSeparation, yaml.SafeLoader):
    """Scans a text only to find the tabs that separate."""


def tabs_as_spaces(text: str) -> str:
    """``text`` with every tab that separates (as YAML 1.2 allows) made a space.

    Raises PyYAML's ``YAMLError`` if the text does not scan.
    """
    if "\t" not in text:
        return text
    finder = _TabFinder(text)
    try:
        while finder.check_token():
            finder.get_token()  # type: ignore[no-untyped-call]
        tabs = finder.__dict__.get("separating_tabs", [])
    finally:
        finder.dispose()
    chars = list(text)
    for index in tabs:
        chars[index] = " "
    return "".join(chars)


def _at(mark: Any, message: str) -> Located:
    return Located(mark.line + 1, mark.column + 1, message)


def _line(lines: list[str], number: int) -> str:
    """Line ``number`` (from 0), or '' past the end."""
    return lines[number] if 0 <= number < len(lines) else ""


def _line_above(lines: list[str], number: int) -> tuple[int, str] | None:
    """The nearest line above ``number`` (from 0) holding more than a comment."""
    for above in range(number - 1, -1, -1):
        stripped = lines[above].strip()
        if stripped and not stripped.startswith("#"):
            return above, lines[above]
    return None


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content_column(line: str) -> int:
    """Where a line's key or item starts, past any list dashes."""
    match = _KEY.match(line)
    if match:
        return len(match.group("indent")) + len(match.group("dash"))
    return _indent(line)


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"


def _what(line: str) -> str:
    """How to name a line's first thing: 'key' or the list item."""
    match = _KEY.match(line)
    if match and not match.group("dash"):
        return f"'{match.group('key')}'"
    return "the list item" if line.lstrip(" ").startswith("-") else f"'{line.strip()[:40]}'"


def _there(where: tuple[int, int], message: str) -> Located:
    return Located(where[0], where[1], message)


def _out_of_line(lines: list[str], number: int) -> Located | None:
    """A key or list item on line ``number`` (from 0) indented unlike the line above."""
    here = _line(lines, number)
    if not here.strip():
        return None
    above = _line_above(lines, number)
    column = _content_column(here)
    where = (number + 1, column + 1)
    if above is None:
        return _there(
            where,
            f"{_what(here)} is indented {_spaces(column)}; the first key of the file "
            "starts in the first column",
        )
    above_number, above_line = above
    this = _what(here)
    that = _what(above_line)
    item = this == "the list item"
    if item:  # list items line up by their dashes
        column = _indent(here)
        where = (number + 1, column + 1)
    above_column = _indent(above_line) if item and that == this else _content_column(above_line)
    if column > above_column and not above_line.rstrip().endswith(":"):
        return _there(
            where,
            f"{this} is indented {_spaces(column)}, more than {that} on line "
            f"{above_number + 1} ({_spaces(above_column)}), which has a value already; "
            f"line it up with {that}, or if it belongs under it, end line "
            f"{above_number + 1} with ':' and put the value on lines below",
        )
    if column == above_column and this == "the list item" and that != "the list item":
        return _there(
            where,
            f"{this} is in line with {that} on line {above_number + 1}; a list that "
            f"is a key's value is written after `key:`, indented under the key",
        )
    sibling = _sibling_item(lines, number, column) if item and column < above_column else None
    if sibling is not None:  # back out of a nested block: held against the list it ends
        above_number, above_column = sibling
        that = this
    return _there(
        where,
        f"{this} is indented {_spaces(column)}, but {that} on line {above_number + 1} "
        f"is indented {_spaces(above_column)}; "
        + ("the items of one list" if item else "the keys of one mapping")
        + " start in the same column",
    )


def _sibling_item(lines: list[str], number: int, column: int) -> tuple[int, int] | None:
    """The list item above line ``number`` (from 0) that a list item indented ``column``
    most likely belongs with: the nearest of those whose dash is closest to ``column``,
    and what that indentation is. None if no list item is above."""
    best: tuple[int, int, int] | None = None  # (how far off, how far up, its line)
    for above in range(number - 1, -1, -1):
        text = lines[above]
        if not text.lstrip(" ").startswith("- ") and text.strip() != "-":
            continue
        off = abs(_indent(text) - column)
        if best is None or off < best[0]:
            best = (off, number - above, above)
    return None if best is None else (best[2], _indent(lines[best[2]]))


def _colon_in_value(lines: list[str], mark: Any) -> Located | None:
    """``title: Step: one``: a value holding ': ' on the line of its key."""
    line = _line(lines, mark.line)
    match = _KEY.match(line)
    if match is None or match.end("key") >= mark.column:
        return None
    key = match.group("key")
    value = line[match.end() : mark.column].strip() + line[mark.column :].split(" #")[0]
    value = value.strip()
    return _at(
        mark,
        f"the value of '{key}' holds ': ', which YAML reads as the start of another key; "
        f'put the value in quotes: {key}: "{value}"',
    )


def _tab(lines: list[str], mark: Any) -> Located:
    line = _line(lines, mark.line)
    if not line[: mark.column].strip(" \t"):
        return _at(
            mark,
            "this line is indented with a tab; indent with spaces, not tabs "
            "(YAML does not allow tabs in indentation)",
        )
    return _at(
        mark,
        "a tab here cannot start a value; use a space instead of the tab",
    )


def _cannot_start(lines: list[str], mark: Any, char: str) -> Located:
    line = _line(lines, mark.line)
    value = line[mark.column :].split(" #")[0].strip()
    return _at(
        mark,
        f"'{char}' cannot start a value in YAML; put the value in quotes: \"{value}\"",
    )


def _unclosed(error: Any) -> Located | None:
    context = (
        (error.context or "").removeprefix("while parsing a ").removeprefix("while scanning a ")
    )
    started = error.context_mark
    if started is None:
        return None
    opened_at = f"line {started.line + 1}, column {started.column + 1}"
    if context == "quoted scalar":
        return _at(
            error.problem_mark,
            f"the quoted text opened at {opened_at} is never closed; end it with the "
            "same quote mark it starts with",
        )
    if context in _FLOW_OPENERS:
        opener, closer = _FLOW_OPENERS[context]
        what = "list" if opener == "[" else "mapping"
        if "<stream end>" in (error.problem or ""):
            return _at(
                error.problem_mark,
                f"the '{opener}' opened at {opened_at} is never closed; end the {what} "
                f"with '{closer}'",
            )
        return _at(
            error.problem_mark,
            f"the '{opener}' opened at {opened_at} is not closed with '{closer}' before "
            f"this point (the items of a {what} written on one line are separated by ', ')",
        )
    return None


def _pyyaml_words(error: yaml.YAMLError) -> Located:
    """PyYAML's own message, for errors this module does not recognise."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
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
    return _at(mark, message) if mark else Located(1, 1, message)


def explain(error: yaml.YAMLError, text: str) -> Located:
    """PyYAML's syntax error in ``text`` as one located message in the user's terms."""
    found = _translate(error, text)
    if found is None:
        return _pyyaml_words(error)
    return Located(found.line, found.column, f"this is not valid YAML: {found.message}")


def _translate(error: yaml.YAMLError, text: str) -> Located | None:
    problem = getattr(error, "problem", None) or ""
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return None
    lines = text.splitlines()
    if problem == "found character '\\t' that cannot start any token":
        return _tab(lines, mark)
    cannot = re.fullmatch(r"found character '(.)' that cannot start any token", problem)
    if cannot:
        return _cannot_start(lines, mark, cannot.group(1))
    if problem == "mapping values are not allowed here":
        return _colon_in_value(lines, mark) or _out_of_line(lines, mark.line)
    if problem.startswith("expected <block end>, but found"):
        return _out_of_line(lines, mark.line)
    if problem == "found unexpected end of stream" or problem.startswith("expected ','"):
        return _unclosed(error)
    return None
