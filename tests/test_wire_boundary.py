"""Tallyfy's wire format stays in ``tallyform.tallyfy``: the engine and the model plan on
typed records (:mod:`tallyform.tallyfy.records`) and never read or build a wire dict.

Read from the source with ``ast``, as ``test_layering.py`` reads imports. What counts as
the wire is learnt from the Tallyfy package itself, not listed by hand, so the check grows
with it: the keys its records read from answers and its writes put in request bodies,
less the names tallyform's own shapes use too (the model's normalised attributes and the
plan file: ``title``, ``last_updated``, ...), which the engine may read from those. Each
check is first shown to catch a planted offence, and its vocabulary to hold keys that
are surely the wire's, so none passes for finding nothing to look at.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tallyform"
TALLYFY = PACKAGE / "tallyfy"
GUARDED = sorted([*(PACKAGE / "engine").glob("*.py"), *(PACKAGE / "model").glob("*.py")])
# Where the Tallyfy package reads answers, and where it builds request bodies.
READERS = ("records.py", "wire.py")
WRITERS = ("payloads.py", "writes.py", "runs.py", "lock.py")
# tallyform's own shapes, whose keys the engine may read (some are the wire's names too).
OWN_SHAPES = [*(PACKAGE / "model").glob("*.py"), PACKAGE / "engine" / "planfile.py"]
# The client's wire shapes.
CLIENT_WIRE_NAMES = {"unwrap", "Record", "Json", "JsonBody"}
PLAIN_NOT = re.compile(r"\b(dict|Mapping|Any|Record|Wire|Json|JsonBody)\b")
WIRE_ANNOTATIONS = re.compile(r"dict\[str, Any\]|\bRecord\b|\bWire\b|\bJson\b")
# Keys no shape of tallyform's own has: if the vocabulary lost them, it learnt nothing.
SURELY_WIRE = {
    "custom_fields",
    "checklist_id",
    "field_type",
    "step_type",
    "captures",
    "prerun",
    "automated_actions",
    "then_actions",
    "conditionable_id",
    "tag_id",
    "archived_at",
}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _text(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keys_read(tree: ast.AST) -> list[tuple[int, str]]:
    """String keys looked up: ``x["k"]``, ``x.get("k")`` (``pop``, ``setdefault``), ``"k" in x``."""
    found = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and not isinstance(node.ctx, ast.Store):
            key = _text(node.slice)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr in ("get", "pop", "setdefault"):
                key = _text(node.args[0])
        elif isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn):
            key = _text(node.left)
        if key is not None:
            found.append((getattr(node, "lineno", 0), key))
    return found


def _keys_built(tree: ast.Module) -> list[tuple[int, str]]:
    """String keys written: dict displays (not lookup tables: module constants, or a
    display indexed at once) and ``x["k"] = ...``."""
    tables = {id(node.value) for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            tables.add(id(node.value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            tables.add(id(node.func.value))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and id(node) not in tables:
            found += [(node.lineno, k) for k in map(_text, node.keys) if k is not None]
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            key = _text(node.slice)
            if key is not None:
                found.append((node.lineno, key))
    return found


def _field_names(tree: ast.AST) -> set[str]:
    """Names declared in class bodies (dataclass fields, TypedDict keys)."""
    return {
        statement.target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for statement in node.body
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
    }


@functools.cache
def wire_only_keys() -> set[str]:
    """Keys the Tallyfy package reads from answers or sends in bodies, that no shape of
    tallyform's own has."""
    wire = {key for name in READERS for _, key in _keys_read(_tree(TALLYFY / name))}
    wire |= {key for name in WRITERS for _, key in _keys_built(_tree(TALLYFY / name))}
    own: set[str] = set()
    for path in OWN_SHAPES:
        tree = _tree(path)
        own |= {key for _, key in _keys_built(tree)} | _field_names(tree)
    return wire - own


def wire_keys_in(tree: ast.Module, wire: set[str]) -> list[str]:
    """Each wire key ``tree`` reads or builds, with its line."""
    found = [*_keys_read(tree), *_keys_built(tree)]
    return [f"line {line}: '{key}'" for line, key in sorted(set(found)) if key in wire]


@functools.cache
def wire_helpers() -> set[str]:
    """Names of the Tallyfy package that hand out or take wire dicts: in ``wire.py`` and
    ``payloads.py`` every name but a function of plain values only (a question about the
    wire format answered in typed values, such as whether a map fits), and each function
    elsewhere whose result is a wire shape."""
    names = set(CLIENT_WIRE_NAMES)
    for path in TALLYFY.glob("*.py"):
        for node in _tree(path).body:
            if path.name in ("wire.py", "payloads.py"):
                plain = isinstance(node, ast.FunctionDef) and _plain(node)
                names |= set() if plain else _defined(node)
            elif isinstance(node, ast.FunctionDef) and _hands_out_wire(node):
                names.add(node.name)
    return names


