"""`triage check` keeps what it found in a file (triage_dsl/stored_checks.py): a later run
over unchanged files prints the same bytes without parsing them again, and any change to
the file, to a file it imports, or to how it is checked checks it afresh."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS
from triage_dsl import commands, stored_checks
from triage_dsl.cli import main

SHIPPED = sorted(PROTOCOLS.rglob("*.triage"))

LIBRARY = """library kept_lib
  title "Kept library"
  version "1"
  disclaimer "Example only."
end

tiers
  tier emergency "Emergency" within 0 minutes
  tier home_care "Home care"
end

question fever: yes/no
  ask "Fever?"
  red flag
end
"""

PROTOCOL = """protocol kept title "Kept" version "1"
  disclaimer "Example only."
end
import "lib.triage"
disposition er label "Emergency" tier emergency end
disposition home label "Home" tier home_care end
triage section er if any of when fever end default home end
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache folder of the test's own, empty at the start."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(folder))
    yield folder


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the check really parses and checks (not read back), in order."""
    seen: list[str] = []
    real = commands._check_file

    def counting(path: Path, roots: list[str] | None, analysed: bool) -> object:
        seen.append(str(path))
        return real(path, roots, analysed)

    monkeypatch.setattr(commands, "_check_file", counting)
    return seen


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_kept_check_prints_what_a_fresh_one_prints(path: Path, cache: Path, checks: list[str]) -> None:
    argv = ("check", str(path), "--no-analysis", "--show-suppressed")
    fresh = run(*argv)
    assert checks == [str(path)]
    assert run(*argv) == fresh  # text: the caret excerpts come from the files read again
    assert checks == [str(path)]  # ... without checking the file again
    as_json = run(*argv, "--format", "json")
    assert checks == [str(path)]
    assert json.loads(as_json[1])["findings"] == [
        *json.loads(_fresh_json(path, argv))["findings"],
    ]


def _fresh_json(path: Path, argv: tuple[str, ...]) -> str:
    """The JSON output of a check that keeps nothing and reads nothing kept."""
    saved = os.environ["TRIAGE_CACHE_DIR"]
    os.environ["TRIAGE_CACHE_DIR"] = saved + "-fresh"
    try:
        return run(*argv, "--format", "json")[1]
    finally:
        os.environ["TRIAGE_CACHE_DIR"] = saved
        shutil.rmtree(saved + "-fresh", ignore_errors=True)


def test_the_analyses_findings_are_kept_with_the_file(cache: Path, checks: list[str]) -> None:
    path = str(PROTOCOLS / "rules" / "ottawa_ankle.triage")  # a W090 warning, and suppressed findings
    fresh = run("check", path, "--show-suppressed")
    assert "warning[W090]" in fresh[1] and "suppressed:" in fresh[1]
    assert run("check", path, "--show-suppressed") == fresh
    assert checks == [path]
    run("check", path, "--no-analysis")  # another way of checking: its own entry
    assert checks == [path, path]


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "project" / "protocols"
    folder.mkdir(parents=True)
    (folder / "lib.triage").write_text(LIBRARY, encoding="utf-8")
    (folder / "kept.triage").write_text(PROTOCOL, encoding="utf-8")
    return folder / "kept.triage"


def test_a_changed_import_is_checked_afresh(tmp_path: Path, cache: Path, checks: list[str]) -> None:
    path = _project(tmp_path)
    first = run("check", str(path))
    assert first[0] == 0 and run("check", str(path)) == first
    assert checks == [str(path)]
    # the imported library changes (the protocol's own text does not): a mistake in it
    lib = path.with_name("lib.triage")
    lib.write_text(LIBRARY.replace('"Home care"', '"Home care" home_care'), encoding="utf-8")
    second = run("check", str(path))
    assert checks == [str(path), str(path)]
    assert second[0] == 1 and "lib.triage:9:" in second[1]


def test_a_file_with_an_error_is_not_kept(tmp_path: Path, cache: Path, checks: list[str]) -> None:
    path = _project(tmp_path)
    path.with_name("lib.triage").unlink()  # the import is missing: an error
    first = run("check", str(path))
    assert first[0] == 1 and "error" in first[1]
    # the missing file appears: the next run must see it, so the error was not kept
    path.with_name("lib.triage").write_text(LIBRARY, encoding="utf-8")
    second = run("check", str(path))
    assert second[0] == 0
    assert checks == [str(path), str(path)]


def test_an_edited_file_is_checked_afresh(tmp_path: Path, cache: Path, checks: list[str]) -> None:
    path = _project(tmp_path)
    run("check", str(path))
    path.write_text(PROTOCOL.replace("Kept", "Kept again"), encoding="utf-8")
    run("check", str(path))
    assert checks == [str(path), str(path)]


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not json",
        b"[]",
        b'{"files": [], "diagnostics": []}',
        b'{"files": [["x", 1]], "diagnostics": []}',
    ],
)
def test_a_damaged_kept_result_is_ignored(
    tmp_path: Path, cache: Path, checks: list[str], damage: bytes
) -> None:
    path = _project(tmp_path)
    fresh = run("check", str(path))
    (kept,) = cache.glob(f"{stored_checks.FORMAT}-*.json")
    kept.write_bytes(damage)
    assert run("check", str(path)) == fresh
    assert checks == [str(path), str(path)]
