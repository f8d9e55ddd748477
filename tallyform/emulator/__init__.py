"""A working stand-in for the Tallyfy REST API, built from the project's API reference.

Same paths under ``/api/organizations/{org}/...``, headers, ``data`` envelopes and
``meta.pagination``, status codes, validation errors and quirks (unknown keys dropped,
absent assignee and permission lists clear them, step ``position`` ignored on create,
archive then 404), rate limiting (429 with ``Retry-After``) and seeded fault injection.

Use it in-process through :class:`EmulatorTransport` (the embedded default, fast tests)
or over HTTP through :class:`EmulatorServer` (``tallyform emulator serve``).

Where the reference lists an open question the likeliest answer is taken; each module
says which it took. Summary: nested ``steps`` on template create are ignored; kick-off
entries omitted from a PUT are kept; custom-field ``applies_to`` values are ``checklist``,
``step``, ``capture``, ``prerun``; a 422 carries ``error``, ``message`` and ``errors``;
captures inside steps are bare arrays while ``with=steps`` and ``with=tags`` are wrapped;
deletes answer 200 with a message.
"""

from tallyform.emulator.app import Emulator
from tallyform.emulator.faults import FAULT_KINDS, FaultSettings
from tallyform.emulator.server import EmulatorServer
from tallyform.emulator.state import (
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
    "FAULT_KINDS",
    "IN_PROCESS_URL",
    "SEED_GROUPS",
    "SEED_USERS",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "FaultSettings",
]
