"""Benchmark: `tallyform check` and `tallyform test` over many generated templates.

Generates N templates as :mod:`benchmarks.validate_files` does (about 10 steps and 30 form
fields each), each with two more rules (one testing a number and a step with `match: any`
and showing, assigning and setting a deadline; one testing a form field) and two
scenarios, then times each command through the CLI in a subprocess, start-up and loading
the files included, as a user sees it. Findings and failing scenarios are expected (the
generated rules test random fields): a command may exit 0 or 1, anything else stops the
run. The target: `check` of 1,000 templates in under 5 s.

Prints, for each command, the best of R runs: templates, wall seconds, templates a
second, CPU seconds, and what it found. Run:
.venv/bin/python -m benchmarks.check_files [--count N] [--repeat R] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.validate_files import DEPARTMENTS, PROJECT_YAML, TALLYFORM, template_text

TARGET_SECONDS = 5.0  # check of 1,000 templates

EXTRA = """\
  - name: Escalate large amounts
    match: any
    when: [{field: kickoff-2, is: greater_than, value: 1000}, {step: step-2, is: completed}]
    then:
      - {show: step-6}
      - {assign: step-7, assignees: {groups: [Finance]}}
      - {deadline: step-8, value: 2, unit: days, option: from}
  - name: Notes mean a second look
    when: [{field: step-3-field-1, is: is_not_empty}]
    then: [{assign: step-9, assignees: {users: [alice@example.com]}}]
tests:
  - name: Nothing answered, nothing skipped
    expect:
      shown: [step-1, step-4]
  - name: Step 2 done escalates
    steps:
      - step: step-1
      - step: step-2
    expect:
      shown: [step-6]
      deadlines:
        step-8: {value: 2, unit: days}
"""


def make_project(root: Path, count: int) -> None:
    (root / "templates").mkdir(parents=True)
    (root / "tallyform.yaml").write_text(PROJECT_YAML, "utf-8")
    for number in range(count):
        department = DEPARTMENTS[number % len(DEPARTMENTS)].lower()
        folder = root / "templates" / department
        folder.mkdir(exist_ok=True)
        text = template_text(number) + EXTRA
        (folder / f"process-{number:05d}.yaml").write_text(text, "utf-8")


def timed(root: Path, *args: str) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU seconds of one CLI run, and its JSON output."""
    command = [TALLYFORM, "-C", str(root), *args, "--format", "json"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1) or not done.stdout.startswith("{"):
        shown = "\n".join((done.stdout + done.stderr).splitlines()[:20])
        sys.exit(f"`tallyform {' '.join(args)}` failed ({done.returncode}):\n{shown}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    document: dict[str, Any] = json.loads(done.stdout)
    return seconds, cpu, document


def _found(command: str, document: dict[str, Any]) -> str:
    summary = document["summary"]
    if command == "check":
        problems = len(document["problems"])
        return (
            f"{summary['paths']} paths, {summary['errors']} errors, {summary['warnings']} "
            f"warnings{f', {problems} files not checked' if problems else ''}"
        )
    return f"{summary['passed']} scenarios passed, {summary['failed']} failed"


HEADER = f"{'command':<10} {'templates':>9} {'seconds':>8} {'per s':>7} {'cpu s':>7}  found"


def run(count: int, repeat: int) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="tallyform-bench-") as folder:
        root = Path(folder)
        make_project(root, count)
        for command in ("check", "test"):
            runs = [timed(root, command) for _ in range(repeat)]
            best, cpu, document = min(runs, key=lambda r: r[0])
            found = _found(command, document)
            print(
                f"{command:<10} {count:>9} {best:>8.2f} {count / best:>7.0f} {cpu:>7.2f}  {found}",
                flush=True,
            )
            results.append(
                {
                    "command": command,
                    "templates": count,
                    "seconds": best,
                    "cpu_seconds": cpu,
                    "found": found,
                    "runs": [{"seconds": wall, "cpu_seconds": used} for wall, used, _ in runs],
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="templates (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; best is shown")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"{args.count} templates, {os.cpu_count()} cores (load {load:.1f}), best of {args.repeat}"
    )
    print(HEADER)
    results = run(args.count, args.repeat)
    check = results[0]["seconds"] * 1000 / args.count
    verdict = "met" if check < TARGET_SECONDS else "MISSED"
    print(
        f"check: {check:.2f} s per 1,000 templates (target under {TARGET_SECONDS:.0f} s): {verdict}"
    )
    if args.json:
        report = {
            "templates": args.count,
            "cores": os.cpu_count(),
            "load": load,
            "results": results,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
