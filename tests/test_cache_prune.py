"""The cache folder stays bounded: the least recently used files go first."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from triage_dsl.io import cache
from triage_dsl.io.cache import prune, read_cached, write_cached


def _files(folder: Path, n: int, size: int = 10) -> None:
    """``n`` files, f000 the oldest (one hour apart, two days ago and earlier)."""
    start = time.time() - 2 * 24 * 3600
    for i in range(n):
        path = folder / f"f{i:03}"
        path.write_bytes(b"x" * size)
        os.utime(path, (start - (n - i) * 3600, start - (n - i) * 3600))


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_under_both_limits_nothing_is_removed(tmp_path: Path) -> None:
    _files(tmp_path, 10)
    assert prune(tmp_path, max_files=10, max_bytes=1000) == 0 and len(_left(tmp_path)) == 10


def test_over_the_count_the_oldest_go_down_to_three_quarters(tmp_path: Path) -> None:
    _files(tmp_path, 11)
    assert prune(tmp_path, max_files=10, max_bytes=10**6) == 4
    assert _left(tmp_path) == [f"f{i:03}" for i in range(4, 11)]  # 7 = 0.75 * 10, rounded down


def test_over_the_size_the_oldest_go_too(tmp_path: Path) -> None:
    _files(tmp_path, 10, size=100)  # 1,000 bytes
    assert prune(tmp_path, max_files=100, max_bytes=800) == 4  # down to 600 = 0.75 * 800
    assert _left(tmp_path) == [f"f{i:03}" for i in range(4, 10)]


def test_a_file_read_back_counts_as_used(tmp_path: Path) -> None:
    _files(tmp_path, 11)
    assert read_cached(tmp_path, "f000") == b"x" * 10  # the oldest, read: marked used now
    prune(tmp_path, max_files=10, max_bytes=10**6)
    assert "f000" in _left(tmp_path) and "f001" not in _left(tmp_path)


def test_writing_prunes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _files(tmp_path, 10)
    monkeypatch.setattr(cache, "MAX_FILES", 10)
    assert write_cached(tmp_path, "new", b"y")
    left = _left(tmp_path)
    assert "new" in left and "f000" not in left and len(left) == 7


def test_folders_and_links_are_left_alone(tmp_path: Path) -> None:
    _files(tmp_path, 11)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "f010")
    prune(tmp_path, max_files=10, max_bytes=10**6)
    assert {"sub", "link"} <= set(_left(tmp_path))
