"""`tallyform apply` as real OS processes against a served emulator: killed, interrupted, racing.

Each test serves a fresh emulated org on a loopback port, bootstraps a copy of examples/
into it, disturbs that apply with POSIX signals or a second apply, and then checks that
plain re-runs of `apply --yes` converge to an empty plan with nothing duplicated. The org
is a :class:`WatchedEmulator`, so each disturbance lands on an event of the apply (its
n-th request answered, its first template made) however fast the machine is, and the
added latency that keeps requests in flight while it is disturbed is lifted after.
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.process_helpers import (
    Cli,
    Finished,
    ServedEmulator,
    assert_no_duplicates,
    census,
    define_key_fields,
    duplicates,
    wait_until,
    watched_project,
)

LATENCY_MS = 20.0  # while an apply is disturbed: a bootstrap of examples/ then takes ~1 s
KILL_SEED = 20260509
# SIGKILL once this share of an undisturbed bootstrap's requests is answered: during the
# plan's reads, the org-wide creates, or the templates. Every other of five seeded points
# (early, middle, late), and the moment the first template is made: each costs about two
# seconds of the suite's minute, and the seeded fault test (test_apply_faults.py) breaks
# apply at many more points in-process.
SEEDED = sorted(round(random.Random(KILL_SEED + n).uniform(0.0, 0.95), 2) for n in range(5))
KILL_POINTS = SEEDED[::2]
INTERRUPT_TIMEOUT = 10.0  # seconds an apply may take to stop after one Ctrl-C
AT_ONCE = 2.0  # seconds within which a second Ctrl-C must end it
STALLED_MS = 4000.0  # each request's latency once a test makes a graceful stop slow
ANOTHER_APPLY = "another tallyform apply"

Counts = dict[str, int]


@dataclass(frozen=True)
class Reference:
    """What a complete, undisturbed bootstrap of examples/ leaves in the org, and how many
    requests it makes."""

    counts: Counts
    requests: int


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    with watched_project(tmp_path_factory.mktemp("reference")) as (emulator, watched, cli):
        applied = cli.apply()
        assert applied.code == 0, applied.describe()
        requests = watched.answered()
        with emulator.client() as api:
            return Reference(assert_no_duplicates(api).counts(), requests)


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


@pytest.mark.parametrize(
    "share",
    [
        *(pytest.param(share, id=f"kill-at-{share:.0%}") for share in KILL_POINTS),
        # the template's create answered, its key not yet written: the next plan adopts it
        pytest.param(None, id="kill-once-a-template-is-made"),
    ],
)
def test_apply_killed_at_any_moment_converges_without_duplicates(
    tmp_path: Path, share: float | None, full: Reference
) -> None:
    with watched_project(tmp_path, LATENCY_MS) as (emulator, watched, cli):
        if share is None:
            moment, reached = "a template made", watched.made_a_template
        else:
            at = max(1, round(share * full.requests))
            moment = f"{at} of {full.requests} requests answered"
            reached = lambda: watched.answered() >= at  # noqa: E731
        proc = cli.start_apply()
        watched.wait_for(moment, reached, proc)
        killed = proc.kill()
        watched.lift_latency()
        context = (
            f"SIGKILL once {moment} (exit {killed.code}); the org then held {counts_of(emulator)}"
        )
        expect({"the apply still ran when killed": killed.code == -signal.SIGKILL}, context)
        assert_converges(emulator, cli, full.counts, context)


def test_ctrl_c_stops_apply_early_and_says_what_was_not_done(
    tmp_path: Path, full: Reference
) -> None:
    with watched_project(tmp_path, LATENCY_MS) as (emulator, watched, cli):
        proc = cli.start_apply()
        watched.wait_for("a template made", watched.made_a_template, proc)
        proc.send(signal.SIGINT)
        sent = time.monotonic()
        stopped = proc.wait(INTERRUPT_TIMEOUT)
        waited = time.monotonic() - sent
        watched.lift_latency()
        with emulator.client() as api:
            found = census(api)
        partial, repeated = found.counts(), duplicates(found)
        expect(
            {
                f"exit code 130 (got {stopped.code})": stopped.code == 130,
                "stderr says 'Interrupted'": "Interrupted" in stopped.stderr,
                "stderr says what was 'not done'": "not done" in stopped.stderr,
                "stderr names the org to apply again": "`tallyform apply --org " in stopped.stderr,
                f"stopped early (the org holds {partial})": sum(partial.values())
                < sum(full.counts.values()),
                no_duplicates(repeated): not repeated,
            },
            f"stopped {waited:.1f} s after Ctrl-C: {stopped.describe()}",
        )
        assert_converges(emulator, cli, full.counts, f"after Ctrl-C the org held {partial}")


def test_a_second_ctrl_c_exits_at_once(tmp_path: Path, full: Reference) -> None:
    """Once writes are under way, every new request is made to take longer than AT_ONCE:
    an apply that only stopped gracefully (finishing what is in flight, then releasing
    its lock) could not be gone in time, so only a real exit at once passes. The second
    Ctrl-C is sent once the first is handled (the apply says 'Interrupted'), so the two
    can never arrive as one."""
    with watched_project(tmp_path, LATENCY_MS) as (emulator, watched, cli):
        proc = cli.start_apply()
        watched.wait_for("a template made", watched.made_a_template, proc)
        watched.stall(STALLED_MS)
        proc.send(signal.SIGINT)
        handled = wait_until(
            lambda: "Interrupted" in proc.stderr() or not proc.alive, INTERRUPT_TIMEOUT, 0.01
        )
        proc.send(signal.SIGINT)
        sent = time.monotonic()
        stopped = proc.wait(INTERRUPT_TIMEOUT)
        waited = time.monotonic() - sent
        watched.lift_latency()  # the stalled requests of the stopped apply are answered now
        expect(
            {
                "the first Ctrl-C was handled, saying 'Interrupted'": handled,
                f"exit code 130 (got {stopped.code})": stopped.code == 130,
                f"gone within {AT_ONCE} s of the second Ctrl-C": waited < AT_ONCE,
            },
            f"stopped {waited:.1f} s after the second Ctrl-C: {stopped.describe()}",
        )
        watched.wait_for("every request of the stopped apply answered", watched.idle)
        assert_converges(emulator, cli, full.counts, "after two Ctrl-C")


@pytest.mark.parametrize("keys_defined", [False, True], ids=["fresh-org", "keys-defined"])
def test_two_applies_at_once_never_duplicate(
    tmp_path: Path, keys_defined: bool, full: Reference
) -> None:
    with watched_project(tmp_path, LATENCY_MS) as (emulator, watched, cli):
        if keys_defined:  # as after an earlier apply: the race is then about the templates
            with emulator.client() as api:
                define_key_fields(api)
        racers = [cli.start_apply(), cli.start_apply()]
        runs = [proc.wait() for proc in racers]
        watched.lift_latency()
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
        assert_converges(emulator, cli, full.counts, "after two applies at once")


def test_a_second_ctrl_c_while_the_plan_is_read_says_the_lock_may_be_left(
    tmp_path: Path, full: Reference
) -> None:
    """The lock is taken and every request stalls: Ctrl-C stops the plan's reads, a second
    ends the process at once, while the lock is let go. It never says "nothing was
    changed" alone: it names the lock tag that may be left, and the next apply removes it."""
    with watched_project(tmp_path, LATENCY_MS) as (emulator, watched, cli):
        proc = cli.start_apply()
        watched.wait_for("the lock taken", watched.took_the_lock, proc)
        watched.stall(STALLED_MS)
        proc.send(signal.SIGINT)
        time.sleep(0.3)
        proc.send(signal.SIGINT)
        stopped = proc.wait(INTERRUPT_TIMEOUT)
        watched.lift_latency()
        expect(
            {
                f"exit code 130 (got {stopped.code})": stopped.code == 130,
                "it says the lock may still be there": "may still be there" in stopped.stderr,
                "it names --break-lock": "--break-lock" in stopped.stderr,
                "no traceback": "Traceback" not in stopped.output,
            },
            stopped.describe(),
        )
        watched.wait_for("every request of the stopped apply answered", watched.idle)
        assert_converges(emulator, cli, full.counts, "after two Ctrl-C while planning")


def test_applies_started_at_once_over_a_killed_applys_lock_never_crash(
    tmp_path: Path, full: Reference
) -> None:
    """An apply killed with its lock held, then three at once on the same machine: each
    removes the lock of the dead apply or is told another apply runs; none crashes."""
    with watched_project(tmp_path, LATENCY_MS) as (emulator, watched, cli):
        proc = cli.start_apply()
        watched.wait_for("a template made", watched.made_a_template, proc)
        proc.kill()
        watched.lift_latency()
        watched.wait_for("every request of the killed apply answered", watched.idle)
        racers = [cli.start_apply() for _ in range(3)]
        runs = [racer.wait() for racer in racers]
        expect(
            {
                f"each exits 0, or 1 saying {ANOTHER_APPLY!r}": all(allowed(r) for r in runs),
                "one of them succeeds": any(r.code == 0 for r in runs),
                "none stopped unexpectedly": not any("unexpectedly" in r.output for r in runs),
            },
            "\n".join(r.describe() for r in runs),
        )
        assert_converges(emulator, cli, full.counts, "after three applies over a dead lock")
