"""The emulated organization's data, and keeping it in a file that a crash cannot corrupt.

State is one JSON-able dict, shaped close to what the API returns so that handlers
render it with little work. It starts with one organization, two tokens (an admin's and
a standard member's) and the people listed in :data:`SEED_USERS` and :data:`SEED_GROUPS`.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar, cast

from tallyform.bounded import FileRefused, NotRegular, read_regular
from tallyform.collector import collector_paused
from tallyform.emulator import statelock
from tallyform.emulator.journal import Replay
from tallyform.errors import TallyformError
from tallyform.stamps import time_text

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one writer at a time is then up to you
    fcntl = None  # type: ignore[assignment]

_T = TypeVar("_T")

DEFAULT_ORG_ID = "7a11f0a7a11f0a7a11f0a7a11f0a7a11"
DEFAULT_ORG_NAME = "Emulated Organization"
DEFAULT_TOKEN = "emulator-admin-token"
DEFAULT_MEMBER_TOKEN = "emulator-member-token"
DEFAULT_CLIENT_ID = "1"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
APP_TOKEN_LIFETIME = 604800  # seconds: client-credentials tokens last 7 days
USER_TOKEN_LIFETIME = 7776000  # seconds: user tokens minted by an application last 3 months
STATE_VERSION = 1

# (id, email, first name, last name, role)
SEED_USERS = [
    (1, "alice@example.com", "Alice", "Admin", "admin"),
    (2, "bob@example.com", "Bob", "Baker", "standard"),
    (3, "carol@example.com", "Carol", "Chen", "standard"),
    (4, "dave@example.com", "Dave", "Diaz", "standard"),
    (5, "erin@example.com", "Erin", "Evans", "light"),
]
# (name, member ids)
SEED_GROUPS = [
    ("Finance", [1, 3]),
    ("HR", [2]),
    ("IT", [4]),
    ("Legal", [3]),
    ("Support", [4, 5]),
    ("Marketing", [3]),
    ("Engineering", [4, 5]),
]


def now() -> str:
    """A timestamp as the API writes them: ISO 8601, milliseconds, Zulu."""
    return time_text(datetime.now(timezone.utc))


def new_id() -> str:
    """A fresh 32-character lowercase hex id, like the API's."""
    return uuid.uuid4().hex


def _seed_user(uid: int, email: str, first: str, last: str, role: str) -> dict[str, Any]:
    return {
        "id": uid,
        "email": email,
        "username": email.split("@")[0],
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "role": role,
        "active": True,
        "is_suspended": False,
        "timezone": "UTC",
        "created_at": "2026-01-01T00:00:00.000Z",
        "last_updated": "2026-01-01T00:00:00.000Z",
        "custom_fields": {},
    }


def fresh_state(
    org_id: str = DEFAULT_ORG_ID,
    admin_token: str = DEFAULT_TOKEN,
    member_token: str = DEFAULT_MEMBER_TOKEN,
) -> dict[str, Any]:
    """A new organization with its seed people and nothing else."""
    groups = [
        {
            "id": uuid.uuid5(uuid.NAMESPACE_URL, f"tallyform-emulator/{org_id}/group/{name}").hex,
            "name": name,
            "description": f"The {name} team",
            "logo": None,
            "members": members,
            "guests": [],
            "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z",
            "deleted_at": None,
        }
        for name, members in SEED_GROUPS
    ]
    return {
        "version": STATE_VERSION,
        "org": {"id": org_id, "name": DEFAULT_ORG_NAME, "created_at": "2026-01-01T00:00:00.000Z"},
        "tokens": {admin_token: 1, member_token: 2},
        # OAuth applications (client credentials); their tokens act for the admin.
        "applications": {DEFAULT_CLIENT_ID: {"secret": DEFAULT_CLIENT_SECRET, "user_id": 1}},
        # Tokens issued by /oauth/token, and the application (client id) each belongs to.
        "app_tokens": {},
        "token_expiry": {},
        "users": [_seed_user(*row) for row in SEED_USERS],
        "groups": groups,
        "guests": [],
        "checklists": {},
        "tags": {},
        "tag_links": [],
        "folders": {},
        "custom_field_keys": [],
        "counters": {"increment_id": 0, "tag_link": 0, "custom_field_key": 0, "option": 0},
    }


