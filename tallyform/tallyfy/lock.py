"""The org's apply lock: one apply at a time per org, held through a tag.

Tallyfy offers no conditional writes, ETags or idempotency keys, but its documentation
says a tag's title "must be unique within the org" (tags/create-tag). So an apply
creates the tag ``tallyform-apply-lock`` before its first change and deletes it after its
last; a second apply's create is refused (422) and it waits, or stops with a message
saying since when the org is locked. Uniqueness is a validation rule, not known to be a
database index, so after creating its tag an apply lists the lock tags once more: if
two exist, the older one wins and the newer withdraws.

Each apply marks its tag with a random colour of its own, so a create whose answer was
lost is looked for by that mark, never mistaken for another apply's lock. An apply killed
outright leaves its tag behind; :func:`break_lock` removes it (the CLI does so by itself
when the apply that took it ran on this machine and is gone: it notes the mark first).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tallyform.client import NotFound, TallyfyClient, ValidationFailed

LOCK_TITLE = "tallyform-apply-lock"
POLL_SECONDS = 2.0


class OrgLocked(Exception):
    """Another apply holds the org's lock (or the org refuses the lock tag)."""

    def __init__(self, tag_id: str | None, since: str | None, refusal: str | None = None) -> None:
        self.tag_id = tag_id
        self.since = since
        when = f" since {since}" if since else ""
        if refusal is not None:
            message = (
                f"Tallyfy refused the apply lock tag '{LOCK_TITLE}' ({refusal}) and no other "
                "apply holds it; nothing was changed. Check the org's tags, or run apply again."
            )
        else:
            message = (
                f"another tallyform apply is running on this org (it holds the tag "
                f"'{LOCK_TITLE}'{when}); nothing was changed. Wait for it to finish and run "
                "apply again, or pass --lock-timeout SECONDS to wait. If no apply is running "
                "(one was killed), run `tallyform apply --break-lock`."
            )
        super().__init__(message)


@dataclass
class ApplyLock:
    client: TallyfyClient
    tag_id: str

    def release(self) -> None:
        break_lock(self.client, self.tag_id)


def new_mark() -> str:
    """What tells one apply's lock tag from another's: a random colour of its own."""
    return f"#{secrets.randbelow(0x1000000):06x}"


def lock_tags(client: TallyfyClient) -> list[dict[str, Any]]:
    """The lock tags in the org, oldest first."""
    rows = client.list_all("/tags", {"q": LOCK_TITLE})
    mine = [t for t in rows if t.get("title") == LOCK_TITLE]
    return sorted(mine, key=lambda t: (str(t.get("created_at") or ""), str(t.get("id"))))


def marked(client: TallyfyClient, mark: str) -> dict[str, Any] | None:
    """The lock tag that carries ``mark``, if it exists."""
    return next((t for t in lock_tags(client) if str(t.get("color")).lower() == mark), None)


def break_lock(client: TallyfyClient, tag_id: str) -> None:
    with contextlib.suppress(NotFound):  # already released
        client.delete(f"/tags/{tag_id}")


def acquire(
    client: TallyfyClient,
    mark: str,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> ApplyLock:
    """Take the org's lock with a tag carrying ``mark``, waiting up to ``wait`` seconds for
    another apply to release it."""
    deadline = clock() + wait
    while True:
        holder = _try_take(client, mark)
        if isinstance(holder, ApplyLock):
            return holder
        if clock() >= deadline:
            if isinstance(holder, dict):
                raise OrgLocked(str(holder.get("id")), holder.get("created_at"))
            raise OrgLocked(None, None, holder)
        sleep(min(POLL_SECONDS, max(deadline - clock(), 0.0)))


def _try_take(client: TallyfyClient, mark: str) -> ApplyLock | dict[str, Any] | str:
    """Our lock; or the tag of the apply that holds it; or why Tallyfy refused the tag."""
    try:
        tag = client.create(
            "/tags", {"title": LOCK_TITLE, "color": mark}, lambda: marked(client, mark)
        )
    except ValidationFailed as refused:
        tags = lock_tags(client)
        return tags[0] if tags else str(refused)
    tags = lock_tags(client)
    if tags and str(tags[0].get("id")) != str(tag["id"]):
        break_lock(client, str(tag["id"]))  # two at once: the older lock wins
        return tags[0]
    return ApplyLock(client, str(tag["id"]))
