"""tallyform at 10, 100 and 1,000 templates against a served emulator with latency.

For each size, generated templates (:mod:`benchmarks.generate`: ten steps, thirty form
fields, four kick-off fields, three rules, two tags and a nested folder each) are
written to a temporary git repository and loaded as the CLI loads them. Each case then
does what a command does, through the functions the CLI uses, against the emulator
served over loopback HTTP in a process of its own (:mod:`benchmarks.serve`) with
``--latency-ms`` added to every request:

- ``bootstrap``: ``apply --yes`` into an empty org (check the credentials, take the
  org's lock, plan, apply, release), at parallelism 1 (sizes up to
  ``--sequential-max``: through 50 ms a 1,000-template bootstrap one request at a time
  takes over an hour) and at the default parallelism;
- ``re-plan``: ``plan`` of the filled org, which must show no changes, at both;
- ``one-change apply``: ``apply --yes`` after one step title is edited;
- ``changed-since``: ``plan --changed-since HEAD`` after two template files are edited;
- with the rate limit on (``--rate-limit``, Tallyfy's 600 a minute, in the emulator and
  in tallyform's own pacing): a bootstrap of ``--rate-limited-size`` templates, and the
  re-plan of the largest org.

Then, unless ``--plans-only``: the emulator's writes a second with a state file, in
process and served, at 0, 100 and 1,000 templates (:mod:`benchmarks.emulator_writes`),
and ``validate`` and ``fmt --check`` of as many generated files as the largest org has
templates (:mod:`benchmarks.validate_files`).

Each case reports requests (every attempt the client made, 429s included), writes,
429s, wall time (from connecting to the answer; loading the files and asking git are
not counted) and the floor: the larger of requests x latency / parallelism and the
requests at the rate limit (what Tallyfy's 600 a minute would impose, whether or not the
emulator's limit is on). Run: ``scripts/bench`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import emulator_writes, generate, validate_files
from tallyform.cli.app import GC_THRESHOLDS
from tallyform.cli.connect import open_client
from tallyform.client import StaticToken, TallyfyClient
from tallyform.config import (
    OrgSettings,
    Project,
    find_config,
    load_project,
    load_template_file,
    load_templates,
)
from tallyform.config.changed import changed_templates
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport
from tallyform.engine import make_plan
from tallyform.engine.apply import apply_plan
from tallyform.engine.locking import org_lock
from tallyform.engine.planner import ChangedScope, PlanResult
from tallyform.model import Template
from tallyform.parallel import DEFAULT_WORKERS

ROOT = Path(__file__).resolve().parent.parent
TALLYFY_PER_MINUTE = 600
CHANGED_SINCE_TARGET = 15  # requests, issue 14
PLAN_TARGET = 1.2  # x floor, issue 14
EMULATOR_TARGETS = (2000, 500)  # writes a second in-process and served, issue 14
FILES_TARGET = 2.0  # seconds to validate (or fmt --check) 1,000 files, issue 14


# -- the served emulator ---------------------------------------------------------------


class Served:
    """``python -m benchmarks.serve`` in a child process, and what it has answered."""

    def __init__(self, latency_ms: float, rate_limit: int = 0, load: Path | None = None) -> None:
        command = [sys.executable, "-m", "benchmarks.serve", "--latency-ms", str(latency_ms)]
        command += ["--rate-limit", str(rate_limit)]
        if load is not None:
            command += ["--load", str(load)]
        self.rate_limit = rate_limit
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.url = self._line()

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the served emulator did not start")
        return line.strip()

    def _ask(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._line()

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(self._ask("stats"))
        return answer

    def dump(self, path: Path) -> None:
        if self._ask(f"dump {path}") != "ok":
            raise RuntimeError("the served emulator could not save its org")

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


@contextmanager
def served(latency_ms: float, rate_limit: int = 0, load: Path | None = None) -> Iterator[Served]:
    server = Served(latency_ms, rate_limit, load)
    try:
        yield server
    finally:
        server.stop()


# -- one project of generated templates -------------------------------------------------


@dataclass
class Repo:
    root: Path
    project: Project
    templates: list[Template]
    load_seconds: float

    @classmethod
    def generate(cls, root: Path, count: int) -> Repo:
        generate.write_project(root, count)
        return cls.load(root)

    @classmethod
    def load(cls, root: Path) -> Repo:
        started = time.perf_counter()
        project, problems = load_project(find_config(root))
        assert project is not None and not problems, problems
        templates, problems = load_templates(project, project.org(generate.ORG_NAME))
        assert not problems, problems[:3]
        return cls(root, project, templates, time.perf_counter() - started)

    def edit(self, *numbers: int) -> Repo:
        """The repository once the first step title of each template ``numbers`` is edited
        (only those files are read again)."""
        org = self.project.org(generate.ORG_NAME)
        templates = list(self.templates)
        for n in numbers:
            path = generate.edit_title(self.root, n, " (revised)")
            template, problems = load_template_file(path, [org])
            assert template is not None, problems[:3]
            index = next(i for i, t in enumerate(templates) if t.key == template.key)
            templates[index] = template
        return dataclasses.replace(self, templates=templates)

    def org(self, url: str, per_minute: int | None) -> OrgSettings:
        """The project's org, at ``url``, pacing itself at ``per_minute`` (None: not at all)."""
        return dataclasses.replace(
            self.project.org(generate.ORG_NAME), api_url=url, requests_per_minute=per_minute
        )


