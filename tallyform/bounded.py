"""Reading a file the user names, never more than a limit, and only if it is a regular file.

Every file tallyform reads because a user pointed at it (``tallyform.yaml``, template
files, a saved plan) goes through :func:`read_bounded`. A device (``/dev/zero``), a FIFO
(which would wait for a writer forever), a socket or a folder is refused before a byte is
read; a regular file is read up to the limit and one byte more, whatever size it reports
(a file in ``/proc`` reports 0, a file may grow while it is read), so a reader never holds
more than the limit. The file is opened without blocking and checked again once open, so
a FIFO put in the place of a checked file cannot make the reader wait.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tallyform.errors import TallyformError

_CHUNK = 1 << 20
# O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer (reads of a
# regular file ignore it). O_NOCTTY: a terminal device never becomes ours.
_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class FileRefused(TallyformError):
    """The file was not read, or not whole; ``reason`` says why, without the path, in words
    that follow "cannot read the file: "."""

    def __init__(self, reason: str, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing  # there is no such file


class NotRegular(FileRefused):
    """A device, FIFO, socket or folder: nothing was read from it."""


class TooLarge(FileRefused):
    """Over the limit: ``size`` is what the file reported, None if it grew while read."""

    def __init__(self, reason: str, size: int | None) -> None:
        super().__init__(reason)
        self.size = size


def kind_of(mode: int) -> str | None:
    """What a file that is not a regular file is (None: it is one)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a file tallyform can read"


def _not_regular(kind: str) -> NotRegular:
    return NotRegular(f"it is {kind}, not a regular file; it was not read")


def _too_large(limit: int, size: int | None) -> TooLarge:
    if size is None:
        return TooLarge(f"it grew past the limit of {limit:,} bytes while it was read", None)
    return TooLarge(f"it is {size:,} bytes, over the limit of {limit:,} bytes", size)


def _cannot(error: OSError) -> FileRefused:
    return FileRefused(str(error.strerror or error), isinstance(error, FileNotFoundError))


def check_regular(path: Path, limit: int) -> None:
    """Refuse, without opening it, a file that is not regular or reports more than ``limit``."""
    try:
        info = path.stat()
    except OSError as error:
        raise _cannot(error) from None
    kind = kind_of(info.st_mode)
    if kind is not None:
        raise _not_regular(kind)
    if info.st_size > limit:
        raise _too_large(limit, info.st_size)


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them, else FileRefused."""
    return read_regular(path, limit)[0]


def read_regular(path: Path, limit: int) -> tuple[bytes, os.stat_result]:
    """:func:`read_bounded`, and what ``fstat`` said of the file that was read."""
    check_regular(path, limit)
    try:
        handle = os.open(path, _FLAGS)
    except OSError as error:
        raise _cannot(error) from None
    try:
        info = os.fstat(handle)
        kind = kind_of(info.st_mode)  # what was opened, not what was checked
        if kind is not None:
            raise _not_regular(kind)
        return _read_up_to(handle, limit), info
    except OSError as error:
        raise _cannot(error) from None
    finally:
        os.close(handle)


def _read_up_to(handle: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(handle, min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise _too_large(limit, None)
    return b"".join(chunks)
