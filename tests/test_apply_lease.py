"""The org's apply lock as a lease: renewed while an apply runs, taken over once it ends.

The lock module against the in-process emulator (a lease that ended, one still running,
an earlier version's tag, renewal, a release that keeps failing, several applies at once
over a left-over lock), then ``tallyform apply`` itself: a release that fails never exits
0 with the lock held, and the next apply proceeds; an interrupted apply says when it may
have left its lock.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import tallyform.tallyfy.lock as lock_module
from tallyform.client import StaticToken, TallyfyClient, TallyfyError, Unavailable
from tallyform.emulator import DEFAULT_TOKEN, IN_PROCESS_URL, Emulator, EmulatorTransport
from tallyform.tallyfy.lock import (
    LEASE_MINUTES,
    WRAP,
    LockNotReleased,
    OrgLocked,
    acquire,
    expired,
    lease_color,
    lock_tags,
    lock_title,
    new_mark,
)
from tallyform.tallyfy.records import Tag
from tests.client_helpers import FakeTime
from tests.conftest import run_cli
from tests.project_helpers import apply, assert_no_changes, edit, live_api

OTHER = "#abcdef"  # the mark of an apply on another machine


def client_of(
    emulator: Emulator,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> TallyfyClient:
    return TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=transport or EmulatorTransport(emulator),
        credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        sleep=sleep,
    )


@pytest.fixture
def org() -> Iterator[tuple[Emulator, TallyfyClient]]:
    emulator = Emulator()
    with client_of(emulator) as client:
        yield emulator, client


def foreign_lock(client: TallyfyClient, minutes_ago: float, mark: str = OTHER) -> dict[str, Any]:
    """A lock tag of an apply elsewhere whose lease was last renewed ``minutes_ago``."""
    color = lease_color(time.time() - minutes_ago * 60)
    created: dict[str, Any] = client.create("/tags", {"title": lock_title(mark), "color": color})
    time.sleep(0.005)  # made a few milliseconds before the next tag: older by created_at
    return created


# -- the lock module ------------------------------------------------------------------------------


def test_a_lock_whose_lease_ended_is_taken_over(org: tuple[Emulator, TallyfyClient]) -> None:
    _, client = org
    left = foreign_lock(client, minutes_ago=LEASE_MINUTES + 2)
    lock = acquire(client, new_mark())
    assert [(tag.id, why.split(" at ")[0]) for tag, why in lock.removed] == [
        (left["id"], "its lease ended")
    ]
    assert [t.id for t in lock_tags(client)] == [lock.tag_id]
    lock.release()
    assert lock_tags(client) == []


def test_a_lock_whose_lease_runs_is_respected(org: tuple[Emulator, TallyfyClient]) -> None:
    _, client = org
    held = foreign_lock(client, minutes_ago=1)
    with pytest.raises(OrgLocked) as refused:
        acquire(client, new_mark())
    assert refused.value.tag_id == held["id"]
    assert f"'{lock_title(OTHER)}'" in str(refused.value)
    assert "its lease ends at" in str(refused.value) and "--break-lock" in str(refused.value)
    assert [t.id for t in lock_tags(client)] == [held["id"]], "the loser withdrew its tag"


def test_an_earlier_versions_lock_has_no_lease(org: tuple[Emulator, TallyfyClient]) -> None:
    """Its colour is its mark, not a lease: it is never taken for one that ended."""
    _, client = org
    client.create("/tags", {"title": lock_title(OTHER), "color": OTHER})
    client.create("/tags", {"title": lock_module.LOCK_TITLE, "color": "#000000"})
    time.sleep(0.005)  # both older than the next tag by created_at
    with pytest.raises(OrgLocked):
        acquire(client, new_mark())
    assert len(lock_tags(client)) == 2


def test_renewing_moves_the_lease_on(org: tuple[Emulator, TallyfyClient]) -> None:
    _, client = org
    lock = acquire(client, new_mark())
    later = time.time() + 30 * 60
    (tag,) = lock_tags(client)
    assert expired(tag, later)
    lock.renew(lambda: later)
    (tag,) = lock_tags(client)
    assert tag.title == lock.title and not expired(tag, later)
    assert expired(tag, later + (LEASE_MINUTES + 1) * 60)


def test_waiting_for_the_lock_works_where_deleted_titles_stay_taken() -> None:
    """Each try makes its tag with a new mark: the withdrawn tag's title stays taken."""
    from tallyform.emulator import Quirks

    emulator = Emulator(quirks=Quirks(deleted_tags_keep_title=True))
    with client_of(emulator) as client:
        held = foreign_lock(client, minutes_ago=0)
        noted: list[str] = []
        clock = FakeTime()

        def sleep(seconds: float) -> None:
            clock.sleep(seconds)
            if clock.now > 1005:  # the other apply is done
                lock_module.break_lock(client, str(held["id"]))

        first = new_mark()
        lock = acquire(client, first, wait=60, sleep=sleep, clock=clock, note=noted.append)
        assert noted and lock.mark == noted[-1] != first
        assert [t.id for t in lock_tags(client)] == [lock.tag_id]


