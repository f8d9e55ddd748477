"""Running one function over many items at once, with a bound its caller chooses.

The HTTP client runs nothing in parallel by itself (it is only safe to share between
threads): the engine decides how many requests may be under way at once (a command's
``--parallelism``, :data:`DEFAULT_WORKERS` unless given) and hands that count down to
what it calls: reading the org and its lists, applying templates. Each of those runs its
work with :func:`in_parallel` and that count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

DEFAULT_WORKERS = 8  # requests at once unless a command says otherwise (--parallelism)

T = TypeVar("T")
R = TypeVar("R")


def in_parallel(function: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    """``function`` over ``items``, at most ``workers`` at once, the results in the items'
    order. When a call raises, the items not yet started are dropped, the calls under way
    finish, then the exception (the first in the items' order) is raised here. One item,
    or one worker, runs in the caller's thread."""
    work = list(items)
    if len(work) <= 1 or workers <= 1:
        return [function(item) for item in work]
    with ThreadPoolExecutor(max_workers=min(workers, len(work))) as pool:
        return list(pool.map(function, work))
