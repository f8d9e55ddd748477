"""Benchmark: `tallyform validate` and `tallyform fmt --check` over many template files.

Generates N realistic template files (about 10 steps and 30 form fields each, in the
style of examples/templates, already in canonical form) in a temporary project, then
times each command through the CLI in a subprocess, so interpreter start-up and imports
are counted as a user sees them. Each command must succeed (every file valid and
canonical); the run stops with the command's output otherwise.

Prints, for each command, the best of R runs: files, wall seconds, files a second, and
the CPU seconds of that run. Run:
.venv/bin/python -m benchmarks.validate_files [--count N] [--repeat R] [--json FILE]
    [--command validate|fmt]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PROJECT_YAML = """\
version: 1
templates: templates
default_org: local
orgs:
  local:
    emulator: .tallyform/local-org.json
"""

DEPARTMENTS = ["Finance", "HR", "IT", "Legal", "Marketing", "Operations", "Sales", "Support"]
PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
VERBS = ["Review", "Approve", "Collect", "Prepare", "Check", "Confirm", "Send", "Record"]
NOUNS = [
    "the contract",
    "the budget",
    "vendor details",
    "the security questionnaire",
    "access rights",
    "the invoice",
    "references",
    "the launch plan",
    "equipment",
    "the welcome pack",
    "the risk assessment",
    "tax forms",
]
LABELS = [
    "Vendor name",
    "Amount (USD)",
    "Cost centre",
    "Start date",
    "Contact email",
    "Notes for the reviewer",
    "Reference number",
    "Country",
    "Priority",
    "Signed copy",
    "Accounts created",
    "Who approves?",
    "Delivery address",
    "Justification",
]
OPTIONS = [
    ["Hardware", "Software", "Services"],
    ["Low", "Medium", "High", "Critical"],
    ["'Yes'", "'No'"],  # quoted, as fmt writes them
    ["EMEA", "Americas", "APAC"],
    ["MacBook Pro 14", "MacBook Air 13", "ThinkPad X1"],
    ["Monitor", "Keyboard", "Mouse", "Headset", "Docking station"],
]
SUMMARIES = [
    "Describe what you need and why.",
    "Check every item against the policy before you approve it.",
    "Upload the signed copy and note anything unusual.",
    "Where to go on day one, who to ask for, and what to bring.",
    "Email, chat, HR system and the tools the department uses.",
]


def _field(rnd: random.Random, key: str, indent: str) -> list[str]:
    kind = rnd.choice(
        ["text", "text", "textarea", "dropdown", "radio", "multiselect", "date", "email"]
        + ["file", "table", "assignees_form"]
    )
    lines = [
        f"{indent}- key: {key}",
        f"{indent}  label: {rnd.choice(LABELS)}",
        f"{indent}  type: {kind}",
    ]
    if rnd.random() < 0.5:
        lines.append(f"{indent}  required: true")
    if rnd.random() < 0.2:
        lines.append(f"{indent}  guidance: {rnd.choice(SUMMARIES)}")
    if kind in ("dropdown", "radio", "multiselect"):
        lines.append(f"{indent}  options: [{', '.join(rnd.choice(OPTIONS))}]")
    elif kind == "table":
        lines.append(f"{indent}  columns: [System, Username, Created on]")
    elif kind == "textarea" and rnd.random() < 0.5:
        lines.append(f"{indent}  use_wysiwyg_editor: true")
    elif kind == "text" and rnd.random() < 0.3:
        lines.append(f"{indent}  validation: [numeric]")
        lines.append(f"{indent}  prefix: $")
    return lines


def _first_option(field_lines: list[str]) -> str | None:
    """A choice field's first option as written (a rule must compare it with an option)."""
    for line in field_lines:
        if line.lstrip().startswith("options: ["):
            return line.split("[", 1)[1].split(", ")[0].rstrip("]")
    return None


