"""Pessimistic answers to the reference's open questions, each switchable alone.

By default the emulator takes the likeliest answer to each open question (reference
sections 9 and 10). A :class:`Quirks` with a switch on takes the other, worse answer
instead, so a client can be shown to converge whichever way Tallyfy turns out to behave;
:meth:`Quirks.strict` takes every pessimistic answer tallyform is held to
(``tallyform emulator serve --strict``; :data:`QUIRK_NAMES`). Most quirks are switches;
a few are choices between several answers (``--quirk empty_string=ignored``).

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
  validation, so rules without ``nullable`` would refuse ``""`` too; that reading is the
  ``empty_string=refused`` choice below, not this switch.
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

Issue 18 added a quirk for each open question that none of the above models. Each is
switchable alone (``--quirk NAME``, ``Quirks.named``), and ``strict()`` takes each but
``low_rate_limit`` (pacing, :data:`LEFT_OUT_OF_STRICT` says why) and
:data:`OUTSIDE_STRICT` (another reading rather than a worse one). Where a reading leaves
no way forward (custom fields these credentials cannot see, a value that cannot be
cleared), tallyform converges wherever it can and otherwise refuses once, clearly,
before any write, saying what to do:

- ``custom_fields_null`` (10.6; the audit's Q1 case 3 and Q4; DOC custom-fields.mdx, docs
  commit ``2d3cbc760``: values are visible "only to members"; a guest, or an application
  token not signed in as a member, "always sees ``custom_fields`` as ``null``"): an
  application's own token (from ``/oauth/token``) sees every ``custom_fields`` as ``null``
  in every answer, lists and direct reads alike, on every record kind (users, tags and
  folders too); a write of values still answers 200, and the values are kept, but it never
  sees them. Members' tokens, personal or minted by an application (``act_as``), see the
  values. The rule is the viewer's, as the page states it, so the quirk is modelled per
  credential: tallyform converges with a member's token and refuses an application's own
  token before any write (the users list, which every org has, already shows ``null``).
  With ``app_tokens_cannot_act`` on too (as under ``strict()``), that token is refused
  (403) before anything is shown, so the quirk only shows alone or beside other quirks.
- ``prerun_without_custom_fields`` (10.6; audit Q1, risk 2: 17 kick-off key writes on
  every plan): kick-off entries in template list rows carry no ``custom_fields``; the
  template's own GET still does (kick-off fields have no route of their own).
- ``captures_without_custom_fields`` (10.6; audit Q1, risk 2: 23 field key writes on every
  plan): form fields nested in steps carry no ``custom_fields`` anywhere but their step's
  own GET (``GET .../steps/{id}``): not in list rows, not under a template's ``with=steps``,
  not in the steps list.
- ``partial_custom_fields`` (10.6, DOC commit ``8a4ba1143``: "8 of the 10 entity
  transformers emit a ``custom_fields`` object"; a choice): in template list rows the
  template carries its values, but the steps, form fields and kick-off entries nested in
  the row carry ``custom_fields`` ``absent`` (the key left out) or ``null``; direct reads
  carry them. ``present`` (everything carries them) is the likeliest; strict picks ``null``.
- ``custom_field_write_forbidden`` (audit W2: DOC custom-fields.mdx names who may write
  values only for tasks, members, guests, folders and tags): ``PUT .../custom-fields`` on a
  template, step, form field or kick-off field answers 403 to a token that is not an admin.
- ``applies_to_ui_names`` (audit W1; DOC commit ``95a292e17``: "applies_to enum uses
  "process" not "run""): ``POST /custom-field-keys`` accepts only the UI's names for the
  four template-side records, ``template``, ``step``, ``form_field``, ``kickoff_field``
  (the page's own list of records: "a task, process, template, step, form field, kick-off
  field, folder, or tag", snake-cased as its one example ``process`` is), and 422s the API
  nouns ``checklist``, ``capture`` and ``prerun``. ``step`` is both a UI name and an API
  noun, so it is accepted either way. ``GET /custom-field-keys`` then shows the UI names.
- ``list_with_refused`` (3.1, audit R6: the 2025 Swagger enum of the list's ``with`` lacks
  ``tags``; a choice): ``GET /checklists`` with ``with`` naming ``tags`` answers ``422``
  (Laravel's "The selected with is invalid.") or ``400``; or ``500``, a server error on any
  ``with`` (100 heavy rows at once). ``accepted`` is the likeliest; strict picks ``422``.
- ``thin_listed_steps`` (audit Q1 risk 1; DOC get-template.mdx promises nested relations
  only for the single GET): steps nested in template list rows are thinner than a GET of
  the template gives: id, title, alias, type, summary, position, form fields and
  ``custom_fields`` only; no deadline, assignees or settings.
- ``empty_string`` (10.2, audit W4/W8: DOC create-template.mdx says ``webhook`` "must be a
  valid URL"; how to clear a value is undocumented; a choice): what a write's ``""`` does.
  ``clears`` (the likeliest, Laravel's ConvertEmptyStringsToNull on a ``nullable`` rule)
  stores null; ``refused`` answers 422 for each (``must be a valid URL`` for URL keys, as
  Laravel's rules without ``nullable`` do); ``ignored`` drops the key, so the old value
  stays. A rule condition's ``statement`` is documented as nullable (4.5): its ``""`` is
  always null. Strict picks ``refused``. Neither ``refused`` nor ``ignored`` leaves a way
  to clear a value, so tallyform refuses: a plan made with the org's probe answers
  (``tallyform probe``, which settles this question) names each value it would clear as a
  blocker, before any write; without them, apply stops at the write Tallyfy refuses
  (``ClearNotTaken``), with the same advice.
- ``rule_put_appends`` (audit W17; the SDK merges before its PUT): an automation PUT's
  conditions and actions that carry no ``id`` are appended to the rule's, those with a known
  ``id`` update it, and those left out stay; by default the PUT replaces both lists.
- ``prerun_dropped_on_create`` (audit W3: documented, but no Tallyfy client sends it):
  ``prerun`` on ``POST /checklists`` is dropped like an unknown key.
- ``nested_steps_built`` (9.3; the official Go CLI's blueprint import sends a whole template
  in one POST): ``POST /checklists`` builds a nested ``steps`` array, each step with its
  ``captures``, validated as ``POST .../steps`` and ``.../captures`` are (422 keys
  ``steps.N.title``...). By default nested steps are ignored (the reference's likeliest
  answer). Neither answer is the pessimistic one for every client: one that never sends
  nested steps (tallyform today) meets neither; one that sends them to save writes must
  create one by one what an org ignored (the default covers that), and must not build a
  step twice where an org builds them (this switch covers that). Built is the cheap
  reading, so ``strict()`` leaves it off (:data:`OUTSIDE_STRICT`).
- ``tags_without_tag_id`` (9.21, audit W22; DOC and the Swagger show ``{id, title, color}``;
  the SDK refuses a non-numeric association id for this reason): tag items under
  ``with=tags`` are the tags themselves, ``{id: <tag hex id>, title, color}``, with no
  ``tag_id`` and no association id; and ``DELETE /checklists/tags/{id}`` casts a
  non-numeric id as PHP does (its leading number, ``"12ab"`` is 12 and ``"1e3f"`` 1000;
  none is 0), so a tag's hex id may detach another template's tag. By default the items
  carry both the association's id and ``tag_id``, and a non-numeric id is 0 (a 404).
- ``deleted_tags_keep_title`` (audit W23 and risk 5b; tags carry ``deleted_at``): deleting a
  tag soft-deletes it (hidden from lists and reads, its links dropped), and its title stays
  taken: a create or rename to it answers 422 "The title has already been taken.".
- ``page_drift`` (audit P3, risk 3): rows move between pages while a list is read: each
  read of ``GET /checklists`` page 2 or later first moves one row from beyond page 1 to the
  top (as an edit in the UI would), chosen from a random stream seeded by the fault seed,
  so a row is seen twice and another missed, reproducibly.
- ``low_rate_limit`` (9.11; APISUP README: 100 a minute and 1,000 an hour per organization;
  DOC index.mdx names a burst throttle and hourly caps without numbers): on top of any
  ``--rate-limit`` per token, the whole org may make 10 requests a second, 100 a minute and
  1,000 an hour; a 429 names the limit that refused (``X-RateLimit-Limit``) and its
  ``Retry-After``, up to an hour for the hourly cap (longer than a client's retry cap).
  Every admitted answer carries ``X-RateLimit-Limit`` and ``X-RateLimit-Remaining`` of the
  minute's budget. A request refused by one window is counted in none. The limits use the
  emulator's clock (``Emulator(clock=...)``), which tests replace.
- ``oauth_account_host`` (9.19, audit Q4: client-credentials-flow.mdx and another page
  disagree): the token endpoint is on an account host only: ``POST /oauth/token`` at the
  API host answers 404, ``POST /account/oauth/token`` (the account host, one prefix away on
  the same emulator) issues the token. By default both answer.

Every open question of the reference, with the quirk that models its pessimistic answer and
the probe check that settles it on a live org, is listed in :mod:`.questions`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args, get_type_hints

STRICT = "strict"

EmptyString = Literal["clears", "refused", "ignored"]
ListWith = Literal["accepted", "400", "422", "500"]
NestedCustomFields = Literal["present", "absent", "null"]


@dataclass(frozen=True)
class Quirks:
    """One value per open question. A switch is False for the likeliest answer and True for
    the pessimistic one; a choice holds one of its ``Literal`` values, the first being the
    likeliest (:data:`QUIRK_CHOICES`)."""

    top_level_folders: bool = False
    nulls_refused: bool = False
    prerun_omitted_deleted: bool = False
    unpositioned_first: bool = False
    no_custom_fields_in_lists: bool = False
    bodiless_deletes: bool = False
    field_type_immutable: bool = False
    app_tokens_cannot_act: bool = False
    list_without_includes: bool = False
    custom_fields_null: bool = False
    prerun_without_custom_fields: bool = False
    captures_without_custom_fields: bool = False
    partial_custom_fields: NestedCustomFields = "present"
    custom_field_write_forbidden: bool = False
    applies_to_ui_names: bool = False
    list_with_refused: ListWith = "accepted"
    thin_listed_steps: bool = False
    empty_string: EmptyString = "clears"
    rule_put_appends: bool = False
    prerun_dropped_on_create: bool = False
    nested_steps_built: bool = False
    tags_without_tag_id: bool = False
    deleted_tags_keep_title: bool = False
    page_drift: bool = False
    low_rate_limit: bool = False
    oauth_account_host: bool = False

    def __post_init__(self) -> None:
        for name, choices in QUIRK_CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(
                    f"emulator quirk {name} is one of {', '.join(choices)}, "
                    f"not {getattr(self, name)!r}"
                )

    @classmethod
    def strict(cls) -> Quirks:
        """Every pessimistic answer tallyform is held to: each quirk of :data:`QUIRK_NAMES`,
        choices at their :data:`STRICT_CHOICES`."""
        values: dict[str, Any] = {name: _strict_value(name) for name in QUIRK_NAMES}
        return cls(**values)

    @classmethod
    def named(cls, names: Iterable[str]) -> Quirks:
        """The quirks with these names on: ``NAME`` turns a switch on or a choice to its
        strict value, ``NAME=CHOICE`` picks a choice, ``strict`` starts from :meth:`strict`
        (so ``["strict", *LEFT_OUT_OF_STRICT]`` is every pessimistic answer at once).
        An unknown name or choice is a ValueError."""
        wanted = list(names)
        values: dict[str, Any] = {}
        if STRICT in wanted:
            values = {name: _strict_value(name) for name in QUIRK_NAMES}
        unknown: list[str] = []
        for raw in wanted:
            name, _, choice = raw.partition("=")
            if name == STRICT:
                continue
            if name not in EVERY_QUIRK:
                unknown.append(name)
            else:
                values[name] = _value_of(name, choice if "=" in raw else None)
        if unknown:
            raise ValueError(f"unknown emulator quirks: {', '.join(sorted(unknown))}")
        return cls(**values)

    def on(self) -> tuple[str, ...]:
        """The quirks not at their likeliest answer, in declaration order: a switch by its
        name, a choice as ``NAME=CHOICE`` (so ``Quirks.named(q.on()) == q``)."""
        found = []
        for name in EVERY_QUIRK:
            value = getattr(self, name)
            if name in QUIRK_CHOICES:
                if value != QUIRK_CHOICES[name][0]:
                    found.append(f"{name}={value}")
            elif value:
                found.append(name)
        return tuple(found)


#: Every quirk, in declaration order.
EVERY_QUIRK: tuple[str, ...] = tuple(f.name for f in fields(Quirks))

#: The choice quirks and their values, the likeliest first (read from their ``Literal``).
QUIRK_CHOICES: dict[str, tuple[str, ...]] = {
    name: get_args(hint)
    for name, hint in get_type_hints(Quirks).items()
    if get_args(hint) and name in EVERY_QUIRK
}

#: The value a choice takes under ``strict()`` and when named without ``=CHOICE``: one
#: documented pessimistic answer each (the module's docstring says why).
STRICT_CHOICES: dict[str, str] = {
    "partial_custom_fields": "null",
    "list_with_refused": "422",
    "empty_string": "refused",
}

#: Quirks ``strict()`` leaves off (``tallyform emulator serve --strict`` too), each for its
#: reason; ``--quirk low_rate_limit`` (``Quirks.named(["strict", "low_rate_limit"])``) adds it:
#: - ``low_rate_limit`` holds every org to 10 requests a second, 100 a minute and 1,000 an
#:   hour. It is pacing, not a reading of an answer: no answer's shape changes, and what
#:   tallyform does about it (wait as ``Retry-After`` says, pace under ``requests_per_minute``)
#:   is the same whatever else is on, so under strict it would test nothing more than it does
#:   alone (``tests/test_open_questions_converge.py`` converges under it, on a fake clock).
#:   It would cost every strict run real minutes: its limits run on the emulator's clock,
#:   and a client of a served emulator (the CLI) waits in real seconds. And its hourly cap
#:   is below what a strict plan of the 1,000-template benchmark org costs (about 1,100
#:   requests, issue 18): the cap's ``Retry-After`` (up to an hour) is longer than a
#:   client's retry cap, so such a plan would stop at the cap, and strict could no longer
#:   show what a plan costs.
LEFT_OUT_OF_STRICT: tuple[str, ...] = ("low_rate_limit",)

#: Quirks that are another reading rather than a pessimistic one, so never in ``strict()``
#: (see ``nested_steps_built`` in the module's docstring).
OUTSIDE_STRICT: tuple[str, ...] = ("nested_steps_built",)

#: The quirks ``strict()`` turns on: every quirk neither pending nor outside strict.
QUIRK_NAMES: tuple[str, ...] = tuple(
    name for name in EVERY_QUIRK if name not in LEFT_OUT_OF_STRICT + OUTSIDE_STRICT
)


def _strict_value(name: str) -> bool | str:
    return STRICT_CHOICES[name] if name in QUIRK_CHOICES else True


def _value_of(name: str, choice: str | None) -> bool | str:
    """The value ``NAME`` or ``NAME=CHOICE`` gives quirk ``name``; ValueError if it cannot."""
    if choice is None:
        return _strict_value(name)
    choices = QUIRK_CHOICES.get(name)
    if choices is None:
        raise ValueError(f"emulator quirk {name} is a switch: name it without =")
    if choice not in choices:
        raise ValueError(f"emulator quirk {name} is one of {', '.join(choices)}, not {choice!r}")
    return choice


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
    "custom_fields_null": "an app's own token sees custom_fields null",
    "prerun_without_custom_fields": "kick-off entries in list rows carry no custom_fields",
    "captures_without_custom_fields": "form fields carry none but on their step's GET",
    "partial_custom_fields": "steps and fields in list rows: custom_fields absent or null",
    "custom_field_write_forbidden": "a non-admin's custom-field value PUT is a 403",
    "applies_to_ui_names": "custom-field keys take template, form_field...",
    "list_with_refused": "GET /checklists refuses with=tags (4xx) or any with",
    "thin_listed_steps": "listed steps lack deadline, assignees and settings",
    "empty_string": 'what "" does to a value in a write',
    "rule_put_appends": "a rule PUT appends conditions and actions without ids",
    "prerun_dropped_on_create": "POST /checklists drops prerun",
    "nested_steps_built": "POST /checklists builds nested steps and fields",
    "tags_without_tag_id": "with=tags items are tags; hex link ids cast as PHP",
    "deleted_tags_keep_title": "a deleted tag's title stays taken",
    "page_drift": "reading page 2.. of /checklists moves a row to the top",
    "low_rate_limit": "10/s, 100/min, 1,000/hour per org, beside --rate-limit",
    "oauth_account_host": "the token only at /account/oauth/token",
}


def describe(name: str) -> str:
    """A quirk's help for ``emulator serve --help``: a mark (``*`` left out of ``strict()``,
    ``-`` another reading, never in it), its name and one line, then its choices on a line
    of their own."""
    mark = "*" if name in LEFT_OUT_OF_STRICT else "-" if name in OUTSIDE_STRICT else " "
    text = f"{mark} {name:<30} {QUIRK_HELP[name]}"
    choices = QUIRK_CHOICES.get(name)
    if choices:
        named = [
            f"{c} (default)"
            if c == choices[0]
            else f"{c} (strict)"
            if c == STRICT_CHOICES[name]
            else c
            for c in choices
        ]
        text += f"\n  {'':<30}   ={', '.join(named)}"
    return text


# The one key whose null the reference documents as allowed: a rule condition's statement (4.5).
_NULLABLE_PATH = re.compile(r"conditions\.\d+\.statement")
_NULLABLE_KEY = "statement"
_URL_KEYS = frozenset({"webhook", "explanation_video", "webhook_url"})
_OBJECT_KEYS = frozenset({"deadline", "start_date", "assignees", "settings"})


def null_paths(value: Any, prefix: str = "", *, empty: bool = False) -> list[str]:
    """Every dotted path (Laravel's ``a.0.b``) in a JSON value that holds ``null`` (or,
    with ``empty``, the empty string)."""
    if (value == "") if empty else (value is None):
        return [prefix] if prefix else ["body"]
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return []
    found: list[str] = []
    for key, inner in items:
        found.extend(null_paths(inner, f"{prefix}.{key}" if prefix else str(key), empty=empty))
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


def empty_string_errors(body: Any) -> dict[str, list[str]]:
    """Under ``empty_string=refused``: Laravel's messages for every ``""`` in a write body
    (read as null, then checked by rules without ``nullable``); empty if none."""
    errors: dict[str, list[str]] = {}
    for path in null_paths(body, empty=True):
        if _documented_nullable(path):
            continue
        leaf = path.rsplit(".", 1)[-1]
        if leaf in _URL_KEYS:
            errors[path] = [f"The {path} must be a valid URL."]
        elif leaf in _OBJECT_KEYS:
            errors[path] = [f"The {path} must be an array."]
        elif leaf.endswith("_id"):
            errors[path] = [f"The selected {path} is invalid."]
        else:
            errors[path] = [f"The {path} must be a string."]
    return errors


def without_empty_strings(value: Any, key: str = "") -> Any:
    """Under ``empty_string=ignored``: ``value`` with every ``""`` left out, as if never
    sent (the old value stays), except a rule condition's nullable ``statement``."""
    if isinstance(value, dict):
        return {
            k: (None if v == "" else without_empty_strings(v, k))
            for k, v in value.items()
            if v != "" or k == _NULLABLE_KEY
        }
    if isinstance(value, list):
        return [without_empty_strings(v) for v in value if v != ""]
    return value
