"""Golden hints for the mistakes a new author makes (one protocol each, the whole output of
``triage check`` pinned in ``tests/data/check/hints/NAME.expected``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage_dsl.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "check" / "hints"


@pytest.mark.parametrize("name", sorted(p.stem for p in DATA.glob("*.triage")))
def test_check_output_matches_the_golden_file(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--no-analysis", str(DATA / f"{name}.triage")])
    captured = capsys.readouterr()
    out = (captured.out + captured.err).replace(str(DATA) + "/", "")
    assert out == (DATA / f"{name}.expected").read_text(encoding="utf-8")
    assert code == 1


def test_golden_files_cover_the_four_reported_hints() -> None:
    codes = {p.stem: p.read_text(encoding="utf-8") for p in DATA.glob("*.expected")}
    assert "write 'range 34 to 43'" in codes["range_dash"]
    assert "'when not drooling' (no); numbers take no quotes" in codes["quoted_yes"]
    assert (
        "dangling_and.triage:44:18: error[S027]: the condition continues on the next line"
        in codes["dangling_and"]
    )
    assert "compares numbers" not in codes["yes_no_number"]
    assert "^^^^^^^^^^^^" in codes["yes_no_number"]  # the whole comparison, '1' included