# -- what the commands do -----------------------------------------------------------------


def connect(org: OrgSettings) -> TallyfyClient:
    """A client as the CLI opens one, its credentials checked (GET /me)."""
    client = open_client(org, env={generate.TOKEN_ENV: DEFAULT_TOKEN})
    client.check_credentials()
    return client


def plan(
    client: TallyfyClient,
    org: OrgSettings,
    repo: Repo,
    changed: ChangedScope | None = None,
    workers: int = DEFAULT_WORKERS,
) -> PlanResult:
    """``plan --parallelism WORKERS``."""
    result = make_plan(
        client, org.name, repo.templates, None, org.applies_to, changed, workers=workers
    )
    assert result.plan is not None and not result.plan.conflicts, result.problems[:3]
    return result


def apply(
    client: TallyfyClient, org: OrgSettings, repo: Repo, workers: int = DEFAULT_WORKERS
) -> PlanResult:
    """``apply --yes --parallelism WORKERS``: under the org's lock, plan, then carry out
    the plan."""
    with org_lock(client, org, repo.root, 0.0, False):
        result = plan(client, org, repo, None, workers)
        assert result.plan is not None and result.org is not None
        if not result.plan.empty:
            report = apply_plan(client, result.plan, workers=workers)
            assert not report.not_done, [o.error for o in report.failed][:3]
    return result


def creates(result: PlanResult) -> int:
    assert result.plan is not None
    return sum(1 for c in result.plan.changes if c.action == "create")


def updates(result: PlanResult) -> int:
    assert result.plan is not None
    return sum(1 for c in result.plan.changes if c.action != "create")


# -- measuring ----------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    templates: int
    parallelism: int
    rate_limited: bool
    requests: int = 0
    writes: int = 0
    retries: int = 0
    rate_limited_429s: int = 0
    waited: float = 0.0
    seconds: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    server_requests: int = 0
    changes: int = 0
    objects_created: int | None = None
    latency_floor: float = 0.0
    rate_floor: float = 0.0
    note: str = ""

    @property
    def floor(self) -> float:
        """What the run allows at best against Tallyfy: the larger of the latency spread
        over the workers and the requests at the rate limit (issue 14's floor). With the
        emulator's limit off the requests are not held to it, but Tallyfy would hold them."""
        return max(self.latency_floor, self.rate_floor)

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor if self.floor > 0 else None

    @property
    def writes_per_object(self) -> float | None:
        return self.writes / self.objects_created if self.objects_created else None

    def as_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(floor=self.floor, ratio=self.ratio, writes_per_object=self.writes_per_object)
        return data


@dataclass
class Settings:
    latency_ms: float
    parallelism: int
    rate_limit: int
    cases: list[Case] = field(default_factory=list)

    def per_minute(self, rate_limited: bool) -> int | None:
        return self.rate_limit if rate_limited else None


