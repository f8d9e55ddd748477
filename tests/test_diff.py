"""attr_changes: which attributes of an object differ, and what changed inside a list."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tallyform.engine.diff import attr_changes

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
        st.dictionaries(st.sampled_from(["x", "y", "z"]), inner, max_size=3),
    ),
    max_leaves=8,
)
objects = st.dictionaries(st.sampled_from(["title", "required", "options", "deadline"]), values)


@settings(max_examples=200, deadline=None)
@given(old=objects, new=objects)
def test_exactly_the_attributes_that_differ_are_named(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    named = [change.name for change in attr_changes(old, new)]
    differ = [k for k in [*new, *(k for k in old if k not in new)] if (k in old) != (k in new)]
    differ += [k for k in new if k in old and old[k] != new[k]]
    assert sorted(named) == sorted(differ)
    assert len(named) == len(set(named))
    for change in attr_changes(old, new):
        assert (change.old, change.new) == (old.get(change.name), new.get(change.name))


@settings(max_examples=200, deadline=None)
@given(value=objects)
def test_an_object_is_the_same_as_its_copy(value: dict[str, Any]) -> None:
    assert attr_changes(value, dict(value)) == []


def test_a_php_one_is_true() -> None:
    """Tallyfy may answer 1 for a setting sent as true: no write would change it."""
    assert attr_changes({"everyone_must_complete": 1}, {"everyone_must_complete": True}) == []
    assert attr_changes({"value": 2.0}, {"value": 2}) == []


def test_an_attribute_on_one_side_only_differs_even_when_null() -> None:
    changed = attr_changes({"title": "A"}, {"title": "A", "deadline": None})
    assert [(c.name, c.old, c.new) for c in changed] == [("deadline", None, None)]


def test_attr_changes_unchanged_and_changed() -> None:
    old = {"title": "A", "required": True, "options": ["x", "y"]}
    assert attr_changes(old, dict(old)) == []
    changed = attr_changes(old, {**old, "required": False, "options": ["x", "z"]})
    assert [c.name for c in changed] == ["required", "options"]
    assert changed[1].items[0].new == "z"
