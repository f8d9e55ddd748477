"""The engine's apply service without the command line: hooks stand in for the terminal,
and what they are told, in what order, is the promise ``tallyform apply`` prints."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tallyform.cli.connect import open_client
from tallyform.client import ClientStats
from tallyform.config import Project, find_config, load_project
from tallyform.engine.apply import ApplyReport
from tallyform.engine.locking import LockHooks
from tallyform.engine.safety import UnsafePlan
from tallyform.engine.service import ApplyRequest, carry_out, prepare_apply
from tallyform.errors import TallyformError
from tallyform.model.changes import Change, Plan
from tallyform.tallyfy.lock import lock_tags


class Refused(TallyformError):
    """The user said no."""


class Recorder:
    """Hooks that note each call; ``confirm`` answers as told."""

    def __init__(self, agree: bool = True) -> None:
        self.agree = agree
        self.calls: list[str] = []
        self.done: list[Change] = []
        self.stop = threading.Event()
        self.lock = LockHooks(say=lambda text: self.calls.append(f"said: {text}"))
        self.shown: Plan | None = None

    def arm(self) -> None:
        self.calls.append("arm")

    def no_changes(self, plan: Plan) -> None:
        self.calls.append("no_changes")

    def show_plan(self, plan: Plan) -> None:
        self.calls.append("show_plan")
        self.shown = plan

    def confirm(self) -> None:
        self.calls.append("confirm")
        if not self.agree:
            raise Refused("not applied; nothing was changed")

    @contextmanager
    def progress(self, total: int, stats: ClientStats) -> Iterator[Callable[[Change], None]]:
        self.calls.append(f"progress of {total}")
        yield self.done.append
        self.calls.append("progress ends")

    def report(self, report: ApplyReport, stats: ClientStats, writes: int) -> None:
        self.calls.append("report")
        assert writes > 0 and stats.writes >= writes


def _project(root: Path) -> Project:
    project, problems = load_project(find_config(root))
    assert project is not None, problems
    return project


def _apply(root: Path, hooks: Recorder, request: ApplyRequest | None = None) -> ApplyReport | None:
    project = _project(root)
    run = prepare_apply(project, request or ApplyRequest(), lambda text: None)
    with open_client(run.org) as client:
        return carry_out(run, client, hooks)


def _lock_tags(root: Path) -> list[object]:
    project = _project(root)
    with open_client(project.org(None)) as client:
        return list(lock_tags(client))


def test_apply_shows_asks_carries_out_and_reports_in_that_order(examples_copy: Path) -> None:
    hooks = Recorder()
    report = _apply(examples_copy, hooks)
    assert report is not None and not report.not_done and not report.stopped
    assert hooks.shown is not None
    total = len(hooks.shown.changes)
    assert hooks.calls == [
        "show_plan",
        "confirm",
        "arm",
        f"progress of {total}",
        "progress ends",
        "report",
    ]
    assert sorted(map(repr, hooks.done)) == sorted(map(repr, hooks.shown.changes)), "each once"
    again = Recorder()
    assert _apply(examples_copy, again) is None
    assert again.calls == ["no_changes"]
    assert _lock_tags(examples_copy) == []


def test_a_refusal_at_the_question_writes_nothing_and_lets_the_lock_go(
    examples_copy: Path,
) -> None:
    refusing = Recorder(agree=False)
    with pytest.raises(Refused):
        _apply(examples_copy, refusing)
    assert refusing.calls == ["show_plan", "confirm"]
    assert _lock_tags(examples_copy) == []
    agreeing = Recorder()
    _apply(examples_copy, agreeing)
    assert refusing.shown is not None and agreeing.shown is not None
    assert len(agreeing.shown.changes) == len(refusing.shown.changes), "nothing was done before"


def test_an_unsafe_plan_is_refused_with_its_exit_code_before_the_question(
    examples_copy: Path,
) -> None:
    _apply(examples_copy, Recorder())
    (examples_copy / "templates" / "purchase-request.yaml").unlink()
    hooks = Recorder()
    with pytest.raises(UnsafePlan) as refused:
        _apply(examples_copy, hooks)
    assert refused.value.exit_code == 1
    assert "archives 1 template(s) (purchase-request)" in str(refused.value)
    assert "--allow-delete" in str(refused.value)
    assert hooks.calls == ["show_plan"], "refused before asking"
    allowed = Recorder()
    report = _apply(examples_copy, allowed, ApplyRequest(allow_delete=True))
    assert report is not None and [c.action for c in report.done] == ["archive"]
