"""``triage_dsl.io.workers.forked_map``: results in the items' order whatever order the
workers finish in, a worker's exception raised in the parent, a worker that dies
reported (never replaced), and no worker left running afterwards."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from triage_dsl.io.workers import WorkerLost, forked_map


def _slow_first(n: int) -> tuple[int, int]:
    time.sleep(0.3 if n == 0 else 0.0)  # the first item finishes last
    return n * n, os.getpid()


def _fails_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n


def _dies_on_two(n: int) -> int:
    if n == 2:
        os._exit(9)
    return n


def test_results_come_in_the_items_order() -> None:
    found = list(forked_map(_slow_first, list(range(12)), 3))
    assert [square for square, _ in found] == [n * n for n in range(12)]
    workers = {pid for _, pid in found}
    assert os.getpid() not in workers and 1 < len(workers) <= 3


def test_a_workers_exception_is_raised_in_the_parent_in_its_place() -> None:
    results = forked_map(_fails_on_three, list(range(6)), 2)
    assert [next(results) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="three"):
        next(results)


def test_a_worker_that_dies_is_reported_and_no_worker_outlives_the_map(tmp_path: Path) -> None:
    before = set(_children())
    with pytest.raises(WorkerLost, match="--jobs 1"):
        list(forked_map(_dies_on_two, list(range(8)), 2))
    assert set(_children()) <= before


def _children() -> list[str]:
    pid = os.getpid()
    return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
