"""A shared thread pool for numpy work that releases the GIL (ufuncs, sorting, random draws).

Work is split into as many parts as the machine has cores, like torch's intra-op threads; small inputs run inline.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

_POOL: ThreadPoolExecutor | None = None


def workers() -> int:
    return os.cpu_count() or 1


def pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="typicality")
    return _POOL


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous, non-empty ranges covering [0, n) in at most ``parts`` pieces."""
    bounds = np.linspace(0, n, min(parts, max(n, 1)) + 1).astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]


def plan(n: int, *, parallel: bool) -> list[tuple[int, int]]:
    """The ranges to run: one per core when ``parallel`` (and worth it), else the whole of [0, n)."""
    return split(n, workers()) if parallel and n >= 2 else [(0, n)]


def run_ranges(fn: Callable[[int, int], Any], ranges: list[tuple[int, int]]) -> list[Any]:
    """fn(lo, hi) for each range, on the pool when there is more than one (exceptions re-raised here)."""
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    futures = [pool().submit(fn, a, b) for a, b in ranges]
    return [f.result() for f in futures]
