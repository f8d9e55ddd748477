"""Files the user names are read within a limit, and only if they are regular files.

`/dev/zero` never ends and a FIFO waits for a writer forever: as a saved plan, a project
file or a template they are refused at once, by a real `tallyform` process whose memory
is capped (so a reader that did not stop would fail here, not fill the machine), with an
error naming the path. A FIFO among the templates is reported, not skipped silently.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tallyform.bounded import TooLarge, read_bounded
from tests.conftest import EXAMPLES
from tests.process_helpers import cli_command, cli_env

MEMORY_CAP = 1 << 30  # bytes of address space a refused command may hold
TIMEOUT = 10.0  # seconds before a stuck command is killed (it should take well under one)
QUICK = 1.0  # CPU seconds a refusal may cost, start-up included


def _capped() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _run(*args: str) -> tuple[int, str, float]:
    """Run the real CLI, killed after TIMEOUT; exit code, output and CPU seconds used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        cli_command(*args),
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        preexec_fn=_capped,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return done.returncode, done.stdout + done.stderr, cpu


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".tallyform"))
    return root


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _refused(code: int, output: str, cpu: float, *expected: str) -> None:
    assert code == 1, output
    assert "Traceback" not in output, output
    for text in expected:
        assert text in output, output
    assert cpu < QUICK, f"{cpu:.2f} CPU seconds\n{output}"


@pytest.mark.parametrize("command", ["show", "apply"])
def test_a_device_as_a_plan_file_is_refused_unread(project: Path, command: str) -> None:
    started = time.monotonic()
    code, output, cpu = _run("-C", str(project), command, "/dev/zero")
    _refused(
        code,
        output,
        cpu,
        "/dev/zero: cannot read the file: it is a character device, not a regular file",
    )
    assert time.monotonic() - started < TIMEOUT


@pytest.mark.parametrize("command", ["show", "apply"])
def test_a_fifo_as_a_plan_file_is_refused_without_waiting(
    project: Path, tmp_path: Path, command: str
) -> None:
    fifo = _fifo(tmp_path / "plan.json")
    code, output, cpu = _run("-C", str(project), command, str(fifo))
    _refused(code, output, cpu, f"{fifo}: cannot read the file: it is a FIFO (named pipe)")


def test_a_plan_file_over_the_limit_is_refused_unread(project: Path, tmp_path: Path) -> None:
    huge = tmp_path / "plan.json"
    with huge.open("wb") as handle:  # 65 MB that take no disk space
        handle.truncate(65 << 20)
    code, output, cpu = _run("-C", str(project), "show", str(huge))
    _refused(
        code, output, cpu, f"{huge}: not a plan saved by", "over the limit of 67,108,864 bytes"
    )


def test_a_fifo_among_the_templates_is_reported(project: Path) -> None:
    fifo = _fifo(project / "templates" / "pipe.yaml")
    other = _fifo(project / "templates" / "notes")
    for command in ("validate", "plan"):
        code, output, cpu = _run("-C", str(project), command)
        _refused(
            code,
            output,
            cpu,
            f"{fifo.relative_to(project)}:1:1: error: this is a FIFO (named pipe), not a regular file",
            f"{other.relative_to(project)}:1:1: error: this is a FIFO",
        )


def test_a_template_that_is_a_symlink_to_a_fifo_is_refused(project: Path, tmp_path: Path) -> None:
    target = _fifo(project / "templates" / ".hidden-pipe")
    (project / "templates" / "linked.yaml").symlink_to(target)
    code, output, cpu = _run("-C", str(project), "validate")
    _refused(code, output, cpu, "linked.yaml:1:1: error: cannot read the file: it is a FIFO")


@pytest.mark.parametrize("config", ["/dev/zero", "fifo"])
def test_a_project_file_that_is_not_a_regular_file_is_refused(tmp_path: Path, config: str) -> None:
    path = Path(config) if config.startswith("/") else _fifo(tmp_path / "tallyform.yaml")
    code, output, cpu = _run("--config", str(path), "validate")
    _refused(code, output, cpu, f"{path}: it is a ", "not a regular file; it was not read")


def test_export_does_not_wait_on_a_fifo_where_it_would_write(project: Path) -> None:
    applied = subprocess.run(
        cli_command("-C", str(project), "apply", "--yes"),
        env=cli_env(),
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert applied.returncode == 0, applied.stderr
    (project / "templates" / "purchase-request.yaml").unlink()
    target = project / "templates" / "finance" / "purchasing"
    target.mkdir(parents=True)
    fifo = _fifo(target / "purchase-request.yaml")
    code, output, _ = _run("-C", str(project), "export", "--dry-run")
    assert code == 1 and "Traceback" not in output, output
    assert f"{fifo.relative_to(project.parent)} differs from the org; left as it is" in output


@pytest.mark.parametrize("args", [["fmt", "--check"], ["fmt"]])
def test_fmt_refuses_a_device_or_fifo_named_on_the_command_line(
    project: Path, tmp_path: Path, args: list[str]
) -> None:
    fifo = _fifo(tmp_path / "template.yaml")
    for target in ("/dev/zero", str(fifo)):
        code, output, cpu = _run("-C", str(project), *args, target)
        _refused(code, output, cpu, ":1:1: cannot read the file: it is a ", "not a regular file")


@pytest.mark.parametrize("state", ["/dev/zero", "fifo"])
def test_an_emulator_state_file_that_is_not_a_regular_file_is_refused(
    project: Path, tmp_path: Path, state: str
) -> None:
    path = Path(state) if state.startswith("/") else _fifo(tmp_path / "org.json")
    code, output, cpu = _run("emulator", "serve", "--port", "0", "--state", str(path))
    _refused(code, output, cpu, f"the emulator's state file {path} is ", "not a regular file")
    config = project / "tallyform.yaml"
    config.write_text(config.read_text().replace(".tallyform/local-org.json", str(path)))
    for command in (["plan"], ["apply", "--yes"]):
        code, output, cpu = _run("-C", str(project), *command)
        _refused(code, output, cpu, f"the emulator's state file {path}", "not a regular file")
    assert not Path(f"{path}.lock").exists(), "a lock file was made beside it"


def test_the_reader_stops_at_the_limit_whatever_size_the_file_reports() -> None:
    """/proc files report a size of 0 and hold more: the reader still stops at the limit."""
    maps = Path("/proc/self/maps")
    assert maps.stat().st_size == 0
    with pytest.raises(TooLarge, match="grew past the limit of 100 bytes"):
        read_bounded(maps, 100)
    assert len(read_bounded(maps, 1 << 20)) > 100
