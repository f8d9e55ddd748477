"""Ctrl-C at any moment of a command exits 130, with no Python traceback.

A real `tallyform plan` (against the embedded emulator, in a copy of examples/ grown so
that the plan outlasts the last moment tried) gets SIGINT at 10, 50, 100 and 200 ms, and
a real `apply` gets it at its confirmation prompt (in a pseudo-terminal, as a user sees
it). Before any of tallyform's code runs, CPython starts (and, in a development install,
imports the editable-install hook while it processes site-packages); a SIGINT in that
window meets CPython's own handling, which no program can change. The moments are
therefore counted from when an interpreter of this environment is up, measured first; a
run that CPython itself reports was interrupted while starting
(`Fatal Python error: init_import_site`), or whose traceback shows the signal came while
the entry-point script was still importing the package (on a loaded machine that can take
longer than the interpreter's measured start), is tried again, at most twice.
"""

from __future__ import annotations

import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.process_helpers import cli_command, cli_env, wait_until

MOMENTS_MS = (10, 50, 100, 200)
COPIES = 20  # copies of each example template: a plan then takes over half a second
TIMEOUT = 20.0  # seconds any one process may take
STARTING = "init_import_site"  # CPython's own words for an interrupt while it starts


def _copy_project(target: Path) -> Path:
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns(".tallyform"))
    templates = target / "templates"
    for path in sorted(templates.glob("*.yaml")):
        text = path.read_text()
        for copy in range(1, COPIES):
            renamed = re.sub(r"^key: (.+)$", rf"key: \1-{copy}", text, count=1, flags=re.M)
            renamed = re.sub(r"^title: (.+)$", rf"title: \1 {copy}", renamed, count=1, flags=re.M)
            (templates / f"{path.stem}-{copy}.yaml").write_text(renamed)
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _copy_project(tmp_path_factory.mktemp("interrupts") / "project")


@pytest.fixture(scope="module")
def startup() -> float:
    """Seconds an interpreter of this environment takes to start and stop, at most."""
    took = []
    for _ in range(3):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        took.append(time.monotonic() - started)
    return max(took)


def _from_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as at a terminal, even if we ignore it


def _interrupted_at(argv: list[str], delay: float) -> tuple[int | None, str, bool]:
    """Start ``argv``, SIGINT it after ``delay`` seconds: exit code, output, and whether
    it was still running when the signal went."""
    proc = subprocess.Popen(
        argv,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_from_a_terminal,
    )
    time.sleep(delay)
    running = proc.poll() is None
    proc.send_signal(signal.SIGINT)
    try:
        output, _ = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    return proc.returncode, output.decode(errors="replace"), running


def _before_main(output: str) -> bool:
    """Whether the signal came before tallyform's entry point ran: while CPython started,
    or while the entry-point script imported ``tallyform.cli`` (a traceback that never
    reached :func:`tallyform.cli.main`, which installs the handler first of all)."""
    if STARTING in output:
        return True
    return "Traceback" in output and ", in main\n" not in output


@pytest.mark.parametrize("moment_ms", MOMENTS_MS)
def test_ctrl_c_at_any_moment_exits_130(project: Path, startup: float, moment_ms: int) -> None:
    argv = cli_command("-C", str(project), "plan")
    for _attempt in range(3):
        code, output, running = _interrupted_at(argv, startup + moment_ms / 1000)
        if not _before_main(output):
            break
    assert running, f"the plan ended before {moment_ms} ms: grow the project\n{output}"
    assert "Traceback" not in output, output
    assert code == 130, f"exit {code}\n{output}"
    assert "Interrupted" in output, output


def test_ctrl_c_at_the_apply_prompt_exits_130(project: Path, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    out = tmp_path / "apply.out"
    try:
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                cli_command("-C", str(project), "apply"),
                env=cli_env(),
                stdin=follower,
                stdout=sink,
                stderr=subprocess.STDOUT,
                preexec_fn=_from_a_terminal,
            )
        try:
            asked = wait_until(lambda: b"Apply these changes?" in out.read_bytes(), TIMEOUT)
            assert asked, out.read_text()
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        os.close(leader)
        os.close(follower)
    output = out.read_text()
    assert "Traceback" not in output, output
    assert "Aborted" not in output, output
    assert code == 130, f"exit {code}\n{output}"
    assert "Interrupted before any change was made; nothing was changed." in output, output
