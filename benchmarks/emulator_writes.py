"""Benchmark: emulator writes a second as the org grows, in-process and served, with a state file.

For each org size (templates of 10 steps and 30 form fields, with kick-off fields and
tallyform's custom-field values), the org is filled by writing the emulator's state
directly (fast), then the measured writes go through the HTTP API: a template built the
way ``apply`` bootstraps one (create it, set its key, then each step and form field and
their keys: 82 writes), one after another, for ``--rounds`` rounds of at least
``--seconds``; the best round is shown (the machine may be busy with other work).

- ``in-process``: the embedded default, an httpx client on :class:`EmulatorTransport`
  over an emulator keeping its state in a file;
- ``served``: ``tallyform emulator serve --state FILE`` in its own process, over a
  kept-alive loopback connection.

``load`` is the time to open the emulator on the filled state file (what each CLI
command on the embedded org pays once). Run:
``.venv/bin/python -m benchmarks.emulator_writes [--sizes 0,100,1000] [--json FILE]``
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport
from tallyform.emulator.store import StateFile

HEADERS = {"X-Tallyfy-Client": "APIClient", "Authorization": f"Bearer {DEFAULT_TOKEN}"}
STEPS = 10
FIELDS_PER_STEP = 3
KEY = "tallyform_key"
KINDS = ("checklist", "step", "capture", "prerun")
FIELD_TYPES = ("text", "textarea", "dropdown", "date", "multiselect", "radio")


def _field(index: int) -> dict[str, Any]:
    kind = FIELD_TYPES[index % len(FIELD_TYPES)]
    body: dict[str, Any] = {
        "label": f"Field {index}",
        "field_type": kind,
        "required": index % 2 == 0,
        "guidance": f"What to enter in field {index}, in a sentence or two.",
        "position": index + 1,
    }
    if kind in ("dropdown", "multiselect", "radio"):
        body["options"] = [{"id": n, "text": f"Option {n}", "value": None} for n in range(1, 5)]
    return body


def _keys(api: httpx.Client) -> None:
    """Define the custom-field keys tallyform sets on every object (once per org)."""
    rows = api.get("/custom-field-keys").json()["data"]
    have = {(k["key"], k["applies_to"]) for k in rows}
    for kind in KINDS:
        if (KEY, kind) not in have:
            body = {"key": KEY, "applies_to": kind, "field_type": "text"}
            _ok(api.post("/custom-field-keys", json=body))


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    found: dict[str, Any] = response.json()["data"]
    return found


def write_template(api: httpx.Client, number: int) -> Iterator[None]:
    """The writes of one template's bootstrap; yields after each write."""
    key = {"custom_fields": {KEY: f"template-{number}"}}
    template = _ok(
        api.post(
            "/checklists",
            json={
                "title": f"Template {number}",
                "type": "procedure",
                "summary": "A benchmark template with ten steps and thirty form fields.",
                "prerun": [
                    {"label": "Requester", "field_type": "text", "required": True},
                    {"label": "Due", "field_type": "date", "required": False},
                ],
            },
        )
    )
    yield
    base = f"/checklists/{template['id']}"
    _ok(api.put(f"{base}/custom-fields", json=key))
    yield
    for s in range(STEPS):
        step = _ok(
            api.post(
                f"{base}/steps",
                json={
                    "checklist_id": template["id"],
                    "title": f"Step {s}",
                    "summary": "Do the work of this step, then complete it.",
                    "assignees": [1 + s % 4],
                    "deadline": {"value": 2, "unit": "days", "option": "from", "step": "start_run"},
                },
            )
        )
        yield
        step_url = f"{base}/steps/{step['id']}"
        _ok(api.put(f"{step_url}/custom-fields", json={"custom_fields": {KEY: f"step-{s}"}}))
        yield
        for f in range(FIELDS_PER_STEP):
            capture = _ok(api.post(f"{step_url}/captures", json=_field(f)))
            yield
            _ok(
                api.put(
                    f"{step_url}/captures/{capture['id']}/custom-fields",
                    json={"custom_fields": {KEY: f"field-{s}-{f}"}},
                )
            )
            yield


