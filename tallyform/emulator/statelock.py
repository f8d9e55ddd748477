"""The one lock every writer of an emulator state file holds: ``FILE.lock`` beside it.

Each process keeps its own copy of an emulated org in memory and journals its writes to
the state file; two processes writing one file would each journal changes the other's
copy does not have, and the file could stop loading. So every writer holds an exclusive
advisory lock (``flock``) on ``FILE.lock``: ``emulator serve --state FILE`` for as long
as it serves, an ``apply`` or ``export`` on an embedded org for the whole command, and
any other in-process emulator for the moment of each write. Another process finds the
lock taken and is refused with a message that names the file and the holder (its pid and
command, which the holder writes into the lock file). Readers (``plan``) take no lock.
The holder removes the lock file as it lets go (so none is left beside the state file);
a process that locked a file removed meanwhile opens the new one and locks that.

The lock is reentrant within a process: a write made while the same process already
holds the lock (the command's guard, the server) costs a dictionary lookup.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one writer at a time is then up to you
    fcntl = None  # type: ignore[assignment]

POLL = 0.05  # seconds between two tries while waiting for the lock


class StateFileBusy(ValueError):
    """Another process writes the state file; ``holder`` says which, as far as known."""

    def __init__(self, state: Path, holder: str) -> None:
        super().__init__(
            f"the emulator's state file {state} is in use by another process ({holder}); "
            "stop it first, or use another state file"
        )
        self.state = state
        self.holder = holder


def lock_path(state: Path) -> Path:
    """The lock file of a state file: ``FILE.lock`` in the same folder."""
    return state.with_name(state.name + ".lock")


_registry = threading.Lock()
_held: dict[str, tuple[int, int]] = {}  # lock file's real path -> (descriptor, holds)


def _command() -> str:
    words = [Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:3]]
    return " ".join(word for word in words if word.isprintable())[:80]


def _holder(handle: int) -> str:
    try:
        said = os.pread(handle, 200, 0).decode("utf-8", "replace").strip().split(" ", 1)
    except OSError:
        said = []
    if len(said) == 2 and said[0].isdigit():
        return f"pid {said[0]}: {said[1]}"
    return "its pid is not known"


def _take(handle: int, state: Path, wait: float, note: bool) -> None:
    """flock ``handle``, waiting up to ``wait`` seconds (StateFileBusy past that); with
    ``note``, write this process's pid and command into the lock file."""
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
    if note:
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()} {_command()}\n".encode(), 0)


def acquire(state: Path, wait: float = 0.0, note: bool = False) -> bool:
    """Hold the writer lock of ``state`` (once more, if this process already does); True
    if it was taken now, rather than held already. StateFileBusy if another process
    holds it past ``wait`` seconds. ``note``: a long hold, which says who holds it."""
    if fcntl is None:
        return False
    path = lock_path(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(path)
    with _registry:
        if key in _held:
            handle, holds = _held[key]
            _held[key] = (handle, holds + 1)
            return False
        _held[key] = (_open_locked(key, state, time.monotonic() + wait, note), 1)
        return True


def _open_locked(key: str, state: Path, deadline: float, note: bool) -> int:
    """The lock file, created if need be and locked: the one now at its path (a holder
    removes it as it lets go, so one locked after a wait may be gone)."""
    while True:
        handle = os.open(key, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            _take(handle, state, max(deadline - time.monotonic(), 0.0), note)
            if os.fstat(handle).st_ino == os.stat(key).st_ino:
                return handle
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(handle)
            raise
        os.close(handle)


def release(state: Path) -> None:
    """Let go of one hold of the writer lock of ``state``; the last one unlocks it."""
    if fcntl is None:
        return
    key = os.path.realpath(lock_path(state))
    with _registry:
        if key not in _held:
            return
        handle, holds = _held.pop(key)
        if holds > 1:
            _held[key] = (handle, holds - 1)
            return
        with contextlib.suppress(OSError):
            os.unlink(key)  # still locked: whoever waits for it sees it gone, and retries
        os.close(handle)  # closing the last descriptor of the lock file unlocks it


@contextmanager
def writer(state: Path, wait: float = 0.0, note: bool = False) -> Iterator[bool]:
    """Hold the writer lock of ``state`` for the block (see :func:`acquire`)."""
    taken = acquire(state, wait, note)
    try:
        yield taken
    finally:
        release(state)
