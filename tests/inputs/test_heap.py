"""settle_heap: what a long-running process has loaded leaves the garbage collector's walks."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from triage_dsl.io.heap import MIDDLE_THRESHOLD, YOUNG_THRESHOLD, settle_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


@pytest.fixture
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settling_freezes_what_is_alive_and_later_cycles_are_still_collected(unfrozen: None) -> None:
    kept = _Node()
    settle_heap()
    assert gc.get_freeze_count() > 0
    assert not any(o is kept for o in gc.get_objects())  # no collection walks it now
    later = _Node()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None  # garbage made after the freeze is still collected


def test_settling_collects_the_youngest_generation_less_often(unfrozen: None) -> None:
    gc.set_threshold(700, 10, 10)
    settle_heap()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, 10)
    assert gc.isenabled()


def test_the_service_settles_its_heap_when_it_starts(unfrozen: None, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from triage_dsl.service.app import create_app

    root = Path(__file__).resolve().parents[2]
    app = create_app(root / "protocols" / "rules", f"sqlite:///{tmp_path / 'db'}", data_folder=tmp_path)
    try:
        assert gc.get_freeze_count() == 0
        gc.set_threshold(700, 10, 10)
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
            assert client.get("/healthz").status_code == 200
    finally:
        app.state.db.dispose()