def measure(
    settings: Settings,
    server: Served,
    repo: Repo,
    name: str,
    parallelism: int,
    work: Callable[[TallyfyClient, OrgSettings, int], PlanResult],
    check: Callable[[PlanResult], str] = lambda result: "",
) -> Case:
    """Run ``work`` with a new client (as a new command would) and note what it cost."""
    rate_limited = server.rate_limit > 0
    org = repo.org(server.url, settings.per_minute(rate_limited))
    before = server.stats()
    cpu, started = time.process_time(), time.perf_counter()
    with connect(org) as client:
        result = work(client, org, parallelism)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        stats = client.stats
    after = server.stats()
    case = Case(
        name,
        len(repo.templates),
        parallelism,
        rate_limited,
        requests=stats.requests,
        writes=stats.writes,
        retries=stats.retries,
        rate_limited_429s=stats.rate_limited,
        waited=round(stats.waited, 3),
        seconds=round(seconds, 3),
        client_cpu=round(cpu, 3),
        server_cpu=round(after["cpu"] - before["cpu"], 3),
        server_requests=after["requests"] - before["requests"],
        changes=len(result.plan.changes) if result.plan else 0,
        latency_floor=round(stats.requests * settings.latency_ms / 1000 / parallelism, 3),
        rate_floor=round(stats.requests * 60 / (settings.rate_limit or TALLYFY_PER_MINUTE), 3),
    )
    case.note = check(result)
    if name.startswith("bootstrap"):
        case.objects_created = creates(result)
    settings.cases.append(case)
    print(row(case), flush=True)
    return case


def empty_plan(result: PlanResult) -> str:
    assert result.plan is not None and result.plan.empty, "a re-plan must show no changes"
    return "no changes"


def one_update(result: PlanResult) -> str:
    assert result.plan is not None and updates(result) == 1 and creates(result) == 0
    return "1 step updated"


def two_updates(result: PlanResult) -> str:
    assert result.plan is not None and result.plan.partial
    assert updates(result) == 2 and creates(result) == 0, result.plan.changes
    return "2 templates planned"


def bootstrapped(result: PlanResult) -> str:
    assert result.plan is not None and updates(result) == 0
    return f"{creates(result)} objects created"


# -- the cases, size by size ----------------------------------------------------------------


def fill_in_process(repo: Repo, state: Path) -> None:
    """Bootstrap ``repo`` into an emulator in this process, without latency; save its org."""
    emulator = Emulator()
    client = TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=EmulatorTransport(emulator),
        credentials=StaticToken(DEFAULT_TOKEN, "the benchmark"),
    )
    with client:
        org = repo.org(IN_PROCESS_URL, None)
        apply(client, org, repo)
    state.write_text(json.dumps(emulator.state), "utf-8")


def size_cases(
    settings: Settings, repo: Repo, work: Path, sequential_max: int, fill: bool
) -> tuple[Repo, Path]:
    """Every case of one size; returns the repository as the org now matches it, and the
    file where that org was saved."""
    count, latency, default = len(repo.templates), settings.latency_ms, settings.parallelism
    print(f"-- {count} templates ({repo.load_seconds:.1f} s to load the files, not counted)")

    def bootstrap(client: TallyfyClient, org: OrgSettings, workers: int) -> PlanResult:
        return apply(client, org, repo, workers)

    if count <= sequential_max:
        with served(latency) as server:
            measure(settings, server, repo, "bootstrap", 1, bootstrap, bootstrapped)
    state = work / f"org-{count}.json"
    load: Path | None = None
    if count > sequential_max and fill:
        fill_in_process(repo, state)
        load = state
        print(f"   (the org of {count} templates was filled in-process, without latency)")
    with served(latency, load=load) as server:
        if load is None:
            measure(settings, server, repo, "bootstrap", default, bootstrap, bootstrapped)
        for parallelism in (1, default):
            measure(settings, server, repo, "re-plan", parallelism, replan(repo), empty_plan)
        one = repo.edit(1)

        def one_change(client: TallyfyClient, org: OrgSettings, workers: int) -> PlanResult:
            return apply(client, org, one, workers)

        measure(settings, server, one, "one-change apply", default, one_change, one_update)
        generate.git(repo.root, "commit", "--quiet", "--all", "-m", "one change")
        two = one.edit(count - 1, count)  # the last two
        found = changed_templates(two.project, "HEAD", two.org(server.url, None))
        assert not found.everything and len(found.titles) == 2, found
        scope = ChangedScope("HEAD", found.titles)

        def changed_since(client: TallyfyClient, org: OrgSettings, workers: int) -> PlanResult:
            return plan(client, org, two, scope, workers)

        measure(settings, server, two, "changed-since", default, changed_since, two_updates)
        generate.git(repo.root, "checkout", "--quiet", "--", ".")
        server.dump(state)
    return one, state


