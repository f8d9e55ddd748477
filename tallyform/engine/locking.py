"""Holding the org's apply lock for a block: the records that let the next apply on this
machine tell a dead apply's lock tag from a live one's, and what is said on the way.

The lock itself, a tag with a lease, is :mod:`tallyform.tallyfy.lock`. Here: the mark of
each lock tag an apply takes is noted in a file of its own (``.tallyform/locks/ORG/PID.lock``)
before the tag is made, and the note is removed only once the tag is known to be gone, so
an apply killed at any moment, or one that could not release its lock, leaves a record the
next apply here matches it by (its process is gone: its tag is removed at once).

Nothing here prints: what the user should read goes to :class:`LockHooks`, given by the
command line.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tallyform.client import TallyfyClient, TallyfyError
from tallyform.config import OrgSettings
from tallyform.tallyfy.lock import (
    LEASE_MINUTES,
    ApplyLock,
    LockNotReleased,
    OrgLocked,
    Renewer,
    acquire,
    break_lock,
    is_marked,
    lock_tags,
    lock_title,
    marked,
    new_mark,
)
from tallyform.tallyfy.records import Tag


def _nothing(text: str | None) -> None:
    """A hook that ignores what it is told."""


@dataclass(frozen=True)
class LockHooks:
    """What :func:`org_lock` tells its caller: ``say``, a line for the user (a left-over
    lock removed); ``error``, an error met while the block already ends with another;
    ``last_words``, what must be said if the process ends at once now (None: nothing);
    ``lost``, why the lease was lost while the block ran (stop writing)."""

    say: Callable[[str], None] = _nothing
    error: Callable[[str], None] = _nothing
    last_words: Callable[[str | None], None] = _nothing
    lost: Callable[[str], None] = _nothing


class LockLeft(KeyboardInterrupt):
    """Interrupted while the org's lock was taken or let go: its tag may still be there."""

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.title = title


def lock_left(title: str) -> str:
    """What to say when the process may end with the org's lock tag ``title`` still there."""
    return (
        f"The org's apply lock (the tag '{title}') may still be there. The next apply on "
        f"this machine removes it; elsewhere it ends {LEASE_MINUTES} minutes after it was "
        "last renewed. If no apply is running, `tallyform apply --break-lock` removes it now."
    )


def lock_records(org: OrgSettings, root: Path) -> Path:
    """Where applies on this machine note the mark of the lock tag they take, one file each."""
    return root / ".tallyform" / "locks" / org.name


@dataclass(frozen=True)
class LockRecord:
    """One apply's note: the machine and process that made the lock tag of ``mark``."""

    path: Path
    host: str
    pid: int
    mark: str

    @property
    def stopped(self) -> bool:
        return self.host == socket.gethostname() and _dead(self.pid)


def read_records(records: Path) -> list[LockRecord]:
    """The records in the folder; one that cannot be read is no record."""
    found = []
    for path in sorted(records.glob("*.lock")):
        try:
            host, pid, mark = path.read_text("utf-8").split()
            found.append(LockRecord(path, host, int(pid), mark.lower()))
        except (OSError, ValueError):
            continue
    return found


def left_by_dead_apply(records: Path, earlier: str | None = None) -> Callable[[Tag], str | None]:
    """Whether a lock tag is left over by an apply on this machine that no longer runs:
    the record of its mark names a process that is gone, or names this process (``earlier``,
    the mark it held: an apply before this one had its process id, so it has ended)."""

    def gone(tag: Tag) -> str | None:
        stopped = [r.mark for r in read_records(records) if r.stopped]
        if any(is_marked(tag, mark) for mark in [*stopped, *([earlier] if earlier else [])]):
            return "its apply ran on this machine and is no longer running"
        return None

    return gone


def _tidy(records: Path, live: list[Tag]) -> None:
    """Remove the records of stopped applies whose lock tag is gone."""
    for record in read_records(records):
        if record.stopped and not any(is_marked(tag, record.mark) for tag in live):
            record.path.unlink(missing_ok=True)


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _say_removed(found: list[tuple[Tag, str]], hooks: LockHooks) -> None:
    for tag, why in found:
        hooks.say(f"Removed the apply lock '{tag.title}': {why}.")


