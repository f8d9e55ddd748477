"""The org's apply lock: one apply at a time per org, held through a tag, as a lease.

Tallyfy offers no conditional writes, ETags or idempotency keys. An apply creates a lock
tag before its first change and deletes it after its last, then lists the lock tags: the
oldest live one (by creation time, then id, as every apply sees them) holds the lock, and
any other withdraws its own tag and waits, or stops with a message saying since when the
org is locked.

Each apply's tag has a title of its own, ``tallyform-apply-lock-RRGGBB`` (27 characters;
Tallyfy takes 30), where ``RRGGBB`` is a random mark. Tallyfy's tags are soft-deleted,
and a deleted tag's title may stay taken (reference 4.6: tags carry ``deleted_at``; the
emulator's quirk ``deleted_tags_keep_title``), so one shared title would lock the org for
good after the first release. A create whose answer was lost is looked for by its title,
never mistaken for another apply's lock.

**The lease.** Tags have only ``title`` (at most 30 characters) and ``color`` (``#RRGGBB``)
to write into, and no ``updated_at``. The colour carries the lease's end: the minute (of
the server's clock, counted from the Unix epoch, modulo 2**24: it wraps every 31.9
years, and is compared across the wrap) after which the lock is gone unless renewed. An
apply sets it to :data:`LEASE_MINUTES` ahead when it takes the lock, and renews it by
``PUT /tags/{id}`` every :data:`RENEW_SECONDS` while it runs (:class:`Renewer`). The
server's clock is read from the ``created_at`` Tallyfy writes on the apply's own tag, so
clocks of machines that disagree do not matter. A lock tag whose lease has ended is gone:
the next apply removes it and takes over. So is, at once, a tag whose apply ran on this
machine and is no longer running (the CLI notes each apply's mark in a file of its own
before it makes the tag). Several applies that start at once each remove what is gone and
then agree on the oldest live tag, so exactly one goes on.

**Ties.** ``created_at`` has a resolution (Tallyfy's examples show whole seconds,
``10:00:00.000Z``; the emulator writes milliseconds), and two tags made within one tick
are ordered by their random ids. An apply that listed the tags before another tag of its
own tick was made would take the lock, and so would the other apply, whose id sorts first.
So an apply lists the lock tags only once the server's clock has passed its own tag's tick
(:func:`settle_seconds`): every tag that could sort before its own is in that list. A
stamp whose fraction is all zeros counts as whole seconds (the wait is then up to about
two seconds, once per apply); a tag without a readable ``created_at`` holds the lock only
if no other lock tag is live at all.

A tag titled ``tallyform-apply-lock`` alone, or one whose colour is its title's mark, was
made by an earlier version: it still counts as a lock, with no lease (only its machine,
or :func:`break_lock`, removes it). A template's own tag may not begin with
``tallyform-apply-lock``: ``validate`` refuses it.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tallyform.client import NotFound, TallyfyClient, TallyfyError, ValidationFailed
from tallyform.errors import TallyformError
from tallyform.stamps import parse_time
from tallyform.tallyfy.records import Tag

log = logging.getLogger("tallyform.lock")

LOCK_TITLE = "tallyform-apply-lock"
POLL_SECONDS = 2.0
LEASE_MINUTES = 5  # a lock not renewed for this long is gone
RENEW_SECONDS = 60.0  # how often a running apply renews its lease
RELEASE_SECONDS = 120.0  # how long an apply keeps trying to release its lock
WRAP = 1 << 24  # lease minutes are kept modulo this (the colour's 24 bits)

Gone = Callable[[Tag], str | None]  # why a lock tag is left over (None: it is not)


class OrgLocked(TallyformError):
    """Another apply holds the org's lock (or the org refuses the lock tag)."""

    def __init__(
        self,
        tag_id: str | None,
        since: str | None,
        refusal: str | None = None,
        title: str = LOCK_TITLE,
        until: str | None = None,
    ) -> None:
        self.tag_id = tag_id
        self.since = since
        self.removed: list[tuple[Tag, str]] = []  # left-over locks removed meanwhile
        when = f" since {since}" if since else ""
        if refusal is not None:
            message = (
                f"Tallyfy refused the apply lock tag '{title}' ({refusal}) and no other "
                "apply holds it; nothing was changed. Check the org's tags, or run apply again."
            )
        else:
            lease = f"; unless that apply renews it, its lease ends at {until}" if until else ""
            message = (
                f"another tallyform apply is running on this org (it holds the tag "
                f"'{title}'{when}{lease}); nothing was changed. Wait for it to finish and run "
                "apply again, or pass --lock-timeout SECONDS to wait. If no apply is running "
                "(one was killed), run `tallyform apply --break-lock`."
            )
        super().__init__(message)


