"""The LALR parser kept on disk between runs (triage_dsl/syntax/grammar.py, io/cache.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from lark import Lark

from tests.conftest import PROTOCOLS
from triage_dsl.io import cache
from triage_dsl.source import Source
from triage_dsl.syntax import grammar, parser


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder and no parser built yet in this process."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(folder))
    grammar.lark_parser.cache_clear()
    yield folder
    grammar.lark_parser.cache_clear()


def _cached_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_first_build_is_saved_and_the_next_loaded(fresh: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grammar.lark_parser()
    key = grammar.parser_key(grammar.grammar_path().read_text(encoding="utf-8"))
    assert _cached_files(fresh) == [f"parser-{key}.pickle"]
    assert (fresh.stat().st_mode & 0o777) == 0o700
    grammar.lark_parser.cache_clear()
    built: list[object] = []
    monkeypatch.setattr(Lark, "__init__", lambda *a, **k: built.append(a))
    assert grammar.lark_parser().terminals
    assert built == []  # loaded, not built


def test_a_loaded_parser_reads_every_protocol_as_a_built_one(fresh: Path) -> None:
    paths = sorted(PROTOCOLS.rglob("*.triage"))
    assert len(paths) > 10

    def parse_all() -> list[object]:
        return [parser.parse_protocol(Source(str(p), p.read_text(encoding="utf-8"))) for p in paths]

    built = parse_all()  # built from the grammar (the cache was empty)
    grammar.lark_parser.cache_clear()
    assert parse_all() == built  # loaded from the file just written


def test_a_damaged_file_is_rebuilt_and_replaced(fresh: Path) -> None:
    grammar.lark_parser()
    (path,) = fresh.iterdir()
    path.write_bytes(b"not a parser")
    grammar.lark_parser.cache_clear()
    assert grammar.lark_parser().terminals
    assert path.read_bytes() != b"not a parser"


def test_a_grammar_change_changes_the_key() -> None:
    text = grammar.grammar_path().read_text(encoding="utf-8")
    assert grammar.parser_key(text) == grammar.parser_key(text)
    assert grammar.parser_key(text + "\n// changed\n") != grammar.parser_key(text)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(locked / "cache"))
    assert cache.cache_dir() is None
    grammar.lark_parser.cache_clear()
    try:
        assert grammar.lark_parser().terminals
    finally:
        grammar.lark_parser.cache_clear()


def test_a_file_where_the_folder_should_be_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cache").write_text("a file")
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    assert cache.cache_dir() is None
    assert not cache.write_cached(tmp_path / "cache", "x", b"data")


@pytest.mark.skipif(os.name != "posix", reason="permission bits")
def test_a_folder_others_may_write_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(shared))
    assert cache.cache_dir() is None


@pytest.mark.skipif(os.name != "posix", reason="permission bits")
def test_a_file_others_may_write_is_not_read(tmp_path: Path) -> None:
    assert cache.write_cached(tmp_path, "parser", b"data")
    assert cache.read_cached(tmp_path, "parser") == b"data"
    (tmp_path / "parser").chmod(0o666)
    assert cache.read_cached(tmp_path, "parser") is None
    assert cache.read_cached(tmp_path, "missing") is None


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_link_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_bytes(b"data")
    (tmp_path / "parser").symlink_to(tmp_path / "elsewhere")
    assert cache.read_cached(tmp_path, "parser") is None