def _hands_out_wire(function: ast.FunctionDef) -> bool:
    returns = function.returns
    return returns is not None and WIRE_ANNOTATIONS.search(ast.unparse(returns)) is not None


def _plain(function: ast.FunctionDef) -> bool:
    """Whether every parameter and the result are plain values (no dict, Mapping or Any)."""
    arguments = function.args
    annotations = [a.annotation for a in [*arguments.args, *arguments.kwonlyargs]]
    annotations.append(function.returns)
    return all(node is not None and not PLAIN_NOT.search(ast.unparse(node)) for node in annotations)


def _defined(node: ast.stmt) -> set[str]:
    """The names a top-level statement defines."""
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else []
    if isinstance(node, ast.AnnAssign):
        targets = [node.target]
    return {t.id for t in targets if isinstance(t, ast.Name)}


def wire_imports_in(tree: ast.Module, helpers: set[str]) -> list[str]:
    """Imports of a wire module whole, or of a name that hands out wire dicts."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.endswith((".wire", ".payloads"))]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tallyform."):
            module = node.module or ""
            found += [f"{module}.{a.name}" for a in node.names if a.name in helpers]
    return found


@functools.cache
def client_methods() -> set[str]:
    """The public methods of the API client, each of which sends or names a request."""
    (client,) = [
        node
        for node in ast.walk(_tree(PACKAGE / "client" / "api.py"))
        if isinstance(node, ast.ClassDef) and node.name == "TallyfyClient"
    ]
    return {
        node.name
        for node in client.body
        if isinstance(node, ast.FunctionDef)
        and not node.name.startswith("_")
        and not node.decorator_list
        and node.name != "close"
    }


def client_calls_in(tree: ast.Module, methods: set[str]) -> list[str]:
    """Calls such as ``client.get(...)`` or ``self.client.create(...)``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        receiver = node.func.value
        name = receiver.id if isinstance(receiver, ast.Name) else getattr(receiver, "attr", "")
        if name.endswith("client") and node.func.attr in methods:
            found.append(f"line {node.lineno}: {name}.{node.func.attr}()")
    return found


def kept_answers_in(tree: ast.Module) -> list[str]:
    """Reads of the answer a record keeps for the Tallyfy package (``.wire``, ``._wire``)."""
    return [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in ("wire", "_wire")
    ]


def _ids(paths: Iterable[Path]) -> list[str]:
    return [str(p.relative_to(PACKAGE)) for p in paths]


PLANTED = ast.parse(
    """
from tallyform.tallyfy.wire import key_of
from tallyform.tallyfy.read import get_template
from tallyform.client import unwrap

def plan(raw, client, record):
    client.list_all("/checklists")
    keys = raw.get("custom_fields")
    if "prerun" in raw:
        raw["step_type"]
    body = {"checklist_id": raw["id"], "title": record.title}
    return record.wire, attrs["title"], attrs.get("deadline")
"""
)


def test_the_checks_catch_what_they_look_for() -> None:
    wire = wire_only_keys()
    assert wire >= SURELY_WIRE, f"the wire vocabulary misses {sorted(SURELY_WIRE - wire)}"
    assert not wire & {"title", "id", "deadline", "last_updated"}, "tallyform's own names"
    assert wire_keys_in(PLANTED, wire) == [
        "line 8: 'custom_fields'",
        "line 9: 'prerun'",
        "line 10: 'step_type'",
        "line 11: 'checklist_id'",
    ]
    helpers = wire_helpers()
    assert {"key_of", "whole_template", "unwrap", "get_template", "template_body"} <= helpers
    assert {"ID_PREFIX", "ids_value", "map_children", "without_nulls"} <= helpers
    assert "map_names_all" not in helpers, "a question in plain values may be asked"
    assert wire_imports_in(PLANTED, helpers) == [
        "tallyform.tallyfy.wire.key_of",
        "tallyform.tallyfy.read.get_template",
        "tallyform.client.unwrap",
    ]
    assert client_calls_in(PLANTED, client_methods()) == ["line 7: client.list_all()"]
    assert kept_answers_in(PLANTED) == ["line 12: .wire"]


@pytest.mark.parametrize("path", GUARDED, ids=_ids(GUARDED))
def test_engine_and_model_never_read_or_build_a_wire_dict(path: Path) -> None:
    tree = _tree(path)
    keys = wire_keys_in(tree, wire_only_keys())
    assert not keys, f"reads or builds Tallyfy's keys (use a record's attributes): {keys}"
    imports = wire_imports_in(tree, wire_helpers())
    assert not imports, f"imports what hands out wire dicts: {imports}"
    calls = client_calls_in(tree, client_methods())
    assert not calls, f"talks to the API itself (tallyform.tallyfy does): {calls}"
    kept = kept_answers_in(tree)
    assert not kept, f"reads the answer a record keeps for tallyform.tallyfy: {kept}"
