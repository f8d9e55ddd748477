"""Benchmark: bootstrap examples/ into an emulated org with latency, then plan again.

Reports, for each phase, the requests made and the time taken against two floors: the
latency floor (requests x latency / parallelism) and the rate-limit floor (requests at
Tallyfy's 600 a minute). Run: .venv/bin/python -m benchmarks.plan_apply [--latency-ms N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tallyform.client import StaticToken, TallyfyClient
from tallyform.config import find_config, load_project, load_templates
from tallyform.emulator import (
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorTransport,
    FaultSettings,
)
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
RATE_PER_SECOND = 600 / 60


def report(phase: str, requests: int, seconds: float, latency: float, parallelism: int) -> None:
    latency_floor = requests * latency / parallelism
    rate_floor = requests / RATE_PER_SECOND
    print(
        f"{phase:<10} {requests:>5} requests  {seconds:6.2f} s   "
        f"latency floor {latency_floor:5.2f} s   rate-limit floor {rate_floor:5.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallelism", type=int, default=8)
    args = parser.parse_args()
    project, _ = load_project(find_config(EXAMPLES))
    assert project is not None
    templates, problems = load_templates(project)
    assert not problems
    emulator = Emulator(faults=FaultSettings(latency_ms=args.latency_ms))
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=EmulatorTransport(emulator),
        credentials=StaticToken(DEFAULT_TOKEN, "benchmark"),
    )
    latency = args.latency_ms / 1000
    for phase in ("bootstrap", "replan"):
        before, started = client.stats.requests, time.perf_counter()
        result = make_plan(client, "bench", templates, workers=args.parallelism)
        assert result.plan is not None and result.org is not None
        if not result.plan.empty:
            apply_plan(client, result.plan, workers=args.parallelism)
        report(
            phase,
            client.stats.requests - before,
            time.perf_counter() - started,
            latency,
            args.parallelism,
        )
    print(
        f"writes {client.stats.writes}, retries {client.stats.retries}, 429s {client.stats.rate_limited}"
    )


if __name__ == "__main__":
    main()
