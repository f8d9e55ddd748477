"""fmt sees that a file is canonical without ruamel.yaml only when ruamel.yaml would agree.

`fmt` leaves a file alone when :func:`canonical_text` writes exactly the file's text from
its data. That is right only if every text canonical_text writes is one that fmt's
ruamel.yaml round trip leaves unchanged; these tests hold it to that, on the examples,
on generated templates, on every nesting of lists and mappings, and on random data.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.validate_files import template_text
from tallyform.config.canonical import canonical_text
from tallyform.config.fmt import _already_canonical, format_file, format_text
from tallyform.config.schema import load_schema
from tallyform.config.source import plain_document
from tests.conftest import EXAMPLES

SCHEMA = load_schema("template")
HEADS = ["", "# yaml-language-server: $schema=../schemas/template.schema.json\n", "# a\n#\n"]


def _assert_fmt_keeps(text: str) -> None:
    assert format_text(text) == text, text


@pytest.mark.parametrize(
    "path", sorted((EXAMPLES / "templates").glob("*.yaml")), ids=lambda p: p.name
)
def test_canonical_examples_are_seen_without_ruamel(path: Path) -> None:
    text = path.read_text("utf-8")
    document = plain_document(text, path.name)
    assert document is not None
    assert _already_canonical(text, document.data, "template")
    _assert_fmt_keeps(text)


def test_canonical_generated_templates_are_seen_without_ruamel() -> None:
    for number in range(10):
        text = template_text(number)
        document = plain_document(text, "t.yaml")
        assert document is not None and _already_canonical(text, document.data, "template")
        _assert_fmt_keeps(text)


@pytest.mark.parametrize(
    "text",
    [
        "title: T\nkey: k\n",  # key order
        "key: k\ntitle: T  # a comment\n",  # a comment kept by ruamel.yaml
        "key: k\n\ntitle: T\n",  # a blank line
        "key: k\r\ntitle: T\r\n",
        "key: k\ntags:\n  - a\n",  # fits in flow style
        "key: k\ntitle: 'T'\n",  # needless quotes
        "key: k\ntitle: Yes\n",  # needs quotes
        "key: k\nsummary: null\n",
        "# yaml-language-server: $schema=x \nkey: k\n",  # a space at the end of a comment
    ],
)
def test_anything_else_goes_through_ruamel(text: str, tmp_path: Path) -> None:
    document = plain_document(text, "t.yaml")
    assert document is None or not _already_canonical(text, document.data, "template")
    path = tmp_path / "t.yaml"
    path.write_bytes(text.encode())
    assert format_file(path).changed == (format_text(text) != text)


def _nested(shape: str, leaf: Any) -> Any:
    value = leaf
    for kind in reversed(shape):
        value = [value] if kind == "S" else {"a": value}
    return value


def test_every_nesting_that_is_written_is_kept() -> None:
    for size in range(1, 6):
        for shape in itertools.product("SM", repeat=size):
            value = _nested("".join(shape), "b")
            for wrapped in (value, [value, "c"], {"a": value, "c": 1}):
                for key in ("w", "steps", "options", "then"):
                    text = canonical_text({"key": "k", key: wrapped}, "", SCHEMA)
                    if text is not None:
                        _assert_fmt_keeps(text)


WORDS = [
    *["A", "Hardware", "Yes", "No", "on", "y", "true", "null", "How is it going?", "$", "(x)"],
    *["Amount (USD)", "alice@example.com", "a, b", "a?", "x - y", "it's", "50%", "a=b", "x;y"],
    *["wow!", "José", "日本語", "a  b", "a.", "e-signature", "Onboarding {{company}}", "a[b]"],
    *["a*", "b|c", "d<e>", 'f"g', "key-1", "Z", "Off", "NULL", "/p", "a" * 120, "word " * 30],
]
KEYS = [
    *SCHEMA["properties"],
    *["label", "type", "required", "options", "users", "groups", "value", "unit", "step"],
    *["when", "then", "hide", "field", "is", "name", "extra", "x", "y", "Yes", "fields"],
]
scalars = st.one_of(
    st.sampled_from(WORDS),
    st.tuples(
        st.sampled_from(WORDS), st.sampled_from([" ", "-", " (", "/"]), st.sampled_from(WORDS)
    ).map("".join),
    st.sampled_from([0, 2, 15, -3, 10**20]),
    st.booleans(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=5),
        st.dictionaries(st.sampled_from(KEYS), inner, min_size=1, max_size=5),
    ),
    max_leaves=14,
)
templates = st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=8).map(
    lambda extra: {"key": "k", "title": "T", **extra}
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(templates, st.sampled_from(HEADS))
def test_any_text_written_is_kept_by_ruamel(data: dict[str, Any], head: str) -> None:
    text = canonical_text(data, head, SCHEMA)
    if text is not None:
        _assert_fmt_keeps(text)