def replan(repo: Repo) -> Callable[[TallyfyClient, OrgSettings, int], PlanResult]:
    return lambda client, org, workers: plan(client, org, repo, None, workers)


def rate_limited_cases(
    settings: Settings, work: Path, bootstrap_size: int, largest: tuple[Repo, Path] | None
) -> None:
    """Bootstrap a small org, and re-plan the largest, with the rate limit on."""
    print(f"-- rate limit on: {settings.rate_limit} requests a minute")
    default = settings.parallelism
    if bootstrap_size:
        repo = Repo.generate(work / f"rate-limited-{bootstrap_size}", bootstrap_size)

        def bootstrap(client: TallyfyClient, org: OrgSettings, workers: int) -> PlanResult:
            return apply(client, org, repo, workers)

        with served(settings.latency_ms, settings.rate_limit) as server:
            measure(settings, server, repo, "bootstrap", default, bootstrap, bootstrapped)
    if largest is not None:
        repo, state = largest
        with served(settings.latency_ms, settings.rate_limit, state) as server:
            measure(settings, server, repo, "re-plan", default, replan(repo), empty_plan)


# -- reporting -----------------------------------------------------------------------------

HEADER = (
    f"{'case':<17} {'templates':>9} {'par':>3} {'limit':>5} {'requests':>8} {'writes':>7} "
    f"{'429s':>4} {'time s':>8} {'lat. floor':>10} {'rate floor':>10} {'x floor':>7} "
    f"{'cpu s':>6}  note"
)


def row(case: Case) -> str:
    ratio = f"{case.ratio:.2f}" if case.ratio is not None else "-"
    note = case.note
    if case.writes_per_object is not None:
        note += f", {case.writes_per_object:.2f} writes each"
    return (
        f"{case.name:<17} {case.templates:>9} {case.parallelism:>3} "
        f"{'on' if case.rate_limited else 'off':>5} {case.requests:>8} {case.writes:>7} "
        f"{case.rate_limited_429s:>4} {case.seconds:>8.2f} {case.latency_floor:>10.2f} "
        f"{case.rate_floor:>10.2f} {ratio:>7} {case.client_cpu:>6.1f}  {note}"
    )


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def other_benchmarks(largest: int, seconds: float) -> dict[str, Any]:
    """The emulator's writes a second as the org grows (:mod:`benchmarks.emulator_writes`)
    and ``validate``/``fmt --check`` of as many files as the largest org has templates
    (:mod:`benchmarks.validate_files`)."""
    sizes = sorted({0, *(n for n in (100, 1000) if n < largest), largest})
    print("-- the emulator's writes a second with a state file, best of 3 rounds", flush=True)
    print(emulator_writes.HEADER, flush=True)
    writes = emulator_writes.run(sizes, seconds, 20, 3)
    print(f"-- validate and fmt --check of {largest} template files (the CLI), best of 3")
    print(validate_files.HEADER, flush=True)
    files = validate_files.run(largest, 3, ["validate", "fmt"])
    return {"emulator_writes": writes, "files": files}


def other_findings(others: dict[str, Any]) -> list[str]:
    lines = []
    in_process, served = EMULATOR_TARGETS
    for row in others.get("emulator_writes", []):
        ok = row["in_process_writes_per_s"] >= in_process and row["served_writes_per_s"] >= served
        lines.append(
            f"emulator at {row['templates']} templates: {row['in_process_writes_per_s']:.0f} "
            f"writes a second in-process, {row['served_writes_per_s']:.0f} served, "
            f"{'within' if ok else 'below'} the target of {in_process} and {served}"
        )
    for row in others.get("files", []):
        verdict = ""
        if row["files"] == 1000:
            within = row["seconds"] < FILES_TARGET
            verdict = f", {'within' if within else 'above'} the target of {FILES_TARGET:g} s"
        lines.append(f"{row['command']} of {row['files']} files: {row['seconds']:.2f} s{verdict}")
    return lines


