"""`tallyform apply` as real OS processes against a served emulator: killed, interrupted, racing.

Each test serves a fresh emulated org on a loopback port (`tallyform emulator serve`),
bootstraps a copy of examples/ into it with added latency so that an apply lasts a few
seconds, disturbs that apply with POSIX signals or a second apply, and then checks that
plain re-runs of `apply --yes` converge to an empty plan with nothing duplicated.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from tallyform.emulator import Emulator, EmulatorServer, FaultSettings
from tests.process_helpers import (
    Cli,
    Finished,
    ServedEmulator,
    assert_no_duplicates,
    census,
    define_key_fields,
    duplicates,
    served_project,
    wait_for_writes,
    write_project,
)

LATENCY_MS = 50.0  # a bootstrap of examples/ then takes about 3.5 s, 1 s of it starting up
SLOW_LATENCY_MS = 80.0  # a wider window for Ctrl-C
KILL_SEED = 20260509
KILL_DELAYS = sorted(round(random.Random(KILL_SEED + n).uniform(0.5, 3.5), 2) for n in range(5))
INTERRUPT_TIMEOUT = 10.0  # seconds an apply may take to stop after one Ctrl-C
AT_ONCE = 2.0  # seconds within which a second Ctrl-C must end it
STALLED_MS = 4000.0  # each request's latency once a test makes a graceful stop slow
ANOTHER_APPLY = "another tallyform apply"

Counts = dict[str, int]


@pytest.fixture(scope="module")
def full_counts(tmp_path_factory: pytest.TempPathFactory) -> Counts:
    """What a complete, undisturbed bootstrap of examples/ leaves in the org."""
    with served_project(tmp_path_factory.mktemp("reference")) as (emulator, cli):
        applied = cli.apply()
        assert applied.code == 0, applied.describe()
        with emulator.client() as api:
            return assert_no_duplicates(api).counts()


def expect(expectations: dict[str, bool], detail: str) -> None:
    """Fail listing every expectation that does not hold, then ``detail``."""
    failed = [f"- {text}" for text, holds in expectations.items() if not holds]
    if failed:
        pytest.fail("\n".join([*failed, detail]), pytrace=False)


def allowed(run: Finished) -> bool:
    """An apply racing another either succeeds or refuses, naming the other apply."""
    return run.code == 0 or (run.code == 1 and ANOTHER_APPLY in run.output)


def counts_of(emulator: ServedEmulator) -> Counts:
    with emulator.client() as api:
        return census(api).counts()


def no_duplicates(found: list[str]) -> str:
    return "nothing duplicated:\n  " + "\n  ".join(found)


def assert_converges(emulator: ServedEmulator, cli: Cli, full: Counts, context: str) -> None:
    """Re-run apply until it succeeds with an empty plan; then nothing is duplicated or missing."""
    try:
        cli.converge(attempts=3)
    except AssertionError as error:
        pytest.fail(f"{context}\n{error}", pytrace=False)
    with emulator.client() as api:
        found = census(api)
    counts, repeated = found.counts(), duplicates(found)
    expect(
        {
            no_duplicates(repeated): not repeated,
            f"the org holds what a full bootstrap does\n  {counts}\n  {full}": counts == full,
        },
        context,
    )


@pytest.mark.parametrize("delay", KILL_DELAYS, ids=lambda d: f"kill-after-{d}s")
def test_apply_killed_at_any_moment_converges_without_duplicates(
    tmp_path: Path, delay: float, full_counts: Counts
) -> None:
    with served_project(tmp_path, LATENCY_MS) as (emulator, cli):
        proc = cli.start_apply()
        time.sleep(max(0.0, delay - proc.elapsed()))
        killed = proc.kill()
        context = (
            f"SIGKILL after {delay} s (exit {killed.code}); the org then held {counts_of(emulator)}"
        )
        assert_converges(emulator, cli, full_counts, context)


def test_ctrl_c_stops_apply_early_and_says_what_was_not_done(
    tmp_path: Path, full_counts: Counts
) -> None:
    with served_project(tmp_path, SLOW_LATENCY_MS) as (emulator, cli):
        proc = cli.start_apply()
        wait_for_writes(emulator, proc)
        proc.send(signal.SIGINT)
        sent = time.monotonic()
        stopped = proc.wait(INTERRUPT_TIMEOUT)
        waited = time.monotonic() - sent
        with emulator.client() as api:
            found = census(api)
        partial, repeated = found.counts(), duplicates(found)
        expect(
            {
                f"exit code 130 (got {stopped.code})": stopped.code == 130,
                "stderr says 'Interrupted'": "Interrupted" in stopped.stderr,
                "stderr says what was 'not done'": "not done" in stopped.stderr,
                f"stopped early (the org holds {partial})": sum(partial.values())
                < sum(full_counts.values()),
                no_duplicates(repeated): not repeated,
            },
            f"stopped {waited:.1f} s after Ctrl-C: {stopped.describe()}",
        )
        assert_converges(emulator, cli, full_counts, f"after Ctrl-C the org held {partial}")


def test_a_second_ctrl_c_exits_at_once(tmp_path: Path, full_counts: Counts) -> None:
    """Once writes are under way, every new request is made to take longer than AT_ONCE:
    an apply that only stopped gracefully (finishing what is in flight, then releasing
    its lock) could not be gone in time, so only a real exit at once passes."""
    emulator = Emulator(faults=FaultSettings(latency_ms=SLOW_LATENCY_MS))
    with EmulatorServer(emulator) as server:
        served = ServedEmulator(None, server.url, tmp_path / "unused.json")  # type: ignore[arg-type]
        root = write_project(tmp_path / "project", served)
        with Cli(root, tmp_path / "logs") as cli:
            proc = cli.start_apply()
            wait_for_writes(served, proc)
            emulator.faults = FaultSettings(latency_ms=STALLED_MS)
            proc.send(signal.SIGINT)
            time.sleep(0.1)
            proc.send(signal.SIGINT)
            sent = time.monotonic()
            stopped = proc.wait(INTERRUPT_TIMEOUT)
            waited = time.monotonic() - sent
            emulator.faults = FaultSettings()
            expect(
                {
                    f"exit code 130 (got {stopped.code})": stopped.code == 130,
                    f"gone within {AT_ONCE} s of the second Ctrl-C": waited < AT_ONCE,
                },
                f"stopped {waited:.1f} s after the second Ctrl-C: {stopped.describe()}",
            )
            time.sleep(STALLED_MS / 1000)  # requests of the killed apply finish meanwhile
            assert_converges(served, cli, full_counts, "after two Ctrl-C")


@pytest.mark.parametrize("keys_defined", [False, True], ids=["fresh-org", "keys-defined"])
def test_two_applies_at_once_never_duplicate(
    tmp_path: Path, keys_defined: bool, full_counts: Counts
) -> None:
    with served_project(tmp_path, LATENCY_MS) as (emulator, cli):
        if keys_defined:  # as after an earlier apply: the race is then about the templates
            with emulator.client() as api:
                define_key_fields(api)
        racers = [cli.start_apply(), cli.start_apply()]
        runs = [proc.wait() for proc in racers]
        with emulator.client() as api:
            found = duplicates(census(api))
        expect(
            {
                f"each exits 0, or 1 saying {ANOTHER_APPLY!r}": all(allowed(r) for r in runs),
                "one of them succeeds": any(r.code == 0 for r in runs),
                no_duplicates(found): not found,
            },
            "\n".join(r.describe() for r in runs),
        )
        assert_converges(emulator, cli, full_counts, "after two applies at once")
