"""How a record is shown at each level of an answer: with its ``custom_fields``, without
them, or with ``null``; and a step whole or thin.

The default shows every record whole, at every level. The custom-field quirks
(:mod:`.quirks`: ``no_custom_fields_in_lists``, ``prerun_without_custom_fields``,
``captures_without_custom_fields``, ``partial_custom_fields``) and ``thin_listed_steps``
pick a :class:`StepView` or a :data:`Values` per level; ``custom_fields_null`` is applied to
a whole answer at the end (:func:`values_nulled`).

Renderers copy only what they change: an answer shares the rest with the state, and the
emulator encodes it before the state can change again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: How a record's ``custom_fields`` is shown: as stored, left out, or ``null``.
Values = Literal["present", "absent", "null"]

#: What a step nested in a template list row keeps under ``thin_listed_steps``.
THIN_STEP_KEYS = frozenset(
    {
        "id",
        "checklist_id",
        "alias",
        "title",
        "summary",
        "step_type",
        "position",
        "captures",
        "custom_fields",
        "created_at",
        "last_updated",
    }
)


@dataclass(frozen=True)
class StepView:
    """How to show a step: its own values, its form fields' values, and whether thin."""

    values: Values = "present"
    capture_values: Values = "present"
    thin: bool = False


WHOLE = StepView()


def shown(record: dict[str, Any], values: Values) -> dict[str, Any]:
    """``record`` with its ``custom_fields`` as ``values`` says (itself when present)."""
    if values == "present":
        return record
    out = {k: v for k, v in record.items() if k != "custom_fields"}
    if values == "null":
        out["custom_fields"] = None
    return out


def render_step(step: dict[str, Any], view: StepView = WHOLE) -> dict[str, Any]:
    """A step with its captures as a bare array (reference 5.1 and 9.24), as ``view`` says."""
    if view == WHOLE:
        return step
    out = shown(step, view.values)
    if out is step:
        out = dict(step)
    if view.thin:
        out = {k: v for k, v in out.items() if k in THIN_STEP_KEYS}
    out["captures"] = [shown(capture, view.capture_values) for capture in step["captures"]]
    return out


def values_nulled(value: Any) -> Any:
    """A whole answer with every ``custom_fields`` shown as ``null`` (``custom_fields_null``):
    a new structure throughout, so the state is never changed."""
    if isinstance(value, dict):
        return {k: None if k == "custom_fields" else values_nulled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [values_nulled(v) for v in value]
    return value
