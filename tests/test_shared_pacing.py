"""One pacing budget per org for every tallyform process of a machine (issue 22).

Several commands within a minute (a plan, its apply, a plan to check; CI jobs on one
runner) each used to start with a full bucket and meet 429s. The bucket now lives in a
file per org, under a file lock: pacers that share it share the budget.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest

from tallyform.client.pacing import DEFAULT_BURST, Pacer, shared_bucket
from tests.client_helpers import FakeTime


def test_two_pacers_on_one_file_share_the_burst(tmp_path: Path) -> None:
    clock = FakeTime()
    bucket = tmp_path / "org.json"
    first = Pacer(600, clock=clock, sleep=clock.sleep, shared=bucket)
    second = Pacer(600, clock=clock, sleep=clock.sleep, shared=bucket)
    alone = Pacer(600, clock=clock, sleep=clock.sleep, shared=tmp_path / "other.json")
    assert [first.acquire() for _ in range(DEFAULT_BURST)] == [0.0] * DEFAULT_BURST
    assert second.acquire() > 0, "the burst was spent by the first"
    assert alone.acquire() == 0.0, "another org's bucket is its own"


def test_a_429_held_by_one_process_holds_the_others(tmp_path: Path) -> None:
    clock = FakeTime()
    bucket = tmp_path / "org.json"
    first = Pacer(600, clock=clock, sleep=clock.sleep, shared=bucket)
    second = Pacer(600, clock=clock, sleep=clock.sleep, shared=bucket)
    first.acquire()
    first.hold(30.0)
    assert second.acquire() == pytest.approx(30.0)


@pytest.mark.parametrize("content", [b"", b"not json", b'{"tokens": "x"}', b"[1, 2]"])
def test_a_damaged_bucket_file_is_written_anew(tmp_path: Path, content: bytes) -> None:
    clock = FakeTime()
    bucket = tmp_path / "org.json"
    bucket.write_bytes(content)
    pacer = Pacer(600, clock=clock, sleep=clock.sleep, shared=bucket)
    assert pacer.acquire() == 0.0
    assert Pacer(600, clock=clock, sleep=clock.sleep, shared=bucket)._tokens == DEFAULT_BURST
    assert '"tokens"' in bucket.read_text()


def test_a_bucket_that_cannot_be_a_file_paces_alone(tmp_path: Path) -> None:
    clock = FakeTime()
    (tmp_path / "org.json").mkdir()
    pacer = Pacer(600, clock=clock, sleep=clock.sleep, shared=tmp_path / "org.json")
    assert [pacer.acquire() for _ in range(DEFAULT_BURST)] == [0.0] * DEFAULT_BURST
    assert pacer.shared is None


def _burst(
    bucket: str, go: Any, ready: Any, results: multiprocessing.Queue[tuple[int, float]]
) -> None:
    import time

    pacer = Pacer(600, clock=time.time, sleep=lambda s: None, shared=Path(bucket))
    ready.release()
    go.wait(30)
    unwaited = sum(1 for _ in range(DEFAULT_BURST) if pacer.acquire() == 0.0)
    results.put((unwaited, time.time()))


def test_processes_at_once_share_one_burst(tmp_path: Path) -> None:
    """Three processes, started and then let go at one moment, each ask for a whole burst:
    together they get one, and what the bucket refilled (10 a second) while they ran."""
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[tuple[int, float]] = context.Queue()
    go, ready = context.Event(), context.Semaphore(0)
    bucket = str(tmp_path / "org.json")
    procs = [context.Process(target=_burst, args=(bucket, go, ready, results)) for _ in range(3)]
    for proc in procs:
        proc.start()
    for _ in procs:
        assert ready.acquire(timeout=30), "a process did not start"
    started = time.time()
    go.set()
    for proc in procs:
        proc.join(30)
    outcomes = [results.get(timeout=5) for _ in procs]
    unwaited = [count for count, _ in outcomes]
    ran = max(end for _, end in outcomes) - started
    refilled = int(ran * 600 / 60) + 1
    assert sum(unwaited) <= DEFAULT_BURST + refilled, (unwaited, ran)


def test_the_cli_keeps_one_bucket_per_org_in_the_users_cache(tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    first = shared_bucket("1505bb7b9ba5f8972ffd3fe1ca18ec0c", "https://go.tallyfy.com/api", env)
    again = shared_bucket("1505bb7b9ba5f8972ffd3fe1ca18ec0c", "https://go.tallyfy.com/api/", env)
    other = shared_bucket("1505bb7b9ba5f8972ffd3fe1ca18ec0c", "http://127.0.0.1:8080/api", env)
    assert first == again != other
    assert first.parent == tmp_path / "tallyform" / "pacing"
    assert shared_bucket("../../etc", "x", env).parent == first.parent


def test_a_tallyfy_orgs_client_paces_through_the_shared_bucket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tallyform.cli.connect import open_client
    from tallyform.config import find_config, load_project

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "templates").mkdir()
    (tmp_path / "tallyform.yaml").write_text(
        "version: 1\ntemplates: templates\ndefault_org: prod\norgs:\n  prod:\n"
        "    org_id: 1505bb7b9ba5f8972ffd3fe1ca18ec0c\n"
    )
    project, problems = load_project(find_config(tmp_path))
    assert project is not None, problems
    org = project.orgs["prod"]
    with open_client(org, env={"TALLYFY_API_TOKEN": "a-token-of-some-length"}) as client:
        assert client.pacer.shared == shared_bucket(org.org_id or "", org.api_url)
        client.pacer.acquire()
    assert client.pacer.shared is not None and client.pacer.shared.is_file()
