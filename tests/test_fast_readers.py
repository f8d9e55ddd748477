"""The fast YAML reader gives exactly the answers of the full one, or steps aside.

`validate` reads YAML from libyaml's events; the full reader (PyYAML's composer with the
limits) has the last word whenever the fast one is unsure. Whatever the fast reader
returns must equal what the full one returns: data, types, and the mark of every value
and key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.validate_files import template_text
from tallyform.config.source import Document, _parse_fully, _plain_document, parse_text
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
    fast = _plain_document(text, "f.yaml")
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
    assert _plain_document(text, "f.yaml") is None


ATOMS = [
    *["a", "key", "Yes", "no", "true", "False", "~", "null", "", "1", "007", "0x1F", "0o17"],
    *["1_000", "1:20", "1:20.5", "2024-01-01", ".inf", ".nan", "1e3", "1.5", "-1", "+1"],
    *["<<", "=", "-", "?", ":", "a b", "a:b", "a#b", "a #b", "'q'", "'it''s'", '"dq"'],
    *['"a\\tb"', '"\\u00e9"', "é", "日本", "😀", "&x", "*x", "!!str 1", "! a", "%", "@a"],
    *["|", ">", "|-", ">+", "|2", "[", "]", "{", "}", ",", "[a, b]", "{a: 1}", "[]", "{}"],
    *["#c", " #c", "---", "...", "\r", "'multi\n  line'", "plain\n  cont", "9" * 101, "0b"],
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


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
