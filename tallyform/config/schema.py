"""The JSON Schemas of tallyform's files, and checking documents against them.

The schemas ship in the package (``tallyform.schemas``, the repository's ``schemas/``).
Errors from jsonschema are turned into short messages in the user's words and placed
at the exact key or value they concern.

Most documents are valid, and jsonschema takes milliseconds to say so; the schema
compiled into plain Python (:mod:`tallyform.config.validity`) says it about ten times
faster, and is never more lenient. Only when it says no is jsonschema imported and run,
to find and word the errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from tallyform.config import suggest
from tallyform.config.source import DataPath, Document, Problem
from tallyform.config.validity import Check, compile_schema

if TYPE_CHECKING:
    import jsonschema
    from jsonschema.exceptions import ValidationError

SCHEMA_NAMES = ("template", "project")

_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of keys to values",
    "null": "nothing",
}


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema called ``name`` ('template' or 'project')."""
    text = resources.files("tallyform.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema(name))


@cache
def _valid(name: str) -> Check:
    """Whether a value is valid against schema ``name``; False also when unsure."""
    return compile_schema(load_schema(name))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if value is None:
        return "nothing"
    return "a list" if isinstance(value, list) else "a mapping"


def _expected(types: Any) -> str:
    names = types if isinstance(types, list) else [types]
    return " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in names)


def _unknown_key_problems(
    document: Document, error: ValidationError, path: DataPath
) -> list[Problem]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    allowed = sorted(schema.get("properties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    problems = []
    for key in instance:
        if key in allowed:
            continue
        hint = suggest.closest(key, allowed)
        advice = f"did you mean '{hint}'?" if hint else "allowed here: " + ", ".join(allowed)
        problems.append(Problem(document.key_at((*path, key)), f"unknown key '{key}'; {advice}"))
    return problems


def _branch_error(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf failures, the branch error that says most about what is wrong."""
    same_type = [e for e in error.context or [] if e.validator != "type" or e.relative_path]
    candidates = same_type or list(error.context or [])
    from jsonschema.exceptions import best_match

    return best_match(candidates) or error


def _message(error: ValidationError) -> str:
    value: Any = error.instance
    kind = error.validator
    rule: Any = error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kind == "required":
        missing = [k for k in rule if k not in (value or {})]
        return f"missing required key '{missing[0]}'" if missing else error.message
    if kind == "type":
        return f"expected {_expected(rule)}, got {_describe(value)}"
    if kind == "enum":
        choices = [str(c) for c in rule]
        hint = suggest.closest(str(value), choices) if isinstance(value, str) else None
        mean = f"did you mean '{hint}'? " if hint else ""
        return f"{value!r} is not allowed here; {mean}use one of: {', '.join(choices)}"
    if kind == "const":
        return f"must be {rule!r}, got {value!r}"
    if kind == "pattern":
        # A sensitive value (where a token may have been pasted by mistake) is never echoed.
        shown = "this value" if schema.get("x-sensitive") else repr(value)
        return f"{shown} {schema.get('x-message', 'does not have the expected form')}"
    if kind == "minLength":
        return "must not be empty" if rule == 1 else f"needs at least {rule} characters"
    if kind == "maxLength":
        return f"is {len(value)} characters long; at most {rule} are allowed"
    if kind in ("minItems", "minProperties"):
        return "must not be empty" if rule == 1 else error.message
    if kind == "uniqueItems":
        return "lists the same entry twice; remove the duplicate"
    if kind in ("minimum", "maximum"):
        return f"{value!r} is out of range ({kind} {rule})"
    return error.message


@dataclass(frozen=True)
class SchemaError:
    """One way a document breaks its schema: the value concerned, the keyword, the problem."""

    path: DataPath
    keyword: str
    problem: Problem


def schema_errors(document: Document, name: str) -> list[SchemaError]:
    """Every way ``document`` breaks schema ``name``, each with the path of its value."""
    if _valid(name)(document.data):
        return []
    found: list[SchemaError] = []
    for error in _validator(name).iter_errors(document.data):
        if error.validator in ("anyOf", "oneOf"):
            error = _branch_error(error)
        path: DataPath = tuple(error.absolute_path)
        keyword = str(error.validator)
        if keyword == "additionalProperties" and isinstance(error.instance, dict):
            found += (
                SchemaError(path, keyword, p) for p in _unknown_key_problems(document, error, path)
            )
            continue
        where = document.key_at(path) if keyword == "required" else document.at(path)
        found.append(SchemaError(path, keyword, Problem(where, _message(error))))
    return found


def check_against_schema(document: Document, name: str) -> list[Problem]:
    """Every way ``document`` breaks schema ``name``, each at its key or value."""
    return sorted({error.problem for error in schema_errors(document, name)})