def _renamed(template: dict[str, Any], number: int) -> dict[str, Any]:
    """A copy of ``template`` with fresh ids, as if created on its own."""
    out = copy.deepcopy(template)
    out["id"] = uuid.uuid4().hex
    out["title"] = f"Template {number}"
    out["alias"] = f"template-{number}-{out['id'][:6]}"
    out["increment_id"] = number
    out["custom_fields"] = {KEY: f"template-{number}"}
    for entry in out["prerun"]:
        entry["id"] = uuid.uuid4().hex
        entry["checklist_id"] = out["id"]
    for step in out["steps"]:
        step["id"] = uuid.uuid4().hex
        step["checklist_id"] = out["id"]
        for capture in step["captures"]:
            capture["id"] = uuid.uuid4().hex
            capture["step_id"] = step["id"]
    return out


def build_state(templates: int) -> dict[str, Any]:
    """An org's state with ``templates`` bootstrapped templates, made fast: one through
    the API, the rest copied from it."""
    emulator = Emulator()
    with _in_process(emulator) as api:
        _keys(api)
        for _ in write_template(api, 0):
            pass
    state = emulator.state
    [seed] = state["checklists"].values()
    state["checklists"] = {}
    for number in range(1, templates + 1):
        copied = _renamed(seed, number)
        state["checklists"][copied["id"]] = copied
    state["counters"]["increment_id"] = templates
    return state


@contextmanager
def _in_process(emulator: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=EmulatorTransport(emulator),
        base_url=f"{IN_PROCESS_URL}/organizations/{emulator.org_id}",
        headers=HEADERS,
    ) as api:
        yield api


@contextmanager
def _served(state_file: Path, org: str) -> Iterator[httpx.Client]:
    argv = [
        sys.executable,
        "-c",
        "from tallyform.cli import main; main()",
        "emulator",
        "serve",
        "--port",
        "0",
        "--state",
        str(state_file),
        "--rate-limit",
        "0",
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "listening on " not in line:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        url = line.split("listening on ", 1)[1].strip()
        with httpx.Client(base_url=f"{url}/organizations/{org}", headers=HEADERS) as api:
            yield api
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def measure(api: httpx.Client, seconds: float, min_writes: int, rounds: int) -> list[float]:
    """Writes a second through ``api``, building whole templates, in ``rounds`` rounds of
    at least ``seconds`` each (the best is the least disturbed by other work)."""
    _keys(api)
    templates = write_templates(api)
    rates = []
    for _ in range(rounds):
        writes = 0
        started = time.perf_counter()
        while True:
            next(templates)
            writes += 1
            elapsed = time.perf_counter() - started
            if elapsed >= seconds and writes >= min_writes:
                rates.append(writes / elapsed)
                break
    return rates


def write_templates(api: httpx.Client) -> Iterator[None]:
    """Bootstrap one template after another; yields after each write."""
    number = 1_000_000
    while True:
        number += 1
        yield from write_template(api, number)


HEADER = "templates  state MB   load s  in-process/s    served/s"


def run(sizes: list[int], seconds: float, min_writes: int, rounds: int) -> list[dict[str, Any]]:
    """Each size's writes a second, in-process and served; prints a row for each."""
    rows = []
    for size in sizes:
        state = build_state(size)
        with tempfile.TemporaryDirectory(prefix="tallyform-bench-") as folder:
            path = Path(folder) / "org.json"
            StateFile(path).save(state)
            size_mb = path.stat().st_size / 1e6
            started = time.perf_counter()
            emulator = Emulator(state_file=path)
            load = time.perf_counter() - started
            with _in_process(emulator) as api:
                in_process = measure(api, seconds, min_writes, rounds)
            del emulator
            StateFile(path).save(state)
            with _served(path, state["org"]["id"]) as api:
                served = measure(api, seconds, min_writes, rounds)
        row = {
            "templates": size,
            "state_mb": round(size_mb, 1),
            "load_s": round(load, 3),
            "in_process_writes_per_s": round(max(in_process), 1),
            "served_writes_per_s": round(max(served), 1),
            "in_process_rounds": [round(r, 1) for r in in_process],
            "served_rounds": [round(r, 1) for r in served],
        }
        print(
            f"{size:>9}  {size_mb:8.1f}  {load:7.3f}  {max(in_process):12.1f}  {max(served):10.1f}",
            flush=True,
        )
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="0,100,1000", help="org sizes, in templates")
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per round")
    parser.add_argument("--min-writes", type=int, default=20, help="fewest writes per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case; the best is shown")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(HEADER)
    rows = run(sizes, args.seconds, args.min_writes, args.rounds)
    if args.json:
        document = {"rounds": args.rounds, "seconds_per_round": args.seconds, "results": rows}
        args.json.write_text(json.dumps(document, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