class LockNotReleased(TallyformError):
    """The apply's lock tag could still not be deleted when its time for that ran out."""

    def __init__(self, lock: ApplyLock, error: TallyfyError, seconds: float) -> None:
        self.lock = lock
        super().__init__(
            f"could not release the org's apply lock (the tag '{lock.title}', id {lock.tag_id}) "
            f"in {seconds:.0f} s: {error}. Its lease ends within {LEASE_MINUTES} minutes; then "
            "the next apply takes over (on this machine: at once). If no apply is running, "
            "`tallyform apply --break-lock` removes it now."
        )


@dataclass
class ApplyLock:
    """The lock this apply holds, and the left-over locks it removed to take it."""

    client: TallyfyClient
    tag_id: str
    mark: str = ""
    offset: float = 0.0  # the server's clock minus this machine's, in seconds
    removed: list[tuple[Tag, str]] = field(default_factory=list)

    @property
    def title(self) -> str:
        return lock_title(self.mark) if self.mark else LOCK_TITLE

    def renew(self, wall: Callable[[], float] = time.time) -> None:
        """Move the lease's end :data:`LEASE_MINUTES` ahead (a 404: the lock was broken)."""
        color = lease_color(wall() + self.offset)
        self.client.put(f"/tags/{self.tag_id}", {"title": self.title, "color": color})

    def release(
        self,
        budget: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Delete the lock tag, trying again until ``budget`` seconds (by default
        :data:`RELEASE_SECONDS`) have passed.

        Raises :class:`LockNotReleased` when it is still there then.
        """
        budget = RELEASE_SECONDS if budget is None else budget
        deadline = clock() + budget
        pause = 1.0
        while True:
            try:
                break_lock(self.client, self.tag_id)
                return
            except TallyfyError as error:
                left = deadline - clock()
                if left <= 0:
                    raise LockNotReleased(self, error, budget) from None
                log.info("the lock tag's delete failed (%s); trying again", error)
                sleep(min(pause, left))
                pause = min(pause * 2, 15.0)


def new_mark() -> str:
    """What tells one apply's lock tag from another's: six random hex digits."""
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


def title_mark(tag: Tag) -> str | None:
    """The ``#rrggbb`` mark in a lock tag's title (None: the bare title of old versions)."""
    title = tag.title
    return f"#{title[len(LOCK_TITLE) + 1 :].lower()}" if title != LOCK_TITLE else None


def is_marked(tag: Tag, mark: str) -> bool:
    """Whether ``tag`` is the lock tag of the apply with ``mark`` (by its title; a bare
    title of old versions, by its colour)."""
    mark = mark.lower()
    found = title_mark(tag)
    return found == mark if found else (tag.color or "").lower() == mark


# -- the lease ----------------------------------------------------------------------------------


def lease_color(now: float, minutes: int = LEASE_MINUTES) -> str:
    """The colour that says: the lease ends ``minutes`` after ``now`` (server's Unix time)."""
    return f"#{(int(now // 60) + minutes) % WRAP:06x}"


def lease_end(tag: Tag) -> int | None:
    """The minute (modulo :data:`WRAP`) a lock tag's lease ends; None: it has no lease."""
    color = (tag.color or "").lower()
    mark = title_mark(tag)
    if mark is None or color == mark or len(color) != 7 or not color.startswith("#"):
        return None  # an earlier version's tag: its colour is its mark
    try:
        return int(color[1:], 16)
    except ValueError:
        return None


def expired(tag: Tag, now: float) -> bool:
    """Whether ``tag``'s lease ended before ``now`` (server's Unix time)."""
    end = lease_end(tag)
    if end is None:
        return False
    behind = (int(now // 60) - end) % WRAP  # minutes since the end, across the wrap
    return 0 < behind < WRAP // 2


def lease_ends_at(tag: Tag, now: float) -> str | None:
    """When ``tag``'s lease ends, in UTC, for messages (None: it has no lease)."""
    end = lease_end(tag)
    if end is None:
        return None
    ahead = (end - int(now // 60)) % WRAP
    if ahead >= WRAP // 2:
        ahead -= WRAP
    moment = (int(now // 60) + ahead + 1) * 60
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _created(tag: Tag) -> float | None:
    """The Unix time Tallyfy wrote into a tag it made (None if unreadable)."""
    moment = parse_time(tag.created_at)
    return None if moment is None else moment.timestamp()


def stamp_resolution(stamp: str) -> float:
    """The tick of a ``created_at`` such as ``2025-10-27T10:00:00.000Z``, in seconds: the
    place of its last fractional digit, or a whole second when the fraction is absent or
    all zeros (the stamp may then be whole seconds written with milliseconds)."""
    found = re.search(r"\d{2}:\d{2}:\d{2}\.(\d+)", stamp)
    if found is None or not found.group(1).strip("0"):
        return 1.0
    return float(10 ** -len(found.group(1)))


def settle_seconds(created: float, stamp: str, offset: float, wall: Callable[[], float]) -> float:
    """How long to wait before the list that decides who holds the lock: until the server's
    clock (this machine's plus ``offset``, which must not run ahead of it) is one and a
    half ticks of ``stamp`` past ``created`` (the tag's ``created_at``, read), so no tag of
    its tick can still be made."""
    return max(0.0, created + 1.5 * stamp_resolution(stamp) - (wall() + offset))


class Renewer:
    """Renews a lock's lease every :data:`RENEW_SECONDS` in a thread of its own.

    If the lock tag is found deleted (another apply broke the lock), or the lease could
    not be renewed before it ended, ``lost`` is called once: the apply should start no
    new change.
    """

    def __init__(
        self,
        lock: ApplyLock,
        lost: Callable[[str], None],
        every: float = RENEW_SECONDS,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.lock = lock
        self.lost = lost
        self.every = every
        self.wall = wall
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lock-lease", daemon=True)
        self._renewed = wall()

    def __enter__(self) -> Renewer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.lock.renew(self.wall)
                self._renewed = self.wall()
            except NotFound:
                if not self._stop.is_set():  # not our own release, come first
                    self.lost(f"the apply lock tag '{self.lock.title}' was deleted by someone else")
                return
            except TallyfyError as error:
                log.warning("could not renew the apply lock's lease: %s", error)
                if self._stop.is_set():
                    return
                if self.wall() - self._renewed > LEASE_MINUTES * 60 - self.every:
                    self.lost(f"the apply lock's lease could not be renewed ({error})")
                    return


# -- taking and breaking ------------------------------------------------------------------------


def lock_tags(client: TallyfyClient) -> list[Tag]:
    """The live lock tags in the org, oldest first."""
    return [Tag.from_wire(row) for row in _lock_rows(client)]


def _lock_rows(client: TallyfyClient) -> list[dict[str, Any]]:
    """The live lock tags as Tallyfy sent them, oldest first."""
    rows = client.list_all("/tags", {"q": LOCK_TITLE})
    mine = [t for t in rows if is_lock_title(t.get("title")) and not t.get("deleted_at")]
    return sorted(mine, key=lambda t: (str(t.get("created_at") or ""), str(t.get("id"))))


def marked(client: TallyfyClient, mark: str) -> Tag | None:
    """The lock tag that carries ``mark``, if it exists."""
    return next((t for t in lock_tags(client) if is_marked(t, mark)), None)


def _marked_row(client: TallyfyClient, mark: str) -> dict[str, Any] | None:
    """The lock tag that carries ``mark`` as Tallyfy sent it (a lost create's look-up)."""
    return next((t for t in _lock_rows(client) if is_marked(Tag.from_wire(t), mark)), None)


def break_lock(client: TallyfyClient, tag_id: str) -> None:
    with contextlib.suppress(NotFound):  # already released
        client.delete(f"/tags/{tag_id}")


def acquire(
    client: TallyfyClient,
    mark: str,
    wait: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    gone: Gone | None = None,
    wall: Callable[[], float] = time.time,
    note: Callable[[str], None] = lambda mark: None,
) -> ApplyLock:
    """Take the org's lock with a tag carrying ``mark``, waiting up to ``wait`` seconds for
    another apply to release it.

    A lock tag whose lease has ended, or that ``gone`` says is left over (with the reason),
    is removed on the way; the lock returned lists what was removed. Each try after the
    first makes its tag with a new mark (a withdrawn tag's title may stay taken), which
    ``note`` is told before the tag is made.
    """
    deadline = clock() + wait
    removed: list[tuple[Tag, str]] = []
    first = True
    while True:
        if not first:
            mark = new_mark()
            note(mark)
        first = False
        holder = _try_take(client, mark, gone or (lambda tag: None), wall, sleep, removed)
        if isinstance(holder, ApplyLock):
            holder.removed = removed
            return holder
        if clock() >= deadline:
            if isinstance(holder, tuple):
                tag, now = holder
                locked = OrgLocked(
                    tag.id,
                    tag.created_at,
                    title=tag.title or LOCK_TITLE,
                    until=lease_ends_at(tag, now),
                )
            else:
                locked = OrgLocked(None, None, holder, title=lock_title(mark))
            locked.removed = removed
            raise locked
        sleep(min(POLL_SECONDS, max(deadline - clock(), 0.0)))


def _try_take(
    client: TallyfyClient,
    mark: str,
    gone: Gone,
    wall: Callable[[], float],
    sleep: Callable[[float], None],
    removed: list[tuple[Tag, str]],
) -> ApplyLock | tuple[Tag, float] | str:
    """Our lock; or the tag of the apply that holds it (and the server's time); or why
    Tallyfy refused the tag."""
    local = wall()
    title = lock_title(mark)
    try:
        tag = Tag.from_wire(
            client.create(
                "/tags",
                {"title": title, "color": lease_color(local)},
                lambda: _marked_row(client, mark),
            )
        )
    except ValidationFailed as refused:
        tags = _live(client, None, local, gone, removed)
        return (tags[0], local) if tags else str(refused)
    created = _created(tag)
    now = local if created is None else created  # the server's clock, where it says
    behind = now - wall()  # measured after the answer: never ahead of the server's clock
    if abs(now - local) > 60:  # the clocks disagree: the lease follows the server's
        with contextlib.suppress(TallyfyError):
            client.put(f"/tags/{tag.id}", {"title": title, "color": lease_color(now)})
    if created is not None:
        wait = settle_seconds(created, str(tag.created_at), behind, wall)
        if wait > 0:  # another tag of our tick may still be made: list once none can
            sleep(wait)
    own = tag.id
    tags = _live(client, own, now, gone, removed)
    older = _first_other(tags, own) if created is not None else _any_other(tags, own)
    if older is not None:
        break_lock(client, own)  # another apply's is older: it holds the lock
        return older, now
    return ApplyLock(client, own, mark, now - local)


def _first_other(tags: list[Tag], own: str) -> Tag | None:
    """The oldest live tag when it is not ``own`` (the apply that holds the lock)."""
    return tags[0] if tags and tags[0].id != own else None


def _any_other(tags: list[Tag], own: str) -> Tag | None:
    """Any live tag but ``own``: without a readable ``created_at`` no order can be trusted."""
    return next((t for t in tags if t.id != own), None)


def _ended(tag: Tag, now: float) -> str:
    return f"its lease ended at {lease_ends_at(tag, now)} and was not renewed"


def _live(
    client: TallyfyClient,
    own: str | None,
    now: float,
    gone: Gone,
    removed: list[tuple[Tag, str]],
) -> list[Tag]:
    """The org's live lock tags, oldest first, after removing those left over."""
    live = []
    for tag in lock_tags(client):
        why = None
        if tag.id != own:
            why = _ended(tag, now) if expired(tag, now) else gone(tag)
        if why is None:
            live.append(tag)
            continue
        with contextlib.suppress(TallyfyError):  # another apply may be removing it too
            break_lock(client, tag.id)
            removed.append((tag, why))
            log.info("removed the left-over apply lock %s (%s)", tag.title, why)
    return live
