"""Per-org values in template files: ``${name}``, from ``variables:`` under the org.

One repository serves several orgs whose values differ (a sandbox's webhook URL, a
production approver's email). A string anywhere in a template file may hold
``${name}``; planning against an org puts that org's value in its place before the file
is checked, so every check (schema, emails, URLs) sees the value the org will get, and a
problem still points at the file, line and column where the string is written.
``$${`` is a literal ``${``.

A name the org does not define is a problem at the string's location. The values put
in may add at most :data:`~tallyform.config.source.MAX_TEXT` characters to a file, as
its aliases may: past that, a problem at the string that passes it. ``validate``,
which plans against no org, checks every template file for every org of
``tallyform.yaml``, so a variable forgotten for one org is found before a pull request
is merged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from tallyform.config.source import MAX_TEXT, DataPath, Document, Location, Problem

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(r"\$(\$?)\{(" + NAME + r")\}")
_ANY_BRACE = re.compile(r"\$\{([^}]*)\}?")


class _Substitution:
    def __init__(self, document: Document, values: Mapping[str, str], org: str) -> None:
        self.document = document
        self.values = values
        self.org = org
        self.problems: list[Problem] = []
        self.filled: set[Location] = set()  # where a value was put in
        self.added = 0  # characters the values put in so far add to the document
        self.too_long = False

    def value(self, data: Any, path: DataPath) -> Any:
        if isinstance(data, str):
            return self.text(data, path)
        if isinstance(data, dict):
            return {k: self.value(v, (*path, k)) for k, v in data.items()}
        if isinstance(data, list):
            return [self.value(v, (*path, i)) for i, v in enumerate(data)]
        return data

    def text(self, text: str, path: DataPath) -> str:
        if "${" not in text:
            return text

        def put(match: re.Match[str]) -> str:
            escaped, name = match.group(1), match.group(2)
            if escaped:
                return "${" + name + "}"
            if name not in self.values:
                self.problems.append(self.undefined(name, path))
                return match.group(0)
            return self.bounded(self.values[name], match.group(0), path)

        result = _REFERENCE.sub(put, text)
        if result != text:
            self.filled.add(self.document.at(path))
        leftover = _REFERENCE.sub("", text)
        for broken in _ANY_BRACE.finditer(leftover):
            if broken.start() > 0 and leftover[broken.start() - 1] == "$":
                continue
            self.problems.append(
                Problem(
                    self.document.at(path),
                    f"`{broken.group(0)}` is not a variable reference: write `${{name}}` "
                    "with a name of letters, digits and _ (or `$${` for a literal `${`)",
                )
            )
        return result

    def bounded(self, value: str, reference: str, path: DataPath) -> str:
        """``value`` if the document, with it put in, stays within MAX_TEXT characters
        more than written (aliases expanded); else the reference, once a problem."""
        self.added += max(len(value) - len(reference), 0)
        if self.added <= MAX_TEXT:
            return value
        if not self.too_long:
            self.too_long = True
            self.problems.append(
                Problem(
                    self.document.at(path),
                    f"with org '{self.org}''s variables put in, the file would hold more than "
                    f"{MAX_TEXT:,} characters of text more than it does; tallyform puts in at "
                    f"most {MAX_TEXT:,} (see Limits in the README)",
                )
            )
        return reference

    def undefined(self, name: str, path: DataPath) -> Problem:
        known = ", ".join(sorted(self.values)) or "none"
        return Problem(
            self.document.at(path),
            f"`${{{name}}}` is not defined for org '{self.org}' (its variables: {known}); "
            f"add `{name}:` under `orgs: {self.org}: variables:` in tallyform.yaml",
        )


@dataclass
class Substituted:
    """A document with one org's values put in, and what that showed."""

    document: Document
    problems: list[Problem]  # undefined names and malformed references
    filled: set[Location]  # the locations of strings that took a value

    def explain(self, problem: Problem, org: str) -> Problem:
        """``problem``, saying which org's values it arose with if it is at a filled string."""
        if problem.location not in self.filled:
            return problem
        return Problem(problem.location, f"{problem.message} (with org '{org}''s variables)")


def substitute(document: Document, values: Mapping[str, str], org: str) -> Substituted:
    """The document with ``org``'s values put in; every undefined name is a problem."""
    work = _Substitution(document, values, org)
    data = work.value(document.data, ())
    return Substituted(replace(document, data=data), work.problems, work.filled)


__all__ = ["NAME", "Substituted", "substitute"]
