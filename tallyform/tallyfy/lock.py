"""The org's apply lock: one apply at a time per org, held through a tag.

Tallyfy offers no conditional writes, ETags or idempotency keys. An apply creates a lock
tag before its first change and deletes it after its last, then lists the lock tags: the
oldest (by creation time, then id, as every apply sees them) holds the lock, and any
other withdraws its own tag and waits, or stops with a message saying since when the
org is locked.

Each apply's tag has a title of its own, ``tallyform-apply-lock-RRGGBB``, and the colour
``#RRGGBB``: its mark. Tallyfy's tags are soft-deleted, and a deleted tag's title may stay
taken (reference 4.6: tags carry ``deleted_at``; the emulator's quirk
``deleted_tags_keep_title``), so one shared title would lock the org for good after the
first release. A create whose answer was lost is looked for by its mark, never mistaken
for another apply's lock. A tag titled ``tallyform-apply-lock`` alone, as earlier versions
made it, still counts as a lock. An apply killed outright leaves its tag behind;
:func:`break_lock` removes it (the CLI does so by itself when the apply that took it ran
on this machine and is gone: it notes the mark first).
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tallyform.client import NotFound, TallyfyClient, ValidationFailed
from tallyform.errors import TallyformError

LOCK_TITLE = "tallyform-apply-lock"
POLL_SECONDS = 2.0


class OrgLocked(TallyformError):
    """Another apply holds the org's lock (or the org refuses the lock tag)."""

    def __init__(
        self,
        tag_id: str | None,
        since: str | None,
        refusal: str | None = None,
        title: str = LOCK_TITLE,
    ) -> None:
        self.tag_id = tag_id
        self.since = since
        when = f" since {since}" if since else ""
        if refusal is not None:
            message = (
                f"Tallyfy refused the apply lock tag '{title}' ({refusal}) and no other "
                "apply holds it; nothing was changed. Check the org's tags, or run apply again."
            )
        else:
            message = (
                f"another tallyform apply is running on this org (it holds the tag "
                f"'{title}'{when}); nothing was changed. Wait for it to finish and run "
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


def lock_title(mark: str) -> str:
    """The title of the lock tag that carries ``mark`` (27 characters: tags take 30)."""
    return f"{LOCK_TITLE}-{mark.lstrip('#').lower()}"


def is_lock_title(title: Any) -> bool:
    """Whether a tag title is an apply lock's (this version's, or an earlier one's)."""
    text = str(title or "")
    return text == LOCK_TITLE or (
        text.startswith(f"{LOCK_TITLE}-") and len(text) == len(LOCK_TITLE) + 7
    )


def lock_tags(client: TallyfyClient) -> list[dict[str, Any]]:
    """The live lock tags in the org, oldest first."""
    rows = client.list_all("/tags", {"q": LOCK_TITLE})
    mine = [t for t in rows if is_lock_title(t.get("title")) and not t.get("deleted_at")]
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
                raise OrgLocked(
                    str(holder.get("id")),
                    holder.get("created_at"),
                    title=str(holder.get("title") or LOCK_TITLE),
                )
            raise OrgLocked(None, None, holder, title=lock_title(mark))
        sleep(min(POLL_SECONDS, max(deadline - clock(), 0.0)))


def _try_take(client: TallyfyClient, mark: str) -> ApplyLock | dict[str, Any] | str:
    """Our lock; or the tag of the apply that holds it; or why Tallyfy refused the tag."""
    try:
        tag = client.create(
            "/tags", {"title": lock_title(mark), "color": mark}, lambda: marked(client, mark)
        )
    except ValidationFailed as refused:
        tags = lock_tags(client)
        return tags[0] if tags else str(refused)
    tags = lock_tags(client)
    if tags and str(tags[0].get("id")) != str(tag["id"]):
        break_lock(client, str(tag["id"]))  # another apply's is older: it holds the lock
        return tags[0]
    return ApplyLock(client, str(tag["id"]))
