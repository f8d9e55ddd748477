"""Hostile and broken input meets a clear, located answer, fast, in little memory, and no request.

Each hostile file is tried with `validate`, `fmt --check` and `plan`: every one must exit 1
with the expected message and no traceback, in well under five seconds and a bounded
amount of memory, and `plan` must not send a single request to the (embedded) org. The
bad-input corpus (tests/corpus) holds the same cases where a small file can show them.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tallyform.emulator import Emulator, EmulatorTransport
from tests.conftest import PROJECT_YAML, Run, run_cli

SECONDS = 5.0  # generous: each case takes a small fraction of this
MEGABYTES = 16  # peak Python allocations of one command (about 1 MB is seen)

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9 if prev else ['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


LONG_SUMMARY = "Lorem ipsum dolor sit amet. " * 700  # 19,600 characters
AMPLIFIED = (
    'title: A\nsteps:\n  - title: S0\n    summary: &long "'
    + LONG_SUMMARY
    + '"\n'
    + "".join(f"  - title: S{n}\n    summary: *long\n" for n in range(1, 201))
)  # 22 KB written, 3.9 MB with its aliases expanded (the cap is 2 MB)


def _sparse(path: Path) -> None:
    """A 50 MB template file that takes no disk space (and must never be read)."""
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)


@dataclass(frozen=True)
class Case:
    name: str
    write: Callable[[Path], None]
    message: str


def _text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content, "utf-8")


CASES = [
    Case("alias-bomb", _text("title: A\n" + BOMB), "values once its aliases are expanded"),
    Case(
        "deep-nesting",
        _text("title: A\nx: " + "[" * 600 + "]" * 600 + "\n"),
        "nested more than 64 levels deep",
    ),
    Case(
        "huge-integer",
        _text("title: A\nsteps:\n  - title: S\n    deadline: {value: " + "9" * 100_000 + "}\n"),
        "this number has 100,000 digits",
    ),
    Case("fifty-megabytes", _sparse, "is over the limit of 1,000,000 bytes a file"),
    Case(
        "alias-amplification",
        _text(AMPLIFIED),
        "the file holds more than 2,000,000 characters of text once its aliases are expanded",
    ),
    Case(
        "deadline-ten-to-the-68",
        _text(f"title: A\nsteps:\n  - title: S\n    deadline: {{value: {10**68}, unit: days}}\n"),
        "is out of range (maximum 100000)",
    ),
    Case(
        "right-to-left-override",
        _text("title: Invoice \u202ecod.exe\n"),
        "contains U+202E (RIGHT-TO-LEFT OVERRIDE)",
    ),
    Case(
        "deadline-action-without-unit",
        _text(
            "title: A\nsteps:\n  - title: S\nrules:\n  - name: R\n"
            "    when: [{step: s, is: expired}]\n    then: [{deadline: s, value: 2}]\n"
        ),
        "a deadline action needs `unit:`",
    ),
]


@dataclass
class Measured:
    run: Run
    seconds: float
    megabytes: float = 0.0


def measured(*args: str) -> Measured:
    """Run the CLI and time it."""
    started = time.perf_counter()
    run = run_cli(*args)
    return Measured(run, time.perf_counter() - started)


def traced(*args: str) -> Measured:
    """Run the CLI tracing the peak of Python's allocations (which slows it: not timed)."""
    tracemalloc.start()
    try:
        run = run_cli(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Measured(run, 0.0, peak / 1e6)


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request an embedded org answers during the test, as 'METHOD path'."""
    seen: list[str] = []
    answer = EmulatorTransport.handle_request

    def counted(self: EmulatorTransport, request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return answer(self, request)

    monkeypatch.setattr(EmulatorTransport, "handle_request", counted)
    return seen


def _repo(root: Path, files: dict[str, Callable[[Path], None]]) -> Path:
    (root / "templates").mkdir(parents=True)
    (root / "tallyform.yaml").write_text(PROJECT_YAML)
    for relative, write in files.items():
        path = root / "templates" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path)
    return root


def _org(root: Path) -> Path:
    """The project's embedded org, made fresh; its file must not change afterwards."""
    state = root / ".tallyform/local-org.json"
    Emulator(state_file=state)
    return state


def _assert_refused(result: Measured, *text: str) -> None:
    assert result.run.exit_code == 1, result.run.output
    assert "Traceback" not in result.run.output
    for part in text:
        assert part in result.run.output, result.run.output
    assert result.seconds < SECONDS, result.seconds
    assert result.megabytes < MEGABYTES, result.megabytes


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_validate_refuses_at_the_file_fast(case: Case, tmp_path: Path) -> None:
    root = _repo(tmp_path, {f"{case.name}.yaml": case.write})
    for result in (measured("-C", str(root), "validate"), traced("-C", str(root), "validate")):
        _assert_refused(result, f"templates/{case.name}.yaml:", ": error: ", case.message)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_plan_refuses_without_a_request(case: Case, tmp_path: Path, requests: list[str]) -> None:
    root = _repo(tmp_path, {f"{case.name}.yaml": case.write, "fine.yaml": _text("title: B\n")})
    state = _org(root)
    before = state.read_bytes()
    result = measured("-C", str(root), "plan")
    _assert_refused(result, f"templates/{case.name}.yaml:", case.message)
    assert requests == []
    assert state.read_bytes() == before


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if c.name
        in ("alias-bomb", "alias-amplification", "deep-nesting", "huge-integer", "fifty-megabytes")
    ],
    ids=lambda c: c.name,
)
def test_fmt_check_refuses_and_leaves_the_file(case: Case, tmp_path: Path) -> None:
    root = _repo(tmp_path, {"hostile.yaml": case.write})
    path = root / "templates/hostile.yaml"
    size, modified = path.stat().st_size, path.stat().st_mtime_ns
    for args in (["fmt", "--check"], ["fmt"]):
        result = measured("-C", str(root), *args)
        _assert_refused(result, "hostile.yaml:", case.message)
        assert "left as it is" in result.run.output or "not read" in result.run.output
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (size, modified)


