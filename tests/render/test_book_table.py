"""The book's decision table is kept in the cache folder: the same HTML read back, made
again when the protocol (its key) changes or the file is damaged."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage_dsl import load
from triage_dsl.render import table as table_module
from triage_dsl.render.table import decision_table, table_html

PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"


def test_the_kept_table_is_the_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))
    protocol = load(PROTOCOLS / "telephone" / "chest_pain_adult.triage")
    made = table_html(protocol)
    assert made is not None and "<table" in made
    assert decision_table(protocol) == made
    (stored,) = list(tmp_path.glob("book-table-*.html"))
    calls: list[object] = []
    monkeypatch.setattr(table_module, "table_html", lambda p: calls.append(p) or "made again")
    assert decision_table(protocol) == made  # read back, not made
    assert calls == []
    stored.write_bytes(b"\xff\xfe not text")
    assert decision_table(protocol) == "made again"
    assert stored.read_text(encoding="utf-8") == "made again"
    other = load(PROTOCOLS / "telephone" / "head_injury.triage")
    assert decision_table(other) == "made again" and calls == [protocol, other]