def _take(
    client: TallyfyClient,
    marks: list[str],
    wait: float,
    records: Path,
    earlier: str | None,
    note: Callable[[str], None],
    hooks: LockHooks,
) -> ApplyLock:
    try:
        lock = acquire(
            client, marks[-1], wait, gone=left_by_dead_apply(records, earlier), note=note
        )
    except OrgLocked as locked:
        _say_removed(locked.removed, hooks)
        raise
    _say_removed(lock.removed, hooks)
    with contextlib.suppress(TallyfyError):
        _tidy(records, lock_tags(client))
    return lock


@contextmanager
def org_lock(
    client: TallyfyClient,
    org: OrgSettings,
    root: Path,
    wait: float,
    break_it: bool,
    hooks: LockHooks | None = None,
) -> Iterator[ApplyLock]:
    """Hold the org's apply lock for the block, renewing its lease; released however the
    block ends.

    Elsewhere than this machine the lease ends :data:`~tallyform.tallyfy.lock.LEASE_MINUTES`
    after the last renewal. Interrupted (a second Ctrl-C) while the lock is taken or let
    go, it raises :class:`LockLeft`. ``hooks.lost`` is called if the lease is lost while
    the block runs. Raises :class:`~tallyform.tallyfy.lock.OrgLocked` when another apply
    holds the lock past ``wait`` seconds.
    """
    hooks = hooks or LockHooks()
    if break_it:
        for tag in lock_tags(client):
            break_lock(client, tag.id)
        hooks.say("Removed the org's apply lock (--break-lock).")
    mark = new_mark()
    records = lock_records(org, root)
    records.mkdir(parents=True, exist_ok=True)
    record = records / f"{os.getpid()}.lock"
    earlier = next((r.mark for r in read_records(records) if r.path == record), None)
    marks: list[str] = []

    def note(mark: str) -> None:  # before the lock tag of ``mark`` is made
        marks.append(mark)
        record.write_text(f"{socket.gethostname()} {os.getpid()} {mark}\n", "utf-8")
        hooks.last_words(lock_left(lock_title(mark)))  # if a second Ctrl-C ends it all

    note(mark)
    try:
        lock = _take(client, marks, wait, records, earlier, note, hooks)
    except BaseException as error:
        _let_go(client, marks[-1], record, isinstance(error, KeyboardInterrupt), hooks)
        raise
    try:
        with Renewer(lock, hooks.lost):
            yield lock
    except BaseException as error:
        try:
            lock.release()
        except KeyboardInterrupt:
            raise LockLeft(lock.title) from None
        except LockNotReleased as failed:
            hooks.error(str(failed))
            if isinstance(error, KeyboardInterrupt):
                raise LockLeft(lock.title) from None
            raise error from None
        _gone(record, hooks)
        raise
    try:
        lock.release()
    except KeyboardInterrupt:
        raise LockLeft(lock.title) from None
    _gone(record, hooks)


def _gone(record: Path, hooks: LockHooks) -> None:
    """The lock tag is known to be gone: so is the need to say so, and its record."""
    hooks.last_words(None)
    record.unlink(missing_ok=True)


def _let_go(
    client: TallyfyClient, mark: str, record: Path, interrupted: bool, hooks: LockHooks
) -> None:
    """After taking the lock failed or was interrupted: remove our tag if it was made.

    Interrupted, the tag's create may still be on its way to Tallyfy though no tag is
    seen yet: the record then stays, for the next apply here to match it by.
    """
    try:
        ours = marked(client, mark)
        if ours is not None:
            break_lock(client, ours.id)
    except TallyfyError:
        return  # the record stays: the next apply here removes the tag
    except KeyboardInterrupt:
        raise LockLeft(lock_title(mark)) from None
    if interrupted and ours is None:
        raise LockLeft(lock_title(mark))
    _gone(record, hooks)


__all__ = ["LockHooks", "LockLeft", "LockRecord", "lock_left", "lock_records", "org_lock"]
