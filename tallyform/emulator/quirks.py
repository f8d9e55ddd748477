"""Pessimistic answers to the reference's open questions, each switchable alone.

By default the emulator takes the likeliest answer to each open question (reference
sections 9 and 10). A :class:`Quirks` with a switch on takes the other, worse answer
instead, so a client can be shown to converge whichever way Tallyfy turns out to behave;
:meth:`Quirks.strict` turns every switch on (``tallyform emulator serve --strict``).

- ``top_level_folders`` (10.1, SDK and n8n ask ``with=children``): ``GET /folders``
  lists only top-level folders, unless ``parent_id=X`` asks for X's direct children.
  ``with=children`` nests each folder's children as ``{"data": [...]}``, recursively, in
  both modes; by default the list stays flat (every folder, ``with`` only adds the include).
- ``nulls_refused`` (10.2, "must be a valid URL"): a write whose JSON body holds ``null``
  anywhere answers 422 naming each key by its dotted path. The one exception is a rule
  condition's ``statement``, which the reference documents as nullable (4.5). Nulls inside
  ``custom_fields`` are refused too: the full-replace PUT clears a value left out, so a
  client never needs ``null`` there (3.9). An empty string is not refused: it is how a
  client clears a value, read as null afterwards (:meth:`~tallyform.emulator.call.Call.body`,
  as Laravel's ConvertEmptyStringsToNull). Real Laravel runs that middleware before
  validation, so rules without ``nullable`` would refuse ``""`` too; that reading leaves
  no way to clear a value at all, so this switch does not model it.
- ``prerun_omitted_deleted`` (9.4, 10.3): a template PUT carrying ``prerun`` deletes the
  kick-off fields it leaves out (an absent ``prerun`` still leaves them alone); if a rule
  uses one of them the whole PUT answers 422 and changes nothing.
- ``unpositioned_first`` (10.4): a form field created without ``position`` goes first.
- ``no_custom_fields_in_lists`` (10.6): list rows (``GET /checklists``, ``GET .../steps``)
  and nested steps under ``with=steps`` carry no ``custom_fields`` key, nor do the
  captures and kick-off fields inside them. Only a direct read carries values: the
  template's own and its kick-off fields' on ``GET /checklists/{id}`` (kick-off fields
  have no route of their own, 3.4), a step's own and its form fields' on
  ``GET .../steps/{id}`` (form fields are read through their step, 3.3), and each write's
  answer about the object written.
- ``bodiless_deletes`` (9.20, 10.8, the Swagger file): deleting a form field, a kick-off
  field, a step, a rule or a tag link answers 204 with no body.
- ``field_type_immutable`` (9.8, 10.10, n8n): changing a form field's or kick-off field's
  ``field_type`` answers 422.
- ``app_tokens_cannot_act`` (2.4, 10.7, client-credentials-flow.mdx): an application's
  own token (from ``/oauth/token``) answers 403 "You don't have application's permissions
  for this organization!" (Tallyfy's words for an app token where it has no permission) on
  ``/me``, ``/me/organizations`` and every org route; it can only mint member tokens at
  ``POST /applications/{org}/users/{email}/token``, and those act as usual. By default an
  application's token acts for the application's user, as a personal token does.
- ``list_without_includes`` (3.1: ``with`` is documented on the template list, but no
  source shows what a row then carries): ``GET /checklists`` ignores ``with``, so rows
  carry no steps or tags. By default a row carries the includes a GET of the template
  would. tallyform reads the list with ``with=steps,tags,folder`` and uses a row as the
  template only when it is whole, else reads the template on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

STRICT = "strict"


@dataclass(frozen=True)
class Quirks:
    """One boolean per open question; False is the likeliest answer, True the pessimistic one."""

    top_level_folders: bool = False
    nulls_refused: bool = False
    prerun_omitted_deleted: bool = False
    unpositioned_first: bool = False
    no_custom_fields_in_lists: bool = False
    bodiless_deletes: bool = False
    field_type_immutable: bool = False
    app_tokens_cannot_act: bool = False
    list_without_includes: bool = False

    @classmethod
    def strict(cls) -> Quirks:
        """Every pessimistic answer at once."""
        return cls(**dict.fromkeys(QUIRK_NAMES, True))

    @classmethod
    def named(cls, names: Iterable[str]) -> Quirks:
        """The quirks with these names on (``strict`` turns all on); unknown names are a ValueError."""
        wanted = set(names)
        if STRICT in wanted:
            return cls.strict()
        unknown = wanted - set(QUIRK_NAMES)
        if unknown:
            raise ValueError(f"unknown emulator quirks: {', '.join(sorted(unknown))}")
        return cls(**dict.fromkeys(wanted, True))

    def on(self) -> tuple[str, ...]:
        """The names of the switches that are on, in declaration order."""
        return tuple(name for name in QUIRK_NAMES if getattr(self, name))


QUIRK_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Quirks))

QUIRK_HELP: dict[str, str] = {
    "top_level_folders": "GET /folders lists top-level folders only",
    "nulls_refused": "a null in a write body is a 422",
    "prerun_omitted_deleted": "a template PUT deletes kick-off fields left out",
    "unpositioned_first": "a new form field without position goes first",
    "no_custom_fields_in_lists": "lists and nested objects carry no custom_fields",
    "bodiless_deletes": "field, step, rule, tag-link deletes answer 204",
    "field_type_immutable": "changing a field's field_type is a 422",
    "app_tokens_cannot_act": "an app's own token is a 403; tokens it mints act",
    "list_without_includes": "GET /checklists ignores with=steps,tags,folder",
}

# The one key whose null the reference documents as allowed: a rule condition's statement (4.5).
_NULLABLE_PATH = re.compile(r"conditions\.\d+\.statement")
_URL_KEYS = frozenset({"webhook", "explanation_video", "webhook_url"})


def null_paths(value: Any, prefix: str = "") -> list[str]:
    """Every dotted path (Laravel's ``a.0.b``) in a JSON value that holds ``null``."""
    if value is None:
        return [prefix] if prefix else ["body"]
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found: list[str] = []
    for key, inner in items:
        found.extend(null_paths(inner, f"{prefix}.{key}" if prefix else str(key)))
    return found


def _documented_nullable(path: str) -> bool:
    return _NULLABLE_PATH.fullmatch(path) is not None


def null_errors(body: Any) -> dict[str, list[str]]:
    """Laravel-style messages for every refused null in a write body (empty if none)."""
    errors: dict[str, list[str]] = {}
    for path in null_paths(body):
        if _documented_nullable(path):
            continue
        leaf = path.rsplit(".", 1)[-1]
        if leaf in _URL_KEYS:
            errors[path] = [f"The {path} must be a valid URL."]
        else:
            errors[path] = [f"The {path} field may not be null."]
    return errors
