"""A working stand-in for the Tallyfy REST API, built from the project's API reference.

Same paths under ``/api/organizations/{org}/...``, headers, ``data`` envelopes and
``meta.pagination``, status codes, validation errors and quirks (unknown keys dropped,
absent assignee and permission lists clear them, step ``position`` ignored on create,
archive then 404), rate limiting (429 with ``Retry-After``) and seeded fault injection.

Applications get a token at ``/oauth/token`` (client credentials; also at the account
host's ``/account/oauth/token``) that acts for the
application's user, and mint a member's token with it at
``POST /api/applications/{org}/users/{email}/token`` (3 months), as :mod:`.oauth` describes.

Processes launch from templates (``POST /runs``), and their tasks are answered,
completed, approved, rejected, reopened and archived (:mod:`.runs`); tallyform's own rule
engine decides what each shows, who is assigned and when each is due (:mod:`.processes`).

Use it in-process through :class:`EmulatorTransport` (the embedded default, fast tests)
or over HTTP through :class:`EmulatorServer` (``tallyform emulator serve``).

Where the reference lists an open question the likeliest answer is taken; each module
says which it took. Summary: nested ``steps`` on template create are ignored; kick-off
entries omitted from a PUT are kept; custom-field ``applies_to`` values are ``checklist``,
``step``, ``capture``, ``prerun``; a 422 carries ``error``, ``message`` and ``errors``;
captures inside steps are bare arrays while ``with=steps`` and ``with=tags`` are wrapped;
deletes answer 200 with a message; ``GET /folders`` lists every folder flat, and honours
``parent_id`` (direct children) and ``with=children`` (nested ``{"data": [...]}``); nulls
in write bodies are accepted; an unpositioned new form field goes last; list rows and
nested objects carry ``custom_fields``; ``field_type`` may change in place; an
application's own token acts for the application's user; the template list honours
``with`` as a GET of one template does, with steps as whole as that GET's; ``""`` in a
write clears a value; a member may write custom-field values; a rule PUT replaces its
conditions and actions; ``prerun`` on a template create is kept; a deleted tag is gone,
title and all; list pages hold still while read; only ``--rate-limit`` (per token)
limits; the token endpoint answers at the API host and at the account host.

Custom-field ``applies_to`` values (10.6): Tallyfy's custom-fields page says they are
listed only in its live API reference, and its one example, ``process``, names a run by
its API noun; so each template-side record is named by its API noun (``checklist``,
``step``, ``capture``, ``prerun``), and an org whose API says otherwise sets
``applies_to:`` in ``tallyform.yaml``. Tag items under ``with=tags`` (9.21): the SDK reads
an association ``id`` with ``tag_id``, the documentation's example shows the tag's ``id``,
``title`` and ``color``; the emulator sends both (association id, ``tag_id`` and the tag's
data), and tallyform matches by ``tag_id`` and else by title.

Each of those open questions (reference sections 9 and 10, and the fidelity audit) can
take its pessimistic answer instead, alone or all at once (``Emulator(quirks=Quirks.strict())``,
``tallyform emulator serve --strict`` or ``--quirk NAME``, ``--quirk NAME=CHOICE`` for a
quirk with several answers); :mod:`.quirks` says what each does and why, and
:mod:`.questions` lists every open question with the quirk that models it and the probe
check that settles it on a live org. ``strict()`` takes these:

- ``top_level_folders``: ``GET /folders`` lists top-level folders only (10.1);
- ``nulls_refused``: a ``null`` anywhere in a write body is a 422, except a rule
  condition's documented-nullable ``statement`` (10.2, 4.5);
- ``prerun_omitted_deleted``: a template PUT deletes the kick-off fields its ``prerun``
  leaves out, and is a 422 if a rule uses one (9.4, 10.3);
- ``unpositioned_first``: a form field created without ``position`` goes first (10.4);
- ``no_custom_fields_in_lists``: only a direct read carries ``custom_fields``: the
  template and its kick-off fields on its GET, a step and its form fields on its GET (10.6);
- ``bodiless_deletes``: deletes of form fields, kick-off fields, steps, rules and tag
  links answer 204 with no body (9.20, 10.8);
- ``field_type_immutable``: changing a form or kick-off field's ``field_type`` is a 422
  (9.8, 10.10).
- ``app_tokens_cannot_act``: an application's own token is refused (403) on ``/me`` and
  every org route; only the member tokens it mints act (2.4, 10.7).
- ``list_without_includes``: ``GET /checklists`` ignores ``with`` (3.1).

and these, the open questions issue 18 added: ``custom_fields_null`` (an application's
own token sees every ``custom_fields`` as ``null``; members see the values),
``prerun_without_custom_fields``, ``captures_without_custom_fields``,
``partial_custom_fields`` (``absent`` or ``null``), ``custom_field_write_forbidden``,
``applies_to_ui_names``, ``list_with_refused`` (``400``, ``422`` or ``500``),
``thin_listed_steps``, ``empty_string`` (``refused``, or ``ignored``),
``rule_put_appends``, ``prerun_dropped_on_create``, ``tags_without_tag_id``,
``deleted_tags_keep_title``, ``page_drift`` and ``oauth_account_host``. Where one leaves
no way forward (an application's own token that cannot see custom fields, a value that
cannot be cleared), tallyform refuses clearly before any write. ``strict()`` leaves out
``low_rate_limit`` (pacing, not a reading: ``LEFT_OUT_OF_STRICT`` says why), and
``nested_steps_built``, the cheap reading rather than a pessimistic one.

The request log (``Emulator.requests``, ``--request-log``) keeps each write's body,
parsed, with secrets masked (:mod:`.masking`). ``Emulator(keep_requests=N)`` bounds the
in-memory one to about the latest N (the CLI's embedded and served emulators keep none).

The state file (``Emulator(state_file=...)``, ``--state``) is a JSON snapshot and a
journal of the writes since, so a write costs what it changed whatever the size of the
org, and a crash never tears it (:class:`.state.StateFile`).

How tallyform copes with either answer (its property, fault and end-to-end tests run
against both): it reads folders with ``with=children`` and walks the tree, flat or
nested (:func:`tallyform.tallyfy.read.read_folders`); it never sends ``null``, leaving
absent values out and clearing set ones with ``""``, which Laravel (and this emulator,
:meth:`.call.Call.body`) reads as null (:mod:`tallyform.tallyfy.payloads`); every
template PUT carries the whole current kick-off array, and removed entries are deleted
after the rules naming them; new form fields are sent with their ``position``; steps and
form fields whose keys a template read leaves out are read step by step; a template
whose list row is not whole is read on its own (:func:`tallyform.tallyfy.read.read_all_whole`); a new type refused in place replaces the
field (:meth:`tallyform.tallyfy.writes.TemplateRun.replace_field`); deletes accept 200
or 204; a move of a form field is looked for before it is sent again; an application
that must act as a member sets ``act_as`` and sends the member token it mints
(:class:`tallyform.client.auth.ActAsUser`), never its own.
"""

from tallyform.emulator.app import Emulator
from tallyform.emulator.faults import FAULT_KINDS, FaultSettings
from tallyform.emulator.quirks import (
    EVERY_QUIRK,
    LEFT_OUT_OF_STRICT,
    QUIRK_CHOICES,
    QUIRK_HELP,
    QUIRK_NAMES,
    Quirks,
)
from tallyform.emulator.server import EmulatorServer
from tallyform.emulator.store import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_MEMBER_TOKEN,
    DEFAULT_ORG_ID,
    DEFAULT_TOKEN,
    SEED_GROUPS,
    SEED_USERS,
)
from tallyform.emulator.transport import IN_PROCESS_URL, EmulatorTransport

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_MEMBER_TOKEN",
    "DEFAULT_ORG_ID",
    "DEFAULT_TOKEN",
    "EVERY_QUIRK",
    "FAULT_KINDS",
    "IN_PROCESS_URL",
    "LEFT_OUT_OF_STRICT",
    "QUIRK_CHOICES",
    "QUIRK_HELP",
    "QUIRK_NAMES",
    "SEED_GROUPS",
    "SEED_USERS",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "FaultSettings",
    "Quirks",
]
