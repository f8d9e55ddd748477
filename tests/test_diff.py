"""The fast path of attr_changes: objects deepdiff would find equal are not handed to it."""

from __future__ import annotations

from typing import Any

from deepdiff import DeepDiff
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyform.engine.diff import attr_changes, same

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5]),
    st.sampled_from(["", "a", "b"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["x", "y", "z"]), inner, max_size=3),
    ),
    max_leaves=8,
)


def deepdiff_equal(old: Any, new: Any) -> bool:
    return not DeepDiff(old, new, ignore_order=False, ignore_numeric_type_changes=True)


@settings(max_examples=400, deadline=None)
@given(old=values, new=values)
def test_same_only_when_deepdiff_finds_nothing(old: Any, new: Any) -> None:
    if same(old, new):
        assert deepdiff_equal(old, new)


@settings(max_examples=200, deadline=None)
@given(value=values)
def test_a_value_is_the_same_as_its_copy(value: Any) -> None:
    assert same(value, value)


def test_bools_are_not_numbers_and_tuples_are_not_lists() -> None:
    """Stricter than deepdiff may be: what is not plainly the same goes to deepdiff."""
    assert not same(True, 1)
    assert not same(0, False)
    assert not same([1], (1,))
    assert same(1, 1.0)  # ignore_numeric_type_changes, as attr_changes asks deepdiff
    assert not same({"a": 1}, {"a": 1, "b": None})


def test_attr_changes_unchanged_and_changed() -> None:
    old = {"title": "A", "required": True, "options": ["x", "y"]}
    assert attr_changes(old, dict(old)) == []
    changed = attr_changes(old, {**old, "required": False, "options": ["x", "z"]})
    assert [c.name for c in changed] == ["required", "options"]
    assert changed[1].items[0].new == "z"