def test_an_amplifying_alias_is_refused_at_its_line(tmp_path: Path) -> None:
    """The 102nd use of the long summary (its 101st alias) passes the limit: the error
    points at that alias."""
    root = _repo(tmp_path, {"amplified.yaml": _text(AMPLIFIED)})
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "templates/amplified.yaml:206:14: error: the file holds more than 2,000,000 characters "
        "of text once its aliases are expanded; tallyform reads at most 2,000,000 (see Limits "
        "in the README)\n"
    ), result.stderr


def test_variables_cannot_amplify_a_file(tmp_path: Path) -> None:
    """A long value of a variable, put in many times, is bounded as aliases are: the 67th
    use of a 30,000-character value passes 2,000,000 characters."""
    steps = "".join(f"  - title: S{n}\n    summary: ${{big}}\n" for n in range(100))
    root = _repo(tmp_path, {"a.yaml": _text("title: A\nsteps:\n" + steps)})
    (root / "tallyform.yaml").write_text(
        PROJECT_YAML + f"    variables:\n      big: {'x' * 30_000}\n"
    )
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "templates/a.yaml:136:14: error: with org 'local''s variables put in, the file would "
        "hold more than 2,000,000 characters of text more than it does; tallyform puts in at "
        "most 2,000,000 (see Limits in the README)\n"
    ), result.stderr


def test_every_problem_of_a_file_is_reported_in_one_run(tmp_path: Path) -> None:
    content = (
        "title: A\n"
        "type: bogus\n"  # schema
        "kickoff:\n"
        "  - label: Amount\n"
        "steps:\n"
        "  - key: submit\n"
        "    title: Submit\n"
        "    assignees: {users: [nobody]}\n"  # semantic, beside a schema error in the step
        "    deadline: {value: 2, unit: fortnights}\n"  # schema
        "  - title: Approve\n"
        "    asignees: {users: [a@example.com]}\n"  # schema: unknown key
        "    deadline: {value: 1, unit: days, step: approve}\n"  # semantic
        "rules:\n"
        "  - name: Small\n"
        "    when: [{field: amount, is: less_than}]\n"  # semantic
        "    then: [{deadline: approve, value: 2}, {hide: nowhere}]\n"  # semantic (two)
    )
    root = _repo(tmp_path, {"a.yaml": _text(content)})
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    reported = [
        line.split("a.yaml:")[1].split(": error:")[0]
        for line in result.stderr.splitlines()
        if ": error: " in line
    ]
    assert reported == [
        "2:7",
        "8:25",
        "9:32",
        "11:5",
        "12:44",
        "15:12",
        "16:12",
        "16:50",
    ], result.output
    assert "8 problems in 1 file." in result.output


