"""The engine's one way to run work side by side: order kept, bound held, errors after the rest."""

from __future__ import annotations

import threading
import time

import pytest

from tallyform.parallel import in_parallel


class _Gauge:
    """Counts the calls running at once, and the most seen."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.threads: set[int] = set()
        self._lock = threading.Lock()

    def run(self, item: int) -> int:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.threads.add(threading.get_ident())
        time.sleep(0.02)
        with self._lock:
            self.now -= 1
        return item * 10


def test_results_keep_the_order_of_the_items_and_the_bound_holds() -> None:
    gauge = _Gauge()
    assert in_parallel(gauge.run, range(12), 3) == [n * 10 for n in range(12)]
    assert 2 <= gauge.most <= 3


def test_one_worker_runs_in_the_callers_thread() -> None:
    gauge = _Gauge()
    assert in_parallel(gauge.run, [1, 2, 3], 1) == [10, 20, 30]
    assert gauge.most == 1 and gauge.threads == {threading.get_ident()}


def test_a_failure_lets_the_calls_under_way_finish_then_is_raised() -> None:
    finished: list[int] = []

    def work(item: int) -> None:
        if item == 1:
            raise ValueError("item 1")
        time.sleep(0.02)
        finished.append(item)

    with pytest.raises(ValueError, match="item 1"):
        in_parallel(work, range(6), 6)
    assert sorted(finished) == [0, 2, 3, 4, 5]
