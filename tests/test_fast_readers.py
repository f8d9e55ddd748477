"""The fast readers give exactly the answers of the full ones, or step aside.

`validate` reads YAML from libyaml's events and checks the JSON Schema with compiled
Python checks; the full reader (PyYAML's composer with the limits) and jsonschema have
the last word whenever the fast ones are unsure. Whatever the fast reader returns must
equal what the full one returns (data, types, and the mark of every value and key), and
the compiled check must never call valid what jsonschema does not.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.validate_files import template_text
from tallyform.config.schema import _valid, _validator
from tallyform.config.source import Document, _parse_fully, parse_text, plain_document
from tests.conftest import EXAMPLES, REPO

CORPUS = sorted((REPO / "tests/corpus").rglob("*.yaml"))
EXAMPLE_FILES = sorted((EXAMPLES / "templates").glob("*.yaml")) + [EXAMPLES / "tallyform.yaml"]


def _same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down (True is not 1), in the same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def _marks(table: dict[Any, yaml.Mark]) -> dict[Any, tuple[int, int]]:
    return {path: (mark.line, mark.column) for path, mark in table.items()}


def _assert_agree(text: str) -> Document | None:
    """The fast reader's document, checked against the full reader's (None: it stepped aside)."""
    fast = plain_document(text, "f.yaml")
    if fast is None:
        return None
    full, problems = _parse_fully(text, "f.yaml")
    assert problems == [], (text, problems)
    assert _same(fast.data, full.data), (text, fast.data, full.data)
    assert _marks(fast.values) == _marks(full.values), text
    assert _marks(fast.keys) == _marks(full.keys), text
    return fast


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_the_examples_take_the_fast_path_and_agree(path: Path) -> None:
    assert _assert_agree(_text(path)) is not None


def test_without_libyaml_the_pure_python_parser_gives_the_same_events(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PyYAML built without libyaml: the fast reader reads the pure-Python parser's events."""
    from tallyform.config import source

    monkeypatch.setattr(source, "_EventParser", yaml.SafeLoader)
    for path in [*EXAMPLE_FILES, *CORPUS]:
        _assert_agree(_text(path))
    assert _assert_agree(template_text(0)) is not None


def test_generated_benchmark_templates_take_the_fast_path_and_agree() -> None:
    for number in range(20):
        assert _assert_agree(template_text(number)) is not None


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_bad_input_is_left_to_the_full_reader_or_read_alike(path: Path) -> None:
    _assert_agree(_text(path))


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1]\nb: *x\n",  # anchors and aliases
        "a: !!str 1\n",  # tags
        "<<: {a: 1}\n",  # merge keys
        "a: 1\na: 2\n",  # duplicate keys
        "a:\n",  # nothing written
        "--- a\n",  # document markers
        "a: 1\n--- b\n",
        "a: .inf\n",  # not finite
        "a: " + "9" * 101 + "\n",  # past the number limit
        "x: " + "[" * 70 + "]" * 70 + "\n",  # past the depth limit
        "a: \u202e\n",  # invisible characters
        'a: "\\u202e"\n',  # written by an escape
        "a:\tb\n",  # a tab
        "[a?]\n",  # libyaml reads this, PyYAML refuses it
        "a: |2#\n  b\n",
        "? [a]\n: b\n",  # a list as a key
    ],
)
def test_the_fast_reader_steps_aside(text: str) -> None:
    assert plain_document(text, "f.yaml") is None


@pytest.mark.parametrize("literal", ["0b_", "0x_", "+0b_", "0o_"])
def test_a_number_python_cannot_read_is_text(literal: str) -> None:
    """YAML 1.1 takes `0b_` for a binary number; it is none, so it stays the text written."""
    full, problems = _parse_fully(f"title: {literal}\n", "f.yaml")
    assert problems == [] and full.data == {"title": literal}
    fast = parse_text(f"title: {literal}\n", "f.yaml")
    assert fast[1] == [] and fast[0].data == {"title": literal}


@pytest.mark.parametrize("text", ["title: !!int abc\n", "title: !!float x\n"])
def test_an_explicit_number_tag_on_text_is_a_located_problem(text: str) -> None:
    _, problems = parse_text(text, "f.yaml")
    assert [(p.location.line, p.location.column) for p in problems] == [(1, 8)]
    assert "is not a valid !!" in problems[0].message


