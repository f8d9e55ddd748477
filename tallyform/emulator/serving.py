"""``tallyform emulator serve``'s work: hold the state file, build the emulator from the
command line's settings, listen; each refusal is one error (:class:`ServeRefused`).

The state file's writer lock is held while serving (the process's end lets it go too):
another process writing the file would make it unloadable.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tallyform.emulator import statelock
from tallyform.emulator.app import Emulator
from tallyform.emulator.faults import FaultSettings
from tallyform.emulator.quirks import Quirks
from tallyform.emulator.server import EmulatorServer
from tallyform.errors import TallyformError

SERVE_LOCK_WAIT = 2.0  # seconds to wait for a write of another process to end


class ServeRefused(TallyformError):
    """The emulator cannot serve: its state file is taken or unloadable, or the port is."""


@dataclass(frozen=True)
class ServeSettings:
    """What ``emulator serve`` was asked for (its command line)."""

    port: int
    state_file: Path | None
    org_id: str
    token: str
    request_log: Path | None
    latency_ms: float
    rate_limit: int
    fail_rate: float
    seed: int
    strict: bool
    quirk_names: tuple[str, ...]


def _hold(state_file: Path) -> None:
    try:
        statelock.acquire(state_file, SERVE_LOCK_WAIT, holder="tallyform emulator serve")
    except (statelock.StateFileBusy, statelock.NotAStateFile) as refused:
        raise ServeRefused(str(refused)) from None
    except OSError as error:
        raise ServeRefused(
            f"cannot lock the state file {state_file}: {error.strerror or error}"
        ) from None


def _emulator(settings: ServeSettings) -> Emulator:
    try:
        return Emulator(
            state_file=settings.state_file,
            org_id=settings.org_id,
            token=settings.token,
            rate_limit=settings.rate_limit or None,
            faults=FaultSettings(
                fail_rate=settings.fail_rate, seed=settings.seed, latency_ms=settings.latency_ms
            ),
            request_log=settings.request_log,
            quirks=Quirks.named(("strict",) * settings.strict + settings.quirk_names),
            keep_requests=0,  # a long-running server: --request-log keeps them
        )
    except (OSError, ValueError) as error:
        raise ServeRefused(f"cannot load the emulator state: {error}") from None


def _unlistened(port: int, error: OSError) -> str:
    """Why the server could not listen, and what to do."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} is in use (another emulator, or another program); choose another "
            "with --port (0 picks a free one)"
        )
    return f"cannot listen on port {port}: {error.strerror or error}"


@contextmanager
def served(settings: ServeSettings) -> Iterator[EmulatorServer]:
    """The server, listening, for the block (``serve_forever`` it there); closed, and its
    state file let go, when the block ends."""
    if settings.state_file is not None:
        _hold(settings.state_file)
    try:
        emulated = _emulator(settings)
        try:
            server = EmulatorServer(emulated, port=settings.port)
        except OSError as error:
            raise ServeRefused(_unlistened(settings.port, error)) from None
        try:
            yield server
        finally:
            server.server_close()
    finally:
        if settings.state_file is not None:
            statelock.release(settings.state_file)


__all__ = ["ServeRefused", "ServeSettings", "served"]
