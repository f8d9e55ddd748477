"""Tallyfy's timestamps, read and written in one place (every stage may use it).

The API writes ISO 8601 in UTC with milliseconds and a ``Z`` (``2026-05-28T17:00:00.000Z``);
older answers and other sources put a space for the ``T`` or an offset for the ``Z``.
Python 3.10's ``fromisoformat`` reads neither ``Z`` nor every such form, so all of them
are brought to one shape first.
"""

from __future__ import annotations

from datetime import datetime, timezone


def parse_time(value: object) -> datetime | None:
    """A timestamp as Tallyfy writes it, in UTC when it names no zone; None if it is none
    or cannot be read."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def time_text(moment: datetime) -> str:
    """A time as the API writes it: ISO 8601, milliseconds, Zulu."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
