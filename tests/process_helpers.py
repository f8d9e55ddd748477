"""A harness for process-level tests: the CLI as OS processes against a served emulator.

The emulator runs as `tallyform emulator serve` on a loopback port, keeping its org in a
state file (:func:`served_project`), or, where a test must act at a given moment of an
apply, in the test's own process, where the test sees every answer as it is given and sets
the latency (:func:`watched_project`). Projects are copies of examples/ whose default org
points at it; `tallyform` commands run as subprocesses with their output in files (so no
pipe can fill up and a killed process still leaves what it printed). The org is inspected
only through the HTTP API. Every wait is bounded, woken by the event it waits for rather
than a guessed delay, and every process started here is killed on the way out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tallyform.emulator import Emulator, EmulatorServer, FaultSettings
from tallyform.emulator.store import DEFAULT_ORG_ID, DEFAULT_TOKEN
from tallyform.emulator.wire import Request, Response
from tests.conftest import EXAMPLES

TOKEN_ENV = "TALLYFORM_PROCESS_TEST_TOKEN"
ORG_NAME = "served"
KEY_FIELD = "tallyform_key"
START_TIMEOUT = 20.0  # seconds for `emulator serve` to print its URL and answer
STOP_TIMEOUT = 5.0  # seconds a process gets to go after a signal, before SIGKILL
CLI_TIMEOUT = 30.0  # seconds any one CLI command may take (a bootstrap takes under 10)
HEADERS = {"X-Tallyfy-Client": "APIClient", "Accept": "application/json"}


def cli_command(*args: str) -> list[str]:
    """The argv of `tallyform ARGS`: the installed entry point, else this interpreter."""
    script = Path(sys.executable).with_name("tallyform")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from tallyform.cli import main; main()", *args]


def cli_env() -> dict[str, str]:
    """The environment of every CLI process: the admin token in TOKEN_ENV, plain output."""
    env = dict(os.environ)
    env.update({TOKEN_ENV: DEFAULT_TOKEN, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    return env


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``check`` until it is true (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return check()


# Processes -------------------------------------------------------------------------------


@dataclass
class Finished:
    """A process that ended: exit code (negative: killed by that signal), output, duration."""

    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def describe(self, stdout_lines: int = 4, stderr_lines: int = 15) -> str:
        """Exit code, duration and the last lines of each stream (a plan's text is long)."""
        return (
            f"exit {self.code} after {self.seconds:.1f} s\n"
            f"--- stdout (tail)\n{_tail(self.stdout, stdout_lines)}\n"
            f"--- stderr (tail)\n{_tail(self.stderr, stderr_lines)}"
        )


def _tail(text: str, lines: int) -> str:
    kept = text.rstrip("\n").splitlines()[-lines:]
    return "\n".join(kept)


def _as_from_a_terminal() -> None:
    """In the child: Ctrl-C acts as at a terminal, even if this test run ignores SIGINT.

    A shell starts background jobs with SIGINT ignored, and Python then leaves it ignored.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Proc:
    """One started process whose stdout and stderr go to files in ``logs``."""

    def __init__(self, argv: list[str], logs: Path, name: str) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.stdout_file = logs / f"{name}.out"
        self.stderr_file = logs / f"{name}.err"
        self.started = time.monotonic()
        with self.stdout_file.open("wb") as out, self.stderr_file.open("wb") as err:
            self.popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=cli_env(),
                preexec_fn=_as_from_a_terminal,
            )

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stdout(self) -> str:
        return self.stdout_file.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_file.read_text(errors="replace")

    def send(self, sig: signal.Signals) -> None:
        """Send a signal if the process still runs."""
        if self.alive:
            self.popen.send_signal(sig)

    def wait(self, timeout: float = CLI_TIMEOUT) -> Finished:
        """Wait at most ``timeout`` seconds; past that, kill it and fail with its output."""
        try:
            code = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"{self.name} still ran after {timeout:.0f} s; killed.\n{self._finished().describe()}"
            ) from None
        return self._finished(code)

    def kill(self) -> Finished:
        """SIGKILL it (if still running) and reap it."""
        self.send(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # only a stuck kernel call
            self.popen.wait(timeout=STOP_TIMEOUT)
        return self._finished()

    def stop(self) -> None:
        """SIGTERM, a bounded wait, then SIGKILL."""
        self.send(signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def _finished(self, code: int | None = None) -> Finished:
        code = self.popen.returncode if code is None else code
        return Finished(
            code if code is not None else -999, self.stdout(), self.stderr(), self.elapsed()
        )


# The served emulator ---------------------------------------------------------------------


@dataclass
class ServedEmulator:
    """A served emulated org and how to reach it: a `tallyform emulator serve` process with
    its state file, or (``proc`` None) an :class:`EmulatorServer` in this process."""

    proc: Proc | None
    url: str
    state_file: Path | None
    org_id: str = DEFAULT_ORG_ID
    token: str = DEFAULT_TOKEN

    def client(self, timeout: float = 10.0) -> httpx.Client:
        """An httpx client whose base URL is the served org."""
        return httpx.Client(
            base_url=f"{self.url}/organizations/{self.org_id}",
            headers={**HEADERS, "Authorization": f"Bearer {self.token}"},
            timeout=timeout,
        )

    def answers(self) -> bool:
        try:
            with self.client(timeout=2.0) as api:
                return api.get("/me").status_code == 200
        except httpx.HTTPError:
            return False


def _printed_url(proc: Proc) -> str | None:
    for line in proc.stdout().splitlines():
        if "listening on " in line:
            return line.split("listening on ", 1)[1].strip()
    return None


@contextmanager
def served_emulator(workdir: Path, latency_ms: float = 0.0) -> Iterator[ServedEmulator]:
    """Serve a fresh emulated org on a free loopback port until the block ends."""
    state_file = workdir / "org.json"
    argv = cli_command(
        "emulator",
        "serve",
        "--port",
        "0",
        "--state",
        str(state_file),
        "--rate-limit",
        "0",
        "--latency-ms",
        str(latency_ms),
    )
    proc = Proc(argv, workdir / "logs", "emulator")
    try:
        ready = wait_until(lambda: _printed_url(proc) is not None or not proc.alive, START_TIMEOUT)
        url = _printed_url(proc)
        if not ready or url is None:
            raise AssertionError(f"the emulator did not start\n{proc.kill().describe()}")
        served = ServedEmulator(proc, url, state_file)
        if not wait_until(served.answers, START_TIMEOUT, interval=0.1):
            raise AssertionError(f"the emulator does not answer\n{proc.kill().describe()}")
        yield served
    finally:
        proc.stop()


# Projects and CLI runs -------------------------------------------------------------------


def write_project(target: Path, emulator: ServedEmulator) -> Path:
    """Copy examples/ to ``target``, with a default org that is the served emulator."""
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".tallyform"))
    config_file = target / "tallyform.yaml"
    config: dict[str, Any] = yaml.safe_load(config_file.read_text())
    config["orgs"][ORG_NAME] = {
        "org_id": emulator.org_id,
        "api_url": emulator.url,
        "token_env": TOKEN_ENV,
        "requests_per_minute": 0,
    }
    config["default_org"] = ORG_NAME
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))
    return target


@dataclass
class Cli:
    """Runs `tallyform -C ROOT ...` as processes; ``close`` kills any still running."""

    root: Path
    logs: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, *args: str, name: str | None = None) -> Proc:
        label = name or f"{len(self.procs):02d}-{args[0]}"
        proc = Proc(cli_command("-C", str(self.root), *args), self.logs, label)
        self.procs.append(proc)
        return proc

    def run(self, *args: str, timeout: float = CLI_TIMEOUT) -> Finished:
        return self.start(*args).wait(timeout)

    def start_apply(self) -> Proc:
        return self.start("apply", "--yes")

    def apply(self, timeout: float = CLI_TIMEOUT) -> Finished:
        return self.start_apply().wait(timeout)

    def plan(self, timeout: float = CLI_TIMEOUT) -> Finished:
        """`plan --detailed-exitcode`: 0 nothing to do, 2 changes, 1 error."""
        return self.run("plan", "--detailed-exitcode", timeout=timeout)

    def converge(self, attempts: int = 3) -> list[Finished]:
        """Run `apply --yes` until one exits 0 and the plan after it is empty (at most
        ``attempts`` applies); every run made. An apply that fails counts as not converged
        even if the plan is empty: a lock it could not break would block every later apply.
        """
        runs: list[Finished] = []
        for _ in range(attempts):
            applied = self.apply()
            planned = self.plan()
            runs += [applied, planned]
            if applied.code == 0 and planned.code == 0:
                return runs
        history = "\n".join(r.describe() for r in runs)
        raise AssertionError(
            f"not converged after {attempts} applies (apply, plan, ...):\n{history}"
        )

    def close(self) -> None:
        for proc in self.procs:
            if proc.alive:
                proc.kill()

    def __enter__(self) -> Cli:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def served_project(workdir: Path, latency_ms: float = 0.0) -> Iterator[tuple[ServedEmulator, Cli]]:
    """A served emulator, a copy of examples/ aimed at it, and a CLI runner for that copy."""
    with served_emulator(workdir, latency_ms) as emulator:
        root = write_project(workdir / "project", emulator)
        with Cli(root, workdir / "logs") as cli:
            yield emulator, cli


# What the org holds, read through the API ------------------------------------------------


def list_all(api: httpx.Client, path: str, params: dict[str, str] | None = None) -> list[Any]:
    """Every row of a paginated list."""
    rows: list[Any] = []
    page = 1
    while True:
        response = api.get(path, params={**(params or {}), "per_page": "100", "page": str(page)})
        assert response.status_code == 200, (path, response.status_code, response.text)
        body = response.json()
        rows.extend(body["data"])
        pagination = body.get("meta", {}).get("pagination", {})
        if page >= int(pagination.get("total_pages", 1)):
            return rows
        page += 1


@dataclass
class Census:
    """The live templates (with steps and tags), tags, folders and custom-field keys."""

    templates: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    folders: list[dict[str, Any]]
    keys: list[dict[str, Any]]

    def counts(self) -> dict[str, int]:
        steps = [s for t in self.templates for s in t["steps"]["data"]]
        return {
            "templates": len(self.templates),
            "steps": len(steps),
            "fields": sum(len(s.get("captures") or []) for s in steps),
            "kickoff_fields": sum(len(t.get("prerun") or []) for t in self.templates),
            "rules": sum(len(t.get("automated_actions") or []) for t in self.templates),
            "tags": len(self.tags),
            "tag_links": sum(len(t["tags"]["data"]) for t in self.templates),
            "folders": len(self.folders),
            "custom_field_keys": len(self.keys),
        }


def census(api: httpx.Client) -> Census:
    """Read everything tallyform writes from the served org."""
    templates = [
        _get(api, f"/checklists/{row['id']}", {"with": "steps,tags"})
        for row in list_all(api, "/checklists")
    ]
    return Census(
        templates=templates,
        tags=list_all(api, "/tags", {"all": "true"}),
        folders=list_all(api, "/folders"),
        keys=list_all(api, "/custom-field-keys"),
    )


def _get(api: httpx.Client, path: str, params: dict[str, str]) -> dict[str, Any]:
    response = api.get(path, params=params)
    assert response.status_code == 200, (path, response.status_code, response.text)
    found: dict[str, Any] = response.json()["data"]
    return found


def _repeated(what: str, values: Iterable[object]) -> list[str]:
    return [f"{what}: {value!r} x{count}" for value, count in Counter(values).items() if count > 1]


def _template_duplicates(template: dict[str, Any]) -> list[str]:
    name = template["title"]
    steps = template["steps"]["data"]
    found = _repeated(f"step title in {name}", (s["title"] for s in steps))
    for step in steps:
        labels = (c["label"] for c in step.get("captures") or [])
        found += _repeated(f"field label in {name} / {step['title']}", labels)
    found += _repeated(
        f"kick-off label in {name}", (p["label"] for p in template.get("prerun") or [])
    )
    aliases = (r.get("automated_alias") for r in template.get("automated_actions") or [])
    found += _repeated(f"rule alias in {name}", aliases)
    found += _repeated(f"tag attached to {name}", (t["tag_id"] for t in template["tags"]["data"]))
    return found


def duplicates(found: Census) -> list[str]:
    """Every duplicate of any kind, one line each (empty: none)."""
    keys = ((t.get("custom_fields") or {}).get(KEY_FIELD) for t in found.templates)
    problems = _repeated("template key", (k for k in keys if k))
    problems += _repeated("template title", (t["title"] for t in found.templates))
    for template in found.templates:
        problems += _template_duplicates(template)
    problems += _repeated("tag title", (t["title"].lower() for t in found.tags))
    problems += _repeated("folder", ((f["parent_id"], f["name"]) for f in found.folders))
    problems += _repeated("custom field key", ((k["key"], k["applies_to"]) for k in found.keys))
    return problems


def assert_no_duplicates(api: httpx.Client) -> Census:
    """Fail with every duplicate in the served org; otherwise what it holds."""
    found = census(api)
    problems = duplicates(found)
    assert not problems, "duplicates in the org:\n" + "\n".join(problems)
    return found


# Setting up and watching an apply -------------------------------------------------------


def define_key_fields(api: httpx.Client) -> None:
    """Define the ``tallyform_key`` text field on every record kind, as an org admin may."""
    for kind in ("checklist", "step", "capture", "prerun"):
        body = {
            "key": KEY_FIELD,
            "label": "tallyform key",
            "applies_to": kind,
            "field_type": "text",
            "is_required": False,
            "is_active": True,
        }
        response = api.post("/custom-field-keys", json=body)
        assert response.status_code == 201, (response.status_code, response.text)


# An org that a test watches request by request ------------------------------------------


class WatchedEmulator(Emulator):
    """An emulator served from the test's own process, so that the test can act on events
    rather than after guessed delays: it sees each answer as it is given (and can wait for
    the n-th, or for the first template), and it sets the added latency at will, lifting
    it (every request sleeping in it is answered at once) once the apply it disturbs is gone.
    """

    def __init__(self, latency_ms: float = 0.0) -> None:
        self._lifted = threading.Event()
        self._seen = threading.Condition()
        self._answers: list[tuple[str, str, int]] = []  # method, path, status
        self._in_flight = 0
        super().__init__(
            faults=FaultSettings(latency_ms=latency_ms), sleep=self._latency, keep_requests=0
        )

    def _latency(self, seconds: float) -> None:
        self._lifted.wait(seconds)

    def handle(self, request: Request) -> Response:
        with self._seen:
            self._in_flight += 1
        status = -1
        try:
            response = super().handle(request)
            status = response.status
            return response
        finally:
            with self._seen:
                self._in_flight -= 1
                self._answers.append((request.method, request.path, status))
                self._seen.notify_all()

    def answered(self) -> int:
        """How many requests it has answered so far."""
        with self._seen:
            return len(self._answers)

    def made_a_template(self) -> bool:
        """Whether a template was created (the apply is past the org-wide writes)."""
        with self._seen:
            return any(
                method == "POST" and path.endswith("/checklists") and status == 201
                for method, path, status in self._answers
            )

    def took_the_lock(self) -> bool:
        """Whether an apply lock tag was made (an apply holds, or is taking, the lock)."""
        with self._seen:
            return any(
                method == "POST" and path.endswith("/tags") and status == 201
                for method, path, status in self._answers
            )

    def idle(self) -> bool:
        """Whether no request is being answered (a killed apply's have all landed)."""
        with self._seen:
            return self._in_flight == 0

    def stall(self, latency_ms: float) -> None:
        """Give every request from now on ``latency_ms`` of added latency."""
        self._lifted.clear()
        self.faults = FaultSettings(latency_ms=latency_ms)

    def lift_latency(self) -> None:
        """No added latency from now on; requests sleeping in it are answered at once."""
        self.faults = FaultSettings()
        self._lifted.set()

    def wait_for(
        self, what: str, check: Callable[[], bool], proc: Proc | None = None, timeout: float = 30.0
    ) -> None:
        """Wait until ``check()`` holds, woken by each answer; fail naming ``what`` if
        ``timeout`` seconds pass, or if ``proc`` (the apply to disturb) ends first."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0 or (proc is not None and not proc.alive):
                    break
                self._seen.wait(min(left, 0.05))  # an answer wakes it; a timeout sees proc end
            else:
                return
        if proc is not None and not proc.alive:
            raise AssertionError(f"{proc.name} ended before {what}\n{proc.wait(1).describe()}")
        raise AssertionError(f"not {what} within {timeout:.0f} s")


@contextmanager
def watched_project(
    workdir: Path, latency_ms: float = 0.0
) -> Iterator[tuple[ServedEmulator, WatchedEmulator, Cli]]:
    """A :class:`WatchedEmulator` served on a free loopback port, a copy of examples/ aimed
    at it, and a CLI runner for that copy (its commands are still processes of their own)."""
    watched = WatchedEmulator(latency_ms)
    with EmulatorServer(watched) as server:
        served = ServedEmulator(None, server.url, None, org_id=watched.org_id)
        root = write_project(workdir / "project", served)
        try:
            with Cli(root, workdir / "logs") as cli:
                yield served, watched, cli
        finally:
            watched.lift_latency()  # the server's threads end now, not after a stall