ATOMS = [
    *["a", "key", "Yes", "no", "true", "False", "~", "null", "", "1", "007", "0x1F", "0o17"],
    *["1_000", "1:20", "1:20.5", "2024-01-01", ".inf", ".nan", "1e3", "1.5", "-1", "+1"],
    *["<<", "=", "-", "?", ":", "a b", "a:b", "a#b", "a #b", "'q'", "'it''s'", '"dq"'],
    *['"a\\tb"', '"\\u00e9"', "é", "日本", "😀", "&x", "*x", "!!str 1", "! a", "%", "@a"],
    *["|", ">", "|-", ">+", "|2", "[", "]", "{", "}", ",", "[a, b]", "{a: 1}", "[]", "{}"],
    *["#c", " #c", "---", "...", "\r", "'multi\n  line'", "plain\n  cont", "9" * 101, "0b"],
    *["0b_", "0x_", "-0o_"],  # numbers to YAML 1.1 that Python cannot read
]
atom = st.sampled_from(ATOMS)
fragment = st.recursive(
    atom,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(inner, inner), max_size=3).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        ),
        st.tuples(inner, st.sampled_from(["", " ", ":", ": ", ", "]), inner).map("".join),
    ),
    max_leaves=6,
)
line = st.tuples(
    st.sampled_from(["", "", " ", "  ", "    "]),
    st.sampled_from(["{}: {}", "{}:", "- {}", "- {}: {}", "{}", "# c", ""]),
    fragment,
    fragment,
).map(lambda parts: parts[0] + parts[1].format(parts[2], parts[3]))
yaml_text = st.tuples(st.lists(line, min_size=1, max_size=8), st.sampled_from(["\n", "", "\r\n"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_text)
def test_any_text_read_fast_is_read_alike(parts: tuple[list[str], str]) -> None:
    lines, end = parts
    _assert_agree("\n".join(lines) + end)


words = st.sampled_from(
    [*ATOMS, "How is it going?", "Amount (USD)", "alice@example.com", "$", "a: b", "- x"]
    + ["x ?", "#x", "line\nbreak", " lead", "trail ", "q'uote", 'd"q', "back\\slash", "a,b"]
)
scalars = st.one_of(words, st.integers(), st.floats(), st.booleans(), st.none())
data = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(words, st.integers()), inner)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data,
    st.sampled_from([None, False, True]),
    st.sampled_from([20, 80, 1000]),
    st.booleans(),
    st.sampled_from([None, None, "'", '"', "|"]),
)
def test_dumped_data_read_fast_is_read_alike(
    value: Any, flow: bool | None, width: int, unicode: bool, style: str | None
) -> None:
    text = yaml.safe_dump(
        value,
        default_flow_style=flow,
        width=width,
        allow_unicode=unicode,
        sort_keys=False,
        default_style=style,
    )
    _assert_agree(text)


def test_a_file_read_fast_reports_locations_as_before() -> None:
    document, problems = parse_text("title: A\nsteps:\n  - title: B\n", "t.yaml")
    assert problems == []
    assert str(document.at(("steps", 0, "title"))) == "t.yaml:3:12"
    assert str(document.key_at(("steps", 0, "title"))) == "t.yaml:3:5"
    assert str(document.at(("steps", 5))) == "t.yaml:3:3"  # the nearest known: the list


# -- the compiled schema check -----------------------------------------------------------------

ODD_VALUES = [
    *["x", "", "a" * 700, "Key", "key-1", "bad key", "task", "approval", "days", "dropdown"],
    *[0, -1, 1, 1.0, 2.5, 10**6, True, False, None, float("inf"), float("nan")],
    *[[], {}, ["a", "a"], ["a", "b"], [1, 1], [1, True], ["x", 1], [{"a": 1}]],
    {"value": 2, "unit": "days"},
    {"users": ["a@example.com"]},
]
EXTRA_KEYS = ["extra", "summary", "type", "options", "required", "deadline", "fields", "key"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, documents: list[Any]) -> Any:
    """A valid document with a few values changed, removed or added."""
    value = copy.deepcopy(draw(st.sampled_from(documents)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(value)[1:] or [()]))
        if not path:
            continue
        parent = value
        for part in path[:-1]:
            parent = parent[part]
        how = draw(st.integers(0, 3))
        if how == 0:
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif how == 1 and isinstance(parent, dict):
            del parent[path[-1]]
        elif how == 2 and isinstance(parent, dict):
            key = draw(st.sampled_from(EXTRA_KEYS))
            parent[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(draw(st.sampled_from([*ODD_VALUES, parent[path[-1]]]))))
    return value


def _data(path: Path) -> Any:
    return parse_text(_text(path), path.name)[0].data


TEMPLATES = [_data(p) for p in sorted((EXAMPLES / "templates").glob("*.yaml"))]
TEMPLATES += [parse_text(template_text(n), "b.yaml")[0].data for n in range(3)]
PROJECTS = [_data(EXAMPLES / "tallyform.yaml")]


@pytest.mark.parametrize("name", ["template", "project"])
def test_the_compiled_check_passes_valid_files(name: str) -> None:
    for document in TEMPLATES if name == "template" else PROJECTS:
        assert _validator(name).is_valid(document)
        assert _valid(name)(document)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(TEMPLATES))
def test_the_compiled_template_check_is_never_more_lenient(document: Any) -> None:
    if _valid("template")(document):
        assert _validator("template").is_valid(document), document


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(PROJECTS))
def test_the_compiled_project_check_is_never_more_lenient(document: Any) -> None:
    if _valid("project")(document):
        assert _validator("project").is_valid(document), document


@pytest.mark.parametrize("path", sorted((REPO / "tests/corpus").rglob("*.yaml")), ids=str)
def test_the_compiled_check_refuses_what_jsonschema_refuses_in_the_corpus(path: Path) -> None:
    document = _data(path)
    name = "project" if path.parent.name == "projects" else "template"
    if _valid(name)(document):
        assert _validator(name).is_valid(document)