def findings(settings: Settings) -> list[str]:
    """The issue's targets, checked against this run."""
    lines = []
    largest = max((c.templates for c in settings.cases), default=0)
    for case in settings.cases:
        if case.templates != largest:
            continue
        if case.name == "re-plan" and case.ratio is not None and case.parallelism > 1:
            limit = "rate limit on" if case.rate_limited else "latency only"
            verdict = "within" if case.ratio <= PLAN_TARGET else "above"
            lines.append(
                f"plan of {largest} templates ({limit}): {case.ratio:.2f} x its floor, {verdict} "
                f"the target of {PLAN_TARGET} x (cpu: tallyform {case.client_cpu:.1f} s, "
                f"emulator {case.server_cpu:.1f} s)"
            )
        if case.name == "changed-since":
            verdict = "within" if case.requests <= CHANGED_SINCE_TARGET else "above"
            lines.append(
                f"changed-since plan of 2 of {largest} templates: {case.requests} requests, "
                f"{verdict} the target of {CHANGED_SINCE_TARGET}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLDS)  # as the CLI's own entry point does
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes", default="10,100,1000", help="template counts (default: %(default)s)"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=50.0,
        help="added to every request (default: %(default)s)",
    )
    parser.add_argument(
        "--parallelism",
        type=int,
        default=DEFAULT_WORKERS,
        help="the default parallelism (default: %(default)s)",
    )
    parser.add_argument(
        "--sequential-max",
        type=int,
        default=100,
        help="largest size also bootstrapped at parallelism 1 (default: %(default)s)",
    )
    parser.add_argument(
        "--fill-in-process",
        action="store_true",
        help="fill orgs above --sequential-max in-process, without latency, instead of measuring their bootstrap",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=TALLYFY_PER_MINUTE,
        help="requests a minute in the rate-limited cases (default: Tallyfy's %(default)s)",
    )
    parser.add_argument(
        "--rate-limited-size",
        type=int,
        default=10,
        help="templates bootstrapped with the rate limit on; 0 skips (default: %(default)s)",
    )
    parser.add_argument(
        "--plans-only",
        action="store_true",
        help="skip the emulator's writes a second and the validate and fmt --check timings",
    )
    parser.add_argument(
        "--emulator-seconds",
        type=float,
        default=2.0,
        help="each round of the emulator's writes a second (default: %(default)s)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 2:
        parser.error("--sizes: at least 2 templates (a changed-since plan edits two)")
    settings = Settings(args.latency_ms, args.parallelism, args.rate_limit)
    info = machine()
    print(
        f"tallyform benchmarks: {info['platform']}, {info['cpus']} CPUs, Python {info['python']}; "
        f"latency {args.latency_ms:g} ms a request, served over loopback HTTP"
    )
    print(HEADER, flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tallyform-bench-") as temp:
        work = Path(temp)
        largest: tuple[Repo, Path] | None = None
        for count in sizes:
            repo = Repo.generate(work / f"project-{count}", count)
            done = size_cases(settings, repo, work, args.sequential_max, args.fill_in_process)
            if largest is None or count >= len(largest[0].templates):
                largest = done
        if args.rate_limit:
            rate_limited_cases(settings, work, args.rate_limited_size, largest)
    others = {} if args.plans_only else other_benchmarks(max(sizes), args.emulator_seconds)
    notes = [
        "requests: every request tallyform sent, 429s included; writes: those that are not GET",
        "floor: the larger of requests x latency / parallelism (lat. floor) and requests at "
        f"{args.rate_limit} a minute (rate floor: what Tallyfy's limit imposes, whether or not "
        "the emulator's limit is on)",
        "time: from connecting to the answer; loading the template files and asking git are "
        "not counted; cpu: tallyform's own CPU time",
        f"bootstrap at parallelism 1 only up to {args.sequential_max} templates (through "
        f"{args.latency_ms:g} ms a request, 1,000 templates would take over an hour)",
    ]
    verdicts = findings(settings) + other_findings(others)
    print()
    for line in notes + verdicts:
        print(f"- {line}")
    print(f"({time.perf_counter() - started:.0f} s in all)")
    if args.json:
        document = {
            "machine": info,
            "settings": {
                "sizes": sizes,
                "latency_ms": args.latency_ms,
                "parallelism": args.parallelism,
                "rate_limit": args.rate_limit,
                "sequential_max": args.sequential_max,
                "fill_in_process": args.fill_in_process,
            },
            "cases": [c.as_json() for c in settings.cases],
            "notes": notes,
            **others,
            "targets": verdicts,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
