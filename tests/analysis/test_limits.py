"""An answer space too large to search exactly is a finding (A000), never a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS
from triage_dsl import load
from triage_dsl.analysis import findings_of, search
from triage_dsl.cli import main

MEDICATION = PROTOCOLS / "telephone" / "medication_question.triage"


def test_a_search_past_its_limit_is_reported_as_a000(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "MAX_NODES", 5)
    findings = findings_of(load(MEDICATION))
    assert [(f.code, f.severity) for f in findings] == [("A000", "warning")]
    assert "more than 5 answer sets searched" in findings[0].message


def test_check_says_so_and_exits_as_for_a_warning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(search, "MAX_NODES", 5)
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path))  # no findings from an earlier run
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", str(MEDICATION)], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert "warning[A000]" in out.getvalue() + err.getvalue()


def test_a_comparison_past_its_limit_is_reported_as_a000_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from triage_dsl.analysis import joint, tree

    monkeypatch.setattr(joint, "MAX_STATES", 5)
    monkeypatch.setattr(tree, "MAX_NODES", 5)  # no decision tree: every comparison by pairs
    findings = findings_of(load(MEDICATION))
    assert [f.code for f in findings] == ["A000"]
    assert "states compared for one question" in findings[0].message
