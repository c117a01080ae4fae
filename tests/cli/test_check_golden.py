"""``triage check --format json protocols/``: the findings of every shipped protocol, byte
for byte (tests/data/golden/check_protocols.json), analysed and then read back from the
findings cache. Speed work on the checks and the analyses must leave this file alone;
``UPDATE_GOLDEN=1`` rewrites it when a finding is meant to change."""

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
    assert list((tmp_path / "cache").glob("findings-*.json"))
    assert _check("protocols/") == analysed  # every protocol's findings from the cache


PROTOCOL = """protocol demo title "Demo" version "1" end
question fever: yes/no ask "Fever?" red flag end
disposition see label "See a doctor" tier same_day end
disposition home label "Home care" tier home_care end
triage section {first} if any of when fever end default {second} end
"""


def test_a_changed_protocol_is_analysed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "demo.triage"
    path.write_text(PROTOCOL.format(first="see", second="home"), encoding="utf-8")
    sound = _check(str(path))
    assert '"A030"' not in sound
    # the red flag now makes the outcome less urgent: the analyses must say so
    path.write_text(PROTOCOL.format(first="home", second="see"), encoding="utf-8")
    assert '"A030"' in _check(str(path))
    path.write_text(PROTOCOL.format(first="see", second="home"), encoding="utf-8")
    assert _check(str(path)) == sound
    assert len(list((tmp_path / "cache").glob("findings-*.json"))) == 2


def test_a_damaged_cache_file_is_analysed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "demo.triage"
    path.write_text(PROTOCOL.format(first="home", second="see"), encoding="utf-8")
    findings = _check(str(path))
    (cached,) = (tmp_path / "cache").glob("findings-*.json")
    for damage in ("[1, 2]", "{", '[["x"]]', "null"):
        cached.write_text(damage, encoding="utf-8")
        assert _check(str(path)) == findings