def test_the_renewer_renews_and_says_when_the_lock_was_broken(
    org: tuple[Emulator, TallyfyClient],
) -> None:
    _, client = org
    lock = acquire(client, new_mark())
    later = time.time() + 30 * 60
    lost: list[str] = []
    with lock_module.Renewer(lock, lost.append, every=0.01, wall=lambda: later):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            (tag,) = lock_tags(client)
            if not expired(tag, later):
                break
            time.sleep(0.01)
        assert not expired(tag, later), "renewed: the lease runs from the renewal"
        lock_module.break_lock(client, lock.tag_id)  # someone ran --break-lock
        while not lost and time.monotonic() < deadline:
            time.sleep(0.01)
    assert lost == [f"the apply lock tag '{lock.title}' was deleted by someone else"]


def test_the_lease_is_read_across_the_colours_wrap() -> None:
    tag = Tag("1", lock_title(OTHER), f"#{WRAP - 1:06x}")  # ends in the last minute
    start = (WRAP * 5) * 60.0  # the minute the count wraps to 0
    assert expired(tag, start + 60)
    assert not expired(tag, start - 2 * 60)


class FailingTagDeletes(httpx.BaseTransport):
    """Answers 503 to the first ``failures`` deletes of a tag; forwards all else."""

    def __init__(self, inner: httpx.BaseTransport, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE" and "/tags/" in request.url.path and self.failures > 0:
            self.failures -= 1
            return httpx.Response(503, json={"message": "Service Unavailable"})
        return self.inner.handle_request(request)


@pytest.mark.parametrize("failures", [3, 10_000], ids=["a-while", "for-good"])
def test_a_release_is_tried_until_its_time_runs_out(failures: int) -> None:
    emulator = Emulator()
    transport = FailingTagDeletes(EmulatorTransport(emulator), 0)
    clock = FakeTime()
    with client_of(emulator, transport, clock.sleep) as client:
        lock = acquire(client, new_mark())
        transport.failures = failures
        try:
            lock.release(budget=60, sleep=clock.sleep, clock=clock)
        except LockNotReleased as failed:
            assert failures > 100
            message = str(failed)
            assert f"'{lock.title}'" in message and "--break-lock" in message, message
            assert clock.slept >= 60
            assert [t.id for t in lock_tags(client)] == [lock.tag_id]
        else:
            assert failures < 100 and lock_tags(client) == []


class WholeSecondStamps(httpx.BaseTransport):
    """Answers with every ``created_at`` cut to whole seconds, as ``10:00:00.000Z`` (the
    reference's examples): tags made within one second then tie on it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.inner.handle_request(request)
        answer.read()
        if not answer.content:
            return answer
        body = re.sub(rb'("created_at": ?"[^"]*:\d\d)\.\d+Z"', rb'\1.000Z"', answer.content)
        return httpx.Response(answer.status_code, headers=answer.headers, content=body)


@pytest.mark.parametrize("whole_seconds", [False, True], ids=["milliseconds", "whole-seconds"])
def test_several_applies_over_a_left_over_lock_agree_on_one(
    org: tuple[Emulator, TallyfyClient], whole_seconds: bool
) -> None:
    """Each removes the lock whose lease ended; exactly one then holds the lock, the others
    are told another apply runs (never another error). With stamps in whole seconds the
    tags tie on ``created_at``: the first to list must not take the lock while a tag that
    sorts before its own can still be made in the same second."""
    emulator, client = org
    foreign_lock(client, minutes_ago=LEASE_MINUTES + 2)
    outcomes: list[object] = []
    start = threading.Barrier(4)

    def one() -> None:
        inner = EmulatorTransport(emulator)
        with client_of(emulator, WholeSecondStamps(inner) if whole_seconds else inner) as mine:
            start.wait()
            try:
                outcomes.append(acquire(mine, new_mark()))
            except (OrgLocked, TallyfyError) as error:
                outcomes.append(error)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    held = [o for o in outcomes if isinstance(o, lock_module.ApplyLock)]
    assert len(held) == 1 and all(
        isinstance(o, (lock_module.ApplyLock, OrgLocked)) for o in outcomes
    )
    assert [t.id for t in lock_tags(client)] == [held[0].tag_id]


def test_an_apply_that_lists_first_waits_out_its_tick() -> None:
    """The race two applies of one second ran into: the first lists before the second has
    made its tag, whose id may sort first. The first waits past its tag's second before it
    lists, so whichever sorts first holds the lock, and only it."""
    emulator = Emulator()
    transport = WholeSecondStamps(EmulatorTransport(emulator))
    outcomes: list[object] = []
    with client_of(emulator, transport) as first, client_of(emulator, transport) as second:

        def meanwhile(seconds: float) -> None:  # the first apply's wait: the second starts
            assert 0 < seconds <= 2.5
            try:  # (the emulator lists alike at any time: neither wait need pass for real)
                outcomes.append(acquire(second, new_mark(), sleep=lambda s: None))
            except OrgLocked as locked:
                outcomes.append(locked)

        try:
            outcomes.insert(0, acquire(first, new_mark(), sleep=meanwhile))
        except OrgLocked as locked:
            outcomes.insert(0, locked)
        held = [o for o in outcomes if isinstance(o, lock_module.ApplyLock)]
        assert len(outcomes) == 2 and len(held) == 1, outcomes
        assert [t.id for t in lock_tags(first)] == [held[0].tag_id]


def test_the_tick_of_a_stamp() -> None:
    assert lock_module.stamp_resolution("2025-10-27T10:00:00.000Z") == 1.0
    assert lock_module.stamp_resolution("2025-10-27T10:00:00Z") == 1.0
    assert lock_module.stamp_resolution("2025-10-27T10:00:00.120Z") == 0.001
    assert lock_module.stamp_resolution("2025-10-27T10:00:00.123456Z") == 0.000001


# -- tallyform apply ----------------------------------------------------------------------------


def cli(root: Path, *args: str) -> tuple[int, str]:
    result = run_cli("-C", str(root), *args)
    return result.exit_code, result.output


def lock_titles(root: Path) -> list[str]:
    with live_api(root) as api:
        rows = api.get("/tags", params={"per_page": 100}).json()["data"]
    return [t["title"] for t in rows if t["title"].startswith(lock_module.LOCK_TITLE)]


def test_a_release_that_keeps_failing_exits_1_and_the_next_apply_proceeds(
    examples_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply(examples_copy)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Vendor", "label: Supplier")
    monkeypatch.setattr(lock_module, "RELEASE_SECONDS", 0.2)
    real_delete = TallyfyClient.delete

    def failing(self: TallyfyClient, path: str) -> None:
        if path.startswith("/tags/"):
            raise Unavailable("Service Unavailable", method="DELETE", path=path, status=503)
        real_delete(self, path)

    monkeypatch.setattr(TallyfyClient, "delete", failing)
    code, output = cli(examples_copy, "apply", "--yes")
    (title,) = lock_titles(examples_copy)
    assert code == 1, output
    assert "Applied: 1 updated" in output
    assert f"could not release the org's apply lock (the tag '{title}'" in output, output
    assert "--break-lock" in output
    records = list((examples_copy / ".tallyform/locks/local").iterdir())
    assert len(records) == 1 and title[-6:] in records[0].read_text(), "the record stays"
    monkeypatch.setattr(TallyfyClient, "delete", real_delete)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Supplier", "label: Seller")
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 0, output
    assert f"Removed the apply lock '{title}': its apply ran on this machine" in output
    assert lock_titles(examples_copy) == []
    assert list((examples_copy / ".tallyform/locks/local").iterdir()) == []
    assert_no_changes(examples_copy)


def test_a_lock_from_elsewhere_whose_lease_ended_is_taken_over(examples_copy: Path) -> None:
    apply(examples_copy)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Vendor", "label: Supplier")
    with live_api(examples_copy) as api:
        old = lease_color(time.time() - (LEASE_MINUTES + 1) * 60)
        api.post("/tags", json={"title": lock_title(OTHER), "color": old})
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 0, output
    assert f"Removed the apply lock '{lock_title(OTHER)}': its lease ended at" in output
    assert lock_titles(examples_copy) == []


def test_a_dead_apply_on_this_machine_is_recognised_by_its_mark(examples_copy: Path) -> None:
    apply(examples_copy)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Vendor", "label: Supplier")
    with live_api(examples_copy) as api:
        now = lease_color(time.time())
        api.post("/tags", json={"title": lock_title(OTHER), "color": now})
    records = examples_copy / ".tallyform/locks/local"
    records.mkdir(parents=True, exist_ok=True)
    (records / "999999999.lock").write_text(f"{socket.gethostname()} 999999999 {OTHER}\n")
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 0, output
    assert "its apply ran on this machine and is no longer running" in output
    assert list(records.iterdir()) == []


@pytest.mark.parametrize("where", ["taking", "releasing"])
def test_a_second_ctrl_c_around_the_lock_never_claims_nothing_was_left(
    examples_copy: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Ctrl-C while the plan is read, and again while the lock is let go (or while it is
    being taken): exit 130, saying the lock may be left; the next apply removes it."""
    import tallyform.engine.locking as locking
    import tallyform.engine.service as service

    apply(examples_copy)
    edit(examples_copy / "templates/purchase-request.yaml", "label: Vendor", "label: Supplier")

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    if where == "taking":
        monkeypatch.setattr(locking, "_take", interrupted)
    else:
        monkeypatch.setattr(service, "plan_for", interrupted)
    monkeypatch.setattr(locking, "marked", interrupted)
    monkeypatch.setattr(locking, "break_lock", interrupted)
    monkeypatch.setattr(lock_module, "break_lock", interrupted)
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 130, output
    assert "may still be there" in output and "--break-lock" in output, output
    assert "nothing was changed" not in output
    monkeypatch.undo()
    code, output = cli(examples_copy, "apply", "--yes")
    assert code == 0, output
    assert lock_titles(examples_copy) == []
    assert_no_changes(examples_copy)


def test_validate_refuses_tags_by_the_locks_own_title() -> None:
    from tallyform.config.semantics import LOCK_TAG_PREFIX

    assert LOCK_TAG_PREFIX == lock_module.LOCK_TITLE
