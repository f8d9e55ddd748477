"""A JSON Schema compiled into one plain Python function: is this value valid?

jsonschema finds and explains every error, and takes a few milliseconds for a template
even when there is none. Most documents are valid, so :mod:`tallyform.config.schema`
first asks the function compiled here, about ten times faster, and runs jsonschema only
when the answer is no.

The function is never more lenient than jsonschema (Draft 2020-12, no format checker):
it answers True only when jsonschema finds no error. Where it is unsure it answers False
and leaves the question to jsonschema: a keyword it does not know, a ``$ref`` other than
``#/$defs/NAME``, an ``enum`` value of another type that jsonschema might call equal, a
list to be unique that holds more than text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never make a value invalid (jsonschema checks `format` only when given a
# format checker, and tallyform gives none); `x-...` keywords are tallyform's own notes.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples"}
    | {"format", "deprecated", "readOnly", "writeOnly", "contentMediaType"}
)
_KNOWN = frozenset(
    {"type", "enum", "const", "$ref", "anyOf"}
    | {"minLength", "maxLength", "pattern"}
    | {"minimum", "maximum"}
    | {"items", "minItems", "maxItems", "uniqueItems"}
    | {"properties", "additionalProperties", "required", "minProperties"}
)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Check] = {
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, dict),
    "null": lambda value: value is None,
}


def _never(value: Any) -> bool:
    return False


def _always(value: Any) -> bool:
    return True


def _unique(items: list[Any]) -> bool:
    """True only when the items are text and all different (else jsonschema decides)."""
    return all(isinstance(item, str) for item in items) and len(set(items)) == len(items)


def compile_schema(root: dict[str, Any]) -> Check:
    """The check of values against ``root``, a whole JSON Schema document."""
    return _Compiler(root).compile(root)


class _Compiler:
    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _always
        if not isinstance(schema, dict):
            return _never
        rules = {
            keyword: rule
            for keyword, rule in schema.items()
            if keyword not in _ANNOTATIONS and not keyword.startswith("x-")
        }
        if not rules.keys() <= _KNOWN or "patternProperties" in schema:
            return _never
        checks: list[Check] = []
        kind = rules.pop("type", None)
        if kind is not None:
            names = kind if isinstance(kind, list) else [kind]
            if not names or not all(isinstance(name, str) and name in _TYPES for name in names):
                return _never
            if names == ["object"]:
                checks.append(self._mapping(rules, typed=True))
            elif names == ["array"]:
                checks.append(self._list(rules, typed=True))
            elif names == ["string"]:
                checks.append(self._text(rules, typed=True))
            else:
                tests = [_TYPES[name] for name in names]
                checks.append(lambda value: any(test(value) for test in tests))
        checks += self._others(rules)
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:
            first, second = checks
            return lambda value: first(value) and second(value)
        return lambda value: all(check(value) for check in checks)

    def _others(self, rules: dict[str, Any]) -> list[Check]:
        """Checks for whatever keywords the typed checks left in ``rules``."""
        checks: list[Check] = []
        if rules.keys() & {"properties", "additionalProperties", "required", "minProperties"}:
            checks.append(self._mapping(rules, typed=False))
        if rules.keys() & {"items", "minItems", "maxItems", "uniqueItems"}:
            checks.append(self._list(rules, typed=False))
        if rules.keys() & {"minLength", "maxLength", "pattern"}:
            checks.append(self._text(rules, typed=False))
        if "minimum" in rules or "maximum" in rules:
            low, high = rules.pop("minimum", None), rules.pop("maximum", None)
            checks.append(
                lambda value: (
                    not _is_number(value)
                    or ((low is None or value >= low) and (high is None or value <= high))
                )
            )
        if "enum" in rules:
            allowed = list(rules.pop("enum"))
            if all(type(choice) is str for choice in allowed):
                words = frozenset(allowed)
                checks.append(lambda value: type(value) is str and value in words)
            else:
                checks.append(lambda value: any(_same(value, choice) for choice in allowed))
        if "const" in rules:
            constant = rules.pop("const")
            checks.append(lambda value: _same(value, constant))
        if "anyOf" in rules:
            branches = [self.compile(branch) for branch in rules.pop("anyOf")]
            checks.append(lambda value: any(branch(value) for branch in branches))
        if "$ref" in rules:
            checks.append(self._ref(rules.pop("$ref")))
        return checks

    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            return _never
        name = ref.removeprefix("#/$defs/")
        if name not in self.refs:
            self.refs[name] = _never  # while compiling, for a schema that refers to itself
            self.refs[name] = self.compile(self.root.get("$defs", {}).get(name, False))
        refs = self.refs
        return lambda value: refs[name](value)

    def _mapping(self, rules: dict[str, Any], typed: bool) -> Check:
        properties = {key: self.compile(sub) for key, sub in rules.pop("properties", {}).items()}
        extra = rules.pop("additionalProperties", True)
        others: Check | None = None if extra is False else self.compile(extra)
        required = frozenset(rules.pop("required", []))
        fewest = rules.pop("minProperties", 0)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return not typed
            for key, item in value.items():
                known = properties.get(key)
                if known is not None:
                    if not known(item):
                        return False
                elif others is None or not others(item):
                    return False
            return len(value) >= fewest and value.keys() >= required

        return check

    def _list(self, rules: dict[str, Any], typed: bool) -> Check:
        items = rules.pop("items", True)
        if isinstance(items, list):
            return _never  # the items of an older draft
        item_check = self.compile(items)
        fewest = rules.pop("minItems", 0)
        most = rules.pop("maxItems", None)
        unique = rules.pop("uniqueItems", False) is True

        def check(value: Any) -> bool:
            if not isinstance(value, list):
                return not typed
            if len(value) < fewest or (most is not None and len(value) > most):
                return False
            if unique and not _unique(value):
                return False
            return item_check is _always or all(map(item_check, value))

        return check

    def _text(self, rules: dict[str, Any], typed: bool) -> Check:
        shortest = rules.pop("minLength", 0)
        longest = rules.pop("maxLength", None)
        pattern = rules.pop("pattern", None)
        # As jsonschema: re.search, so the pattern may match anywhere in the text.
        search = None if pattern is None else re.compile(pattern).search

        def check(value: Any) -> bool:
            if not isinstance(value, str):
                return not typed
            if len(value) < shortest or (longest is not None and len(value) > longest):
                return False
            return search is None or search(value) is not None

        return check


def _same(value: Any, allowed: Any) -> bool:
    """Equal and of the same type: stricter than jsonschema's equality, never looser."""
    return type(value) is type(allowed) and bool(value == allowed)
