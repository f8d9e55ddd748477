"""A long apply says how far it is: changes done and left, the rate-limit wait and the
time left, as one updating line on a terminal and a line every few seconds in CI."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.generate import template
from tallyform.cli.progress import CLEAR, Counter, duration
from tests.conftest import PROJECT_YAML, run_cli


class Stats:
    waited = 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_in_ci_a_counter_line_every_few_seconds() -> None:
    out, clock, stats = io.StringIO(), Clock(), Stats()
    counter = Counter(10, stats, out, terminal=False, every=5.0, clock=clock)
    for number in range(1, 10):
        clock.now += 1.0
        if number == 6:
            stats.waited = 2.25
        counter.change(f"  + step t/s{number} created")
    counter.finish()
    assert out.getvalue() == (
        "  + step t/s1 created\n"
        "  + step t/s2 created\n"
        "  + step t/s3 created\n"
        "  + step t/s4 created\n"
        "  + step t/s5 created\n"
        "Progress: 5 of 10 changes done, 5 left, about 5 s left.\n"
        "  + step t/s6 created\n"
        "  + step t/s7 created\n"
        "  + step t/s8 created\n"
        "  + step t/s9 created\n"
    ), "the next line is due at 10 s, after the last change"


def test_in_ci_the_line_names_the_rate_limit_wait() -> None:
    out, clock, stats = io.StringIO(), Clock(), Stats()
    stats.waited = 42.0
    counter = Counter(1000, stats, out, terminal=False, every=5.0, clock=clock)
    for _ in range(100):
        clock.now += 0.06
        counter.change("  ~ step t/s updated in place")
    assert out.getvalue().count("Progress:") == 1
    assert (
        "Progress: 84 of 1000 changes done, 916 left, 42.0 s waiting for the rate limit, "
        "about 55 s left.\n"
    ) in out.getvalue()


def test_on_a_terminal_one_status_line_is_redrawn_under_the_changes() -> None:
    out, clock, stats = io.StringIO(), Clock(), Stats()
    counter = Counter(3, stats, out, terminal=True, clock=clock)
    for number in (1, 2, 3):
        clock.now += 0.5
        counter.change(f"  + step t/s{number} created")
    counter.finish()
    assert out.getvalue() == (
        "  + step t/s1 created\n"
        "  1 of 3 changes done, 2 left"
        f"{CLEAR}  + step t/s2 created\n"
        "  2 of 3 changes done, 1 left"
        f"{CLEAR}  + step t/s3 created\n"
        "  3 of 3 changes done, 0 left"
        f"{CLEAR}"
    )


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.2, "1 s"), (40.4, "40 s"), (61, "1 min"), (170, "3 min"), (3900, "1 h 5 min")],
)
def test_durations_are_rough(seconds: float, said: str) -> None:
    assert duration(seconds) == said


def _small(n: int) -> dict[str, Any]:
    """Generated template ``n`` cut down to two steps without fields or rules: a quick apply."""
    data = template(n)
    data["steps"] = [{k: v for k, v in s.items() if k != "fields"} for s in data["steps"][:2]]
    for name in ("rules", "kickoff"):
        del data[name]
    return data


def test_a_200_template_apply_shows_a_counter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tallyform.yaml").write_text(PROJECT_YAML)
    for n in range(1, 201):
        path = tmp_path / "templates" / f"process-{n:04d}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(_small(n), sort_keys=False))
    monkeypatch.setenv("TALLYFORM_PROGRESS_EVERY", "0.2")
    result = run_cli("--no-color", "-C", str(tmp_path), "apply", "--yes")
    assert result.exit_code == 0, result.output[-2000:]
    counted = re.findall(r"^Progress: (\d+) of (\d+) changes done, (\d+) left", result.stderr, re.M)
    assert counted, result.stderr[-2000:]
    totals = {int(total) for _, total, _ in counted}
    assert len(totals) == 1
    [total] = totals
    assert total > 200 * 3, "each template, its two steps and its tags"
    assert all(int(done) + int(left) == total for done, _, left in counted)
    assert [int(done) for done, _, _ in counted] == sorted(int(d) for d, _, _ in counted)
