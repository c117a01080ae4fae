"""``triage fmt`` through ``main([...])``: rewriting, --check, refusing broken files."""

from __future__ import annotations

import io
import os
from pathlib import Path

from triage_dsl.cli import main

MESSY = "library l end\nvalue  v=1 # one\n"
TIDY = "library l\nend\n\nvalue v = 1  # one\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_fmt_rewrites_files_in_a_folder_and_keeps_their_mode(tmp_path: Path) -> None:
    messy, tidy = tmp_path / "a.triage", tmp_path / "b.triage"
    messy.write_text(MESSY)
    tidy.write_text(TIDY)
    os.chmod(messy, 0o640)
    before = tidy.stat().st_mtime_ns
    code, out, err = run("fmt", str(tmp_path))
    assert code == 0
    assert out == f"reformatted {messy}\n"
    assert "1 file(s) reformatted, 1 already formatted" in err
    assert messy.read_text() == TIDY and messy.stat().st_mode & 0o777 == 0o640
    assert tidy.stat().st_mtime_ns == before, "a formatted file is not written again"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"


def test_fmt_check_lists_files_that_would_change_and_writes_nothing(tmp_path: Path) -> None:
    messy = tmp_path / "a.triage"
    messy.write_text(MESSY)
    code, out, _ = run("fmt", "--check", str(messy))
    assert (code, out) == (1, f"would reformat {messy}\n")
    assert messy.read_text() == MESSY
    messy.write_text(TIDY)
    assert run("fmt", "--check", str(messy))[0] == 0


def test_fmt_refuses_a_file_with_syntax_errors_and_leaves_it_alone(tmp_path: Path) -> None:
    broken, messy = tmp_path / "a.triage", tmp_path / "b.triage"
    broken.write_text("protocol x\n question q: yes/no\n")
    messy.write_text(MESSY)
    code, _, err = run("fmt", str(tmp_path))
    assert code == 2
    assert "error[S" in err and "has syntax errors; fix them first (not formatted)" in err
    assert broken.read_text() == "protocol x\n question q: yes/no\n"
    assert messy.read_text() == TIDY, "the other files are still formatted"


def test_fmt_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("fmt", str(tmp_path / "nope.triage"))
    assert code == 2 and "nope.triage" in err