def template_text(number: int, steps: int = 10, fields: int = 30) -> str:
    """One realistic template in canonical form, the same for the same ``number``."""
    rnd = random.Random(number)
    department = rnd.choice(DEPARTMENTS)
    key = f"{department.lower()}-process-{number:05d}"
    lines = [
        "# yaml-language-server: $schema=../schemas/template.schema.json",
        f"key: {key}",
        f"title: {department} process {number}",
        "type: procedure",
        f"summary: {rnd.choice(SUMMARIES)}",
        f"access: {{groups: [{department}]}}",
        "kickoff:",
    ]
    kickoff = 4
    field_keys: list[str] = []
    compared = "Low"  # what the first rule compares the first kick-off field with
    for index in range(kickoff):
        field_keys.append(f"kickoff-{index + 1}")
        written = _field(rnd, field_keys[-1], "  ")
        if index == 0:
            compared = _first_option(written) or compared
        lines += written
    lines.append("steps:")
    per_step = [(fields - kickoff) // steps] * steps
    for index in range((fields - kickoff) % steps):
        per_step[index] += 1
    step_keys = [f"step-{index + 1}" for index in range(steps)]
    for index, step in enumerate(step_keys):
        lines += [
            f"  - key: {step}",
            f"    title: {rnd.choice(VERBS)} {rnd.choice(NOUNS)}",
        ]
        if index % 4 == 3:
            lines.append("    type: approval")
        if rnd.random() < 0.6:
            lines.append(f"    summary: {rnd.choice(SUMMARIES)}")
        person = rnd.choice(PEOPLE)
        lines.append(
            f"    assignees: {{users: [{person}@example.com], groups: [{rnd.choice(DEPARTMENTS)}]}}"
        )
        if index and rnd.random() < 0.5:
            lines.append(
                f"    deadline: {{value: {rnd.randint(1, 10)}, unit: days, step: {step_keys[index - 1]}}}"
            )
        else:
            lines.append(f"    deadline: {{value: {rnd.randint(1, 48)}, unit: hours}}")
        if per_step[index]:
            lines.append("    fields:")
            for count in range(per_step[index]):
                field_keys.append(f"{step}-field-{count + 1}")
                lines += _field(rnd, field_keys[-1], "      ")
    lines += [
        f"tags: [{department.lower()}, benchmark]",
        f"folder: {department}/Processes",
        "rules:",
        "  - name: Skip the approval for small amounts",
        f"    when: [{{field: {field_keys[0]}, is: equals, value: {compared}}}]",
        f"    then: [{{hide: {step_keys[3]}}}]",
        "  - name: Reopen the first step when the approval is rejected",
        "    match: any",
        f"    when: [{{step: {step_keys[3]}, is: reopened}}]",
        f"    then: [{{reopen: {step_keys[0]}}}]",
    ]
    return "\n".join(lines) + "\n"


def make_project(root: Path, count: int) -> None:
    (root / "templates").mkdir(parents=True)
    (root / "tallyform.yaml").write_text(PROJECT_YAML, "utf-8")
    for number in range(count):
        department = DEPARTMENTS[number % len(DEPARTMENTS)].lower()
        folder = root / "templates" / department
        folder.mkdir(exist_ok=True)
        (folder / f"process-{number:05d}.yaml").write_text(template_text(number), "utf-8")


# The console script a user runs, beside this interpreter (as in .venv/bin).
TALLYFORM = str(Path(sys.executable).with_name("tallyform"))


def timed(root: Path, *args: str) -> tuple[float, float]:
    """Wall and CPU seconds of one CLI run, start-up included; stops the benchmark if it fails.

    CPU seconds (user and system, the command and any processes it starts) tell more than
    wall seconds on a machine that others share.
    """
    command = [TALLYFORM, "-C", str(root), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        shown = "\n".join((done.stdout + done.stderr).splitlines()[:20])
        sys.exit(f"`tallyform {' '.join(args)}` failed ({done.returncode}):\n{shown}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu


HEADER = f"{'command':<16} {'files':>6} {'seconds':>8} {'files/s':>9} {'cpu s':>7}"


def run(count: int, repeat: int, chosen: list[str]) -> list[dict[str, Any]]:
    """Time each chosen command (``validate``, ``fmt``) over ``count`` generated files;
    prints a row for each, the best of ``repeat`` runs."""
    results = []
    with tempfile.TemporaryDirectory(prefix="tallyform-bench-") as folder:
        root = Path(folder)
        make_project(root, count)
        for command in (["validate"], ["fmt", "--check"]):
            if command[0] not in chosen:
                continue
            runs = [timed(root, *command) for _ in range(repeat)]
            best, cpu = min(runs)
            name = " ".join(command)
            print(
                f"{name:<16} {count:>6} {best:>8.2f} {count / best:>9.0f} {cpu:>7.2f}", flush=True
            )
            results.append(
                {
                    "command": name,
                    "files": count,
                    "seconds": best,
                    "files_per_second": count / best,
                    "cpu_seconds": cpu,
                    "runs": [{"seconds": wall, "cpu_seconds": used} for wall, used in runs],
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="template files (default 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; best is shown")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--command",
        action="append",
        choices=["validate", "fmt"],
        help="time only this command (repeat for both; default: both)",
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"{args.count} files, {os.cpu_count()} cores (load {load:.1f}), best of {args.repeat} runs"
    )
    print(HEADER)
    results = run(args.count, args.repeat, args.command or ["validate", "fmt"])
    if args.json:
        report = {"files": args.count, "cores": os.cpu_count(), "load": load, "results": results}
        args.json.write_text(json.dumps(report, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