def test_a_schema_error_hides_no_reference_it_may_explain(tmp_path: Path) -> None:
    """A misspelt `steps:` must not make every rule's step unknown."""
    content = (
        "title: A\n"
        "stpes:\n"
        "  - title: Approve\n"
        "rules:\n"
        "  - name: R\n"
        "    when: [{step: approve, is: completed}]\n"
        "    then: [{hide: approve}]\n"
    )
    root = _repo(tmp_path, {"a.yaml": _text(content)})
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert result.stderr.endswith(
        "templates/a.yaml:2:1: error: unknown key 'stpes'; did you mean 'steps'?\n"
    )
    assert len(result.stderr.splitlines()) == 1, result.stderr


NESTED = {
    "hr/onboarding.yaml": _text("title: Onboarding\nsteps:\n  - title: Welcome\n"),
    "hr/leave/request.yaml": _text("title: Leave request\n"),
    "finance.yaml": _text("title: Finance review\n"),
    ".drafts/ignored.yaml": _text("title: [not even YAML\n"),
    "hr/notes.txt": _text("not a template\n"),
}


def test_templates_in_subfolders_validate_and_plan(tmp_path: Path, requests: list[str]) -> None:
    root = _repo(tmp_path, NESTED)
    assert run_cli("-C", str(root), "validate").stdout == "3 templates valid.\n"
    result = run_cli("-C", str(root), "plan", "--no-color")
    assert result.exit_code == 0, result.output
    shown = [line.split()[2] for line in result.stdout.splitlines() if "+ template" in line]
    assert shown == ['"finance"', '"request"', '"onboarding"'], result.stdout
    assert requests, "the plan read the org"


def test_template_files_are_found_in_a_stable_order(tmp_path: Path) -> None:
    from tallyform.config import find_config, load_project, template_files

    root = _repo(tmp_path, NESTED)
    project, _ = load_project(find_config(root))
    assert project is not None
    found = [p.relative_to(root / "templates").as_posix() for p in template_files(project)]
    assert found == ["finance.yaml", "hr/leave/request.yaml", "hr/onboarding.yaml"]


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the project holding a hostile template, which must never be read."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "bomb.yaml").write_text("title: A\n" + BOMB)
    return folder


def _symlink(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_symlink_out_of_the_project_is_refused_not_followed(
    kind: str, tmp_path: Path, outside: Path, requests: list[str]
) -> None:
    root = _repo(tmp_path / "project", {"fine.yaml": _text("title: Fine\n")})
    link = root / "templates/team/shared.yaml" if kind == "file" else root / "templates/shared"
    _symlink(link, outside / "bomb.yaml" if kind == "file" else outside)
    shown = "templates/team/shared.yaml" if kind == "file" else "templates/shared"
    state = _org(root)
    before = state.read_bytes()
    for command in ("validate", "plan"):
        result = measured("-C", str(root), command)
        _assert_refused(result, f"{shown}:1:1: error: this symlink leads outside the project")
        assert "values once its aliases" not in result.run.output
    assert requests == []
    assert state.read_bytes() == before


def test_a_symlink_inside_the_project_is_followed(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"fine.yaml": _text("title: Fine\n")})
    shared = root / "shared"
    shared.mkdir()
    (shared / "common.yaml").write_text("title: Common\n")
    _symlink(root / "templates/common", shared)
    _symlink(root / "templates/loop", root / "templates")  # read once, not forever
    result = run_cli("-C", str(root), "validate")
    assert result.stdout == "2 templates valid.\n", result.output


def test_a_templates_folder_linked_out_of_the_project_is_refused(
    tmp_path: Path, outside: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "tallyform.yaml").write_text(PROJECT_YAML)
    _symlink(root / "templates", outside)
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert "tallyform.yaml:2:12: error: the templates folder must be inside the project" in (
        result.output
    )
    assert "aliases" not in result.output


@pytest.mark.parametrize(
    "content",
    [b'{"version": 1, "org": ', b"[]", b'{"version": 99, "org": {}}', b"\xff\xfe"],
    ids=["truncated", "a-list", "unknown-version", "not-utf8"],
)
def test_a_corrupt_emulator_state_file_is_one_clear_line(
    content: bytes, tmp_path: Path, requests: list[str]
) -> None:
    root = _repo(tmp_path, {"fine.yaml": _text("title: Fine\n")})
    state = root / ".tallyform/local-org.json"
    state.parent.mkdir()
    state.write_bytes(content)
    for command in ("plan", "apply"):
        result = run_cli("-C", str(root), command, *(["--yes"] if command == "apply" else []))
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert f"Error: the emulator's state file {state} " in result.stderr
        assert "move it aside (or delete it) to start a fresh emulated organization" in (
            result.stderr
        )
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert state.read_bytes() == content
    assert requests == []
