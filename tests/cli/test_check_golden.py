"""``triage check --format json protocols/``: the findings of every shipped protocol, byte
for byte (tests/data/golden/check_protocols.json). Speed work on the checks and the
analyses must leave this file alone; ``UPDATE_GOLDEN=1`` rewrites it when a finding is
meant to change."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.conftest import ROOT
from triage_dsl.cli import main

GOLDEN = ROOT / "tests" / "data" / "golden" / "check_protocols.json"


def _check(*paths: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", "--format", "json", *paths], stdout=out, stderr=err) == 0, err.getvalue()
    return out.getvalue()


def test_findings_of_every_shipped_protocol_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    analysed = _check("protocols/")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(analysed, encoding="utf-8")
    assert analysed == GOLDEN.read_text(encoding="utf-8")
