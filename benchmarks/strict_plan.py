"""Benchmark: what a plan costs under the pessimistic reading of Tallyfy's API.

Generates N ten-step templates, bootstraps them into an in-process emulated org whose
every pessimistic answer is on (``Quirks.strict()``: nested objects without custom fields,
lists without includes, a list refusing ``with=tags`` ...), then plans again and counts
the requests. Issue 18's target: at most about 1,100 for 1,000 templates (one read of
each template, not one per step). Run: .venv/bin/python -m benchmarks.strict_plan [--count N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.generate import write_project
from tallyform.client import StaticToken, TallyfyClient
from tallyform.config import find_config, load_project, load_templates
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport, Quirks
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.model import Template


def templates_of(root: Path) -> list[Template]:
    project, problems = load_project(find_config(root))
    assert project is not None, problems
    templates, problems = load_templates(project)
    assert not problems, problems
    return templates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000, help="templates (default 1000)")
    count = parser.parse_args(argv).count
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_project(root, count)
        templates = templates_of(root)
        emulator = Emulator(quirks=Quirks.strict(), keep_requests=0)
        with TallyfyClient(
            org_id=emulator.org_id,
            base_url=IN_PROCESS_URL,
            transport=EmulatorTransport(emulator),
            credentials=StaticToken(DEFAULT_TOKEN, "bench"),
        ) as client:
            started = time.monotonic()
            result = make_plan(client, "bench", templates)
            assert result.plan is not None and result.org is not None
            report = apply_plan(client, result.plan)
            assert not report.failed, [o.error for o in report.failed]
            print(
                f"bootstrap of {count} templates under strict: {time.monotonic() - started:.1f} s"
            )
            before, started = client.stats.requests, time.monotonic()
            again = make_plan(client, "bench", templates)
            assert again.plan is not None and again.plan.empty
            requests = client.stats.requests - before
            target = count + 100  # one read of each template, and the org's lists
            print(
                f"plan under strict: {requests} requests ({requests / count:.2f} a template), "
                f"{time.monotonic() - started:.1f} s in process; target at most about "
                f"{target}: {'met' if requests <= target else 'MISSED'}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