class StateFileError(TallyformError, ValueError):
    """The state file exists but cannot be used; the message names it and what to do."""


class StateFile:
    """Keeps the state in one file: a snapshot of it, then a journal of the writes since.

    The first line is the whole state as one JSON object: the format of earlier versions,
    which held nothing else (such a file loads as it is, and gets a journal from its next
    write). Each further line is one write's journal entry (:mod:`.journal`):
    ``CRC32 ENTRY``, eight hex digits then the entry's JSON. A write appends its line
    (it costs what the write touched, whatever the size of the org); when the journal
    has grown as big as the snapshot (and past :data:`COMPACT_MIN_BYTES`) it is folded
    in: the whole state goes to a temporary file in the same folder, is flushed to disk,
    then renamed over the old file.

    Why a journal, not SQLite (both measured, a 29 kB template, this machine): appending
    a line costs 20-40 us and SQLite's WAL commit 60-180 us, a whole-file rewrite at
    1,000 templates 0.5 s; loading is ``json.loads`` of the same bytes either way. The
    journal keeps the state file what it was (one file, its first line the JSON users and
    scripts read, old files loading unchanged) and needs no schema or migration.

    Never torn: a killed writer leaves at worst a half-written last line, which fails its
    checksum and is ignored on load (the next write cuts it off); a snapshot is whole or
    not there (fsync, then rename). An append is written straight to the file (no buffer
    in the process), so a killed emulator loses nothing it answered; it is flushed to
    the disk (fdatasync) by a background thread within :data:`SYNC_SECONDS`, not before
    the answer (that costs 2-3 ms, a cap of a few hundred writes a second), so a power
    cut may lose the last moments but loads as the state of some earlier write.

    Several processes: a reader (``plan``) reads the file in one go and sees the snapshot
    and whole entries of some moment, as the file is only appended to or replaced by
    rename. Every write is made holding the writer lock (:mod:`.statelock`), which
    ``emulator serve`` and an embedded org's ``apply`` hold for as long as they run, so a
    second writing process is refused with a message naming the holder instead of
    journaling changes the first one's state does not have. One that finds entries it did
    not write (one writer after another) appends after them and leaves compaction to a
    later process, so nobody's writes are folded away. A compaction killed before its
    rename leaves a temporary file, removed at the next load that finds no writer.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._compact_min = COMPACT_MIN_BYTES
        self._inode: int | None = None  # the file as this process last saw it
        self._end = 0  # where its last whole entry ends
        self._snapshot_bytes = 0
        self._journal_bytes = 0
        self._rewrite = False  # the snapshot is not one line: rewrite before appending
        self._foreign = False  # another process wrote entries: leave compaction to others

    def load(self) -> dict[str, Any] | None:
        """The saved state, None if there is none yet; StateFileError if it cannot be used.

        When no other process writes the file, temporary files a compaction killed
        half-way left beside it are removed first."""
        try:
            raw, info = read_regular(self.path, MAX_STATE_BYTES)
        except NotRegular as refused:
            what = refused.reason.removeprefix("it ")
            raise StateFileError(f"the emulator's state file {self.path} {what}") from None
        except FileRefused as refused:
            if not refused.missing:
                raise self._unusable(f"cannot be read ({refused.reason})") from None
            self._remove_leftovers()
            return None
        self._remove_leftovers()
        inode = info.st_ino
        cut = raw.find(b"\n")
        snapshot_end = len(raw) if cut < 0 else cut + 1
        rewrite = False
        with collector_paused():
            try:
                data = self._snapshot(raw[:snapshot_end])
            except _Unparsable as error:
                if cut < 0:
                    raise self._unusable(error.what) from None
                try:  # an older file written over several lines (by hand, say)
                    data = self._snapshot(raw)
                except _Unparsable as whole:
                    # Where the first line ends before its JSON does, the whole file says
                    # where it goes wrong; otherwise the first line does.
                    raise self._unusable(
                        (whole if error.at >= len(raw[:cut].rstrip()) else error).what
                    ) from None
                rewrite, snapshot_end = True, len(raw)
            end = snapshot_end
            if not rewrite:
                data, end = self._replay(data, raw, snapshot_end)
        self._inode, self._end, self._rewrite, self._foreign = inode, end, rewrite, False
        self._snapshot_bytes, self._journal_bytes = snapshot_end, end - snapshot_end
        return data

    def _snapshot(self, raw: bytes) -> dict[str, Any]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Unparsable(f"cannot be read ({error})", error.start) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            where = f"line {error.lineno}, column {error.colno}: {error.msg}"
            raise _Unparsable(f"is not valid JSON ({where})", error.pos) from None
        if not isinstance(data, dict) or not isinstance(data.get("org"), dict):
            raise self._unusable("does not hold an emulated organization")
        if data.get("version") != STATE_VERSION:
            raise self._unusable(f"has an unknown version {data.get('version')!r}")
        return data

    def _replay(self, data: dict[str, Any], raw: bytes, start: int) -> tuple[dict[str, Any], int]:
        """The state with the journal's whole entries applied, and where the last one ends."""
        replay = Replay(data)
        position = start
        for payload, end in _entries(raw, start):
            try:
                replay.apply(json.loads(payload))
            except (ValueError, KeyError, TypeError, IndexError) as error:
                raise self._unusable(
                    f"has a journal entry at byte {position} that does not apply ({error!r})"
                ) from None
            position = end
        return replay.finish(), position

    def _unusable(self, what: str) -> StateFileError:
        return StateFileError(
            f"the emulator's state file {self.path} {what}; move it aside (or delete it) "
            "to start a fresh emulated organization"
        )

    def _remove_leftovers(self) -> None:
        """Remove what a compaction killed before its rename left (``.FILE.xxxxxxxx``),
        unless another process writes the file now (its compaction may be under way)."""
        try:
            with statelock.writer(self.path):
                for leftover in self.path.parent.glob(f"{_TEMP_PREFIX}{self.path.name}.*"):
                    if len(leftover.name) == len(self.path.name) + _TEMP_LENGTH:
                        leftover.unlink(missing_ok=True)
        except statelock.StateFileBusy:
            return
        except OSError:  # a folder that cannot be listed or written: nothing to clean
            return

    def save(self, data: dict[str, Any]) -> None:
        """Write the whole state as a new snapshot with an empty journal, atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with statelock.writer(self.path, WRITE_WAIT):
            self._save(data)

    def _save(self, data: dict[str, Any]) -> None:
        handle, temp = tempfile.mkstemp(
            prefix=f"{_TEMP_PREFIX}{self.path.name}.", dir=self.path.parent
        )
        try:
            with os.fdopen(handle, "wb") as out:
                # dumps, not dump: dump streams through the slow pure-Python encoder.
                content = json.dumps(data, separators=(",", ":")).encode("ascii") + b"\n"
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
                inode = os.fstat(out.fileno()).st_ino
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _sync_folder(self.path.parent)
        self._inode, self._end, self._rewrite, self._foreign = inode, len(content), False, False
        self._snapshot_bytes, self._journal_bytes = len(content), 0

    def record(self, ops: list[list[Any]], data: dict[str, Any]) -> None:
        """Append one write's journal entry; ``data`` is the whole state after it (for a
        compaction, or when there is no file to append to)."""
        if not ops:
            return
        with statelock.writer(self.path, WRITE_WAIT):
            self._record(ops, data)

    def _record(self, ops: list[list[Any]], data: dict[str, Any]) -> None:
        if self._inode is None or self._rewrite:
            self._save(data)
            return
        payload = json.dumps(ops, separators=(",", ":")).encode("ascii")
        line = b"%08x " % zlib.crc32(payload) + payload + b"\n"
        handle = self._open_locked()
        if handle is None:  # the file was removed: start it again
            self._save(data)
            return
        try:
            status = os.fstat(handle)
            if status.st_ino != self._inode or status.st_size != self._end:
                self._catch_up(handle, status)
            if self._end and _read_at(handle, 1, self._end - 1) != b"\n":
                line = b"\n" + line  # a snapshot of an earlier version has no line end
            _write_all(handle, line)
            _FLUSHER.later(self.path.absolute())
            self._end += len(line)
            self._journal_bytes += len(line)
            if not self._foreign and self._journal_bytes > max(
                self._compact_min, self._snapshot_bytes
            ):
                self._save(data)  # under the lock: no append can land in the old file
        finally:
            os.close(handle)

    def _open_locked(self) -> int | None:
        """The state file opened for appending, locked: the file now at the path."""
        while True:
            try:
                handle = os.open(self.path, os.O_RDWR | os.O_APPEND | getattr(os, "O_BINARY", 0))
            except FileNotFoundError:
                return None
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                current = os.stat(self.path).st_ino == os.fstat(handle).st_ino
            except FileNotFoundError:
                current = False
            if current:
                return handle
            os.close(handle)  # replaced while we waited for the lock: open the new one

    def _catch_up(self, handle: int, status: os.stat_result) -> None:
        """Someone else wrote the file since we last did: find where its whole entries
        end, cut off a torn last line (its writer is gone: we hold the lock)."""
        replaced = status.st_ino != self._inode or status.st_size < self._end
        start = 0 if replaced else self._end
        raw = _read_at(handle, status.st_size - start, start)
        if replaced:
            cut = raw.find(b"\n")
            begin = len(raw) if cut < 0 else cut + 1
            self._snapshot_bytes, self._journal_bytes = begin, 0
        else:
            begin = 0
        end = _valid_end(raw, begin)
        if start + end < status.st_size:
            os.ftruncate(handle, start + end)
        self._foreign = self._foreign or replaced or end > 0
        self._inode, self._end = status.st_ino, start + end
        self._journal_bytes += end - begin


COMPACT_MIN_BYTES = 4 * 1024 * 1024
MAX_STATE_BYTES = 1 << 30  # a state file of 10,000 templates is about 300 MB
WRITE_WAIT = 5.0  # seconds a write waits for another process's write (not a server) to end
_TEMP_PREFIX = "."  # a compaction's temporary file: .FILE. and eight characters
_TEMP_LENGTH = 10  # the characters it has beyond FILE's name


class _Unparsable(Exception):
    """A snapshot that is not JSON: what is wrong, and at which character."""

    def __init__(self, what: str, at: int) -> None:
        super().__init__(what)
        self.what, self.at = what, at


def _entries(raw: bytes, start: int) -> Iterator[tuple[bytes, int]]:
    """The payloads of the whole, intact journal lines from ``start``, and where each
    ends; the first torn or damaged line ends the journal."""
    position = start
    while True:
        end = raw.find(b"\n", position)
        if end < 0:
            return
        line = raw[position:end]
        if len(line) < 10 or line[8:9] != b" ":
            return
        try:
            crc = int(line[:8], 16)
        except ValueError:
            return
        payload = line[9:]
        if zlib.crc32(payload) != crc:
            return
        position = end + 1
        yield payload, position


def _valid_end(raw: bytes, start: int) -> int:
    """Where the whole, intact journal lines from ``start`` end."""
    end = start
    for _, end in _entries(raw, start):  # noqa: B007 - the last one is the answer
        pass
    return end


def _read_at(handle: int, size: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(handle, size, offset)
    os.lseek(handle, offset, os.SEEK_SET)  # Windows; appends still go to the end
    return os.read(handle, size)


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(handle, view)
        view = view[written:]


SYNC_SECONDS = 0.2


class _Flusher:
    """Flushes appended state files to the disk in the background, each at most once
    every :data:`SYNC_SECONDS` however many writes it took (and once more at exit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: set[Path] = set()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def later(self, path: Path) -> None:
        with self._lock:
            self._due.add(path)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tallyform-state-flusher", daemon=True
                )
                self._thread.start()
                atexit.register(self.now)
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(SYNC_SECONDS)
            self._wake.clear()
            self.now()

    def now(self) -> None:
        with self._lock:
            due, self._due = self._due, set()
        for path in due:
            _sync_file(path)


def _sync_file(path: Path) -> None:
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:  # replaced or removed since: its successor was synced as it was made
        return
    try:
        getattr(os, "fdatasync", os.fsync)(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


_FLUSHER = _Flusher()


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; elsewhere there is no way to ask)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def copied(value: _T) -> _T:
    """A deep copy of JSON data, for handlers that must not leak references into
    responses: three to four times faster than ``copy.deepcopy``, which handles any
    object (and keeps a memo of each) where the state holds only dicts, lists and scalars."""
    return cast(_T, _copied(value))


def _copied(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value
