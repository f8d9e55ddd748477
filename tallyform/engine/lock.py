"""The org's apply lock: one apply at a time per org, held through a tag.

Tallyfy offers no conditional writes, ETags or idempotency keys, but its documentation
says a tag's title "must be unique within the org" (tags/create-tag). So an apply
creates the tag ``tallyform-apply-lock`` before its first change and deletes it after its
last; a second apply's create is refused (422) and it waits, or stops with a message
saying since when the org is locked. Uniqueness is a validation rule, not known to be a
database index, so after creating its tag an apply lists the lock tags once more: if
two exist, the older one wins and the newer withdraws.

An apply killed outright leaves its tag behind; :func:`break_lock` removes it (the CLI
does so by itself when the apply that took it ran on this machine and is gone).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tallyform.client import NotFound, TallyfyClient, ValidationFailed

LOCK_TITLE = "tallyform-apply-lock"
POLL_SECONDS = 2.0


class OrgLocked(Exception):
    """Another apply holds the org's lock."""

    def __init__(self, tag_id: str, since: str | None) -> None:
        self.tag_id = tag_id
        self.since = since
        when = f" since {since}" if since else ""
        super().__init__(
            f"another tallyform apply is running on this org (it holds the tag "
            f"'{LOCK_TITLE}'{when}); nothing was changed. Wait for it to finish and run apply "
            f"again, or pass --lock-timeout SECONDS to wait. If no apply is running (one was "
            f"killed), run `tallyform apply --break-lock`."
        )


@dataclass
class ApplyLock:
    client: TallyfyClient
    tag_id: str

    def release(self) -> None:
        break_lock(self.client, self.tag_id)


def lock_tags(client: TallyfyClient) -> list[dict[str, Any]]:
    """The lock tags in the org, oldest first."""
    rows = client.list_all("/tags", {"q": LOCK_TITLE})
    mine = [t for t in rows if t.get("title") == LOCK_TITLE]
    return sorted(mine, key=lambda t: (str(t.get("created_at") or ""), str(t.get("id"))))


def break_lock(client: TallyfyClient, tag_id: str) -> None:
    with contextlib.suppress(NotFound):  # already released
        client.delete(f"/tags/{tag_id}")


def acquire(
    client: TallyfyClient,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyLock:
    """Take the org's lock, waiting up to ``wait`` seconds for another apply to release it."""
    deadline = clock() + wait
    while True:
        holder = _try_take(client)
        if isinstance(holder, ApplyLock):
            return holder
        if holder is not None and clock() >= deadline:
            raise OrgLocked(str(holder.get("id")), holder.get("created_at"))
        if holder is not None:
            sleep(min(POLL_SECONDS, max(deadline - clock(), 0.0)))


def _try_take(client: TallyfyClient) -> ApplyLock | dict[str, Any] | None:
    """Our lock, or the tag of the apply that holds it, or None to try again at once."""

    def lookup() -> Any:  # an answer lost: the tag is ours if it is there now
        tags = lock_tags(client)
        return tags[-1] if tags else None

    try:
        tag = client.create("/tags", {"title": LOCK_TITLE}, lookup)
    except ValidationFailed:
        tags = lock_tags(client)
        return tags[0] if tags else None  # None: released in between
    tags = lock_tags(client)
    if tags and str(tags[0].get("id")) != str(tag["id"]):
        break_lock(client, str(tag["id"]))  # two at once: the older lock wins
        return tags[0]
    return ApplyLock(client, str(tag["id"]))
