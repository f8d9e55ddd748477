"""The one lock every writer of an emulator state file holds: ``FILE.lock`` beside it.

Each process keeps its own copy of an emulated org in memory and journals its writes to
the state file; two processes writing one file would each journal changes the other's
copy does not have, and the file could stop loading. So every writer holds an exclusive
advisory lock (``flock``) on ``FILE.lock``: ``emulator serve --state FILE`` for as long
as it serves, an ``apply`` or ``export`` on an embedded org for the whole command, and
any other in-process emulator for the moment of each write. Another process finds the
lock taken and is refused with a message that names the file and the holder (its pid and
command, which the holder writes into the lock file). Readers (``plan``) take no lock.
The lock file stays beside the state file (as ``apply``'s always did); one removed or
replaced while a process waited for it is let go, and the new one locked.

The lock is reentrant within a process: a write made while the same process already
holds the lock (the command's guard, the server) costs a dictionary lookup.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tallyform.bounded import kind_of
from tallyform.errors import TallyformError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one writer at a time is then up to you
    fcntl = None  # type: ignore[assignment]

POLL = 0.05  # seconds between two tries while waiting for the lock


class StateFileBusy(TallyformError, ValueError):
    """Another process writes the state file; ``holder`` says which, as far as known."""

    def __init__(self, state: Path, holder: str) -> None:
        super().__init__(
            f"the emulator's state file {state} is in use by another process ({holder}); "
            "stop it first, or use another state file"
        )
        self.state = state
        self.holder = holder


class NotAStateFile(TallyformError, ValueError):
    """The state file's path holds a device, a FIFO or a folder: no lock is made beside it."""

    def __init__(self, state: Path, kind: str) -> None:
        super().__init__(
            f"the emulator's state file {state} is {kind}, not a regular file; it was not read"
        )


def _check(state: Path) -> None:
    try:
        kind = kind_of(state.stat().st_mode)
    except OSError:  # not there yet, or not reachable: creating the lock file says
        return
    if kind is not None:
        raise NotAStateFile(state, kind)


def lock_path(state: Path) -> Path:
    """The lock file of a state file: ``FILE.lock`` in the same folder."""
    return state.with_name(state.name + ".lock")


@dataclass
class _Lock:
    """This process's hold on one lock file: its descriptor (kept open between holds, so
    a write that takes and lets go of the lock costs two system calls) and how many
    holds there are; the lock is taken while there is one."""

    path: str
    handle: int | None = None
    holds: int = 0
    noted: bool = False


_registry = threading.Lock()
_paths: dict[Path, str] = {}  # state file as named -> its lock file's real path
_locks: dict[str, _Lock] = {}  # lock file's real path -> this process's lock on it
_idle: OrderedDict[str, _Lock] = OrderedDict()  # open and not held, the latest last
KEEP_OPEN = 16  # lock files kept open while not held (a process may write many state files)


def _lock_of(state: Path) -> _Lock:
    """This process's lock for ``state`` (one for a file, under whatever name)."""
    path = _paths.get(state)
    if path is None:
        path = os.path.realpath(lock_path(state))
        if state.is_absolute():  # a relative name means another file once the cwd changes
            _paths[state] = path
    found = _locks.get(path)
    if found is None:
        found = _locks[path] = _Lock(path)
    return found


def _printable(text: str) -> str:
    return "".join(c for c in text if c.isprintable())[:80]


def _holder(handle: int) -> str:
    try:
        said = os.pread(handle, 200, 0).decode("utf-8", "replace").strip().split(" ", 1)
    except OSError:
        said = []
    if len(said) == 2 and said[0].isdigit() and _alive(int(said[0])):
        return f"pid {said[0]}: {said[1]}"
    return "its pid is not known"  # a write of the moment, or a note its writer left


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _take(handle: int, state: Path, wait: float, holder: str | None) -> None:
    """flock ``handle``, waiting up to ``wait`` seconds (StateFileBusy past that); with
    ``holder`` (what this process is), write it and the pid into the lock file."""
    assert fcntl is not None
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise StateFileBusy(state, _holder(handle)) from None
            time.sleep(POLL)
    if holder is not None:
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()} {_printable(holder)}\n".encode(), 0)


def acquire(state: Path, wait: float = 0.0, holder: str | None = None) -> bool:
    """Hold the writer lock of ``state`` (once more, if this process already does); True
    if it was taken now, rather than held already. StateFileBusy if another process
    holds it past ``wait`` seconds, NotAStateFile for a device or FIFO. ``holder``: a
    long hold, which says what holds it (``tallyform emulator serve``)."""
    if fcntl is None:
        return False
    with _registry:
        lock = _lock_of(state)
        if lock.holds:
            lock.holds += 1
            return False
        _check(state)
        _idle.pop(lock.path, None)
        _lock(lock, state, time.monotonic() + wait, holder)
        lock.holds, lock.noted = 1, holder is not None
        return True


def _lock(lock: _Lock, state: Path, deadline: float, holder: str | None) -> None:
    """Lock the lock file now at its path (one removed or replaced meanwhile is let go
    and the new one opened), creating it and its folder if need be."""
    while True:
        if lock.handle is None:
            Path(lock.path).parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
            lock.handle = os.open(lock.path, flags, 0o644)
        _take(lock.handle, state, max(deadline - time.monotonic(), 0.0), holder)
        try:
            if os.fstat(lock.handle).st_ino == os.stat(lock.path).st_ino:
                return
        except FileNotFoundError:
            pass
        os.close(lock.handle)  # unlocks the stale one
        lock.handle = None


def release(state: Path) -> None:
    """Let go of one hold of the writer lock of ``state``; the last one unlocks it."""
    if fcntl is None:
        return
    with _registry:
        lock = _lock_of(state)
        if not lock.holds:
            return
        lock.holds -= 1
        if lock.holds or lock.handle is None:
            return
        with contextlib.suppress(OSError):
            if lock.noted:
                os.ftruncate(lock.handle, 0)  # the note of who held it
            fcntl.flock(lock.handle, fcntl.LOCK_UN)
        _idle[lock.path] = lock
        if len(_idle) > KEEP_OPEN:
            _, oldest = _idle.popitem(last=False)
            if oldest.handle is not None:
                os.close(oldest.handle)
                oldest.handle = None


@contextmanager
def writer(state: Path, wait: float = 0.0, holder: str | None = None) -> Iterator[bool]:
    """Hold the writer lock of ``state`` for the block (see :func:`acquire`)."""
    taken = acquire(state, wait, holder)
    try:
        yield taken
    finally:
        release(state)
