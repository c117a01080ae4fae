"""Golden hints for the mistakes a new author makes (one protocol each, the whole output of
``triage check`` pinned in ``tests/data/check/hints/NAME.expected``)."""

from __future__ import annotations

from difflib import get_close_matches
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage_dsl.cli import main
from triage_dsl.errors import SIMILARITY, did_you_mean

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


_NAMES = st.text(alphabet="abcdefghijklmnop_0123", min_size=0, max_size=12)


@settings(max_examples=400, deadline=None)
@given(name=_NAMES, candidates=st.lists(_NAMES, max_size=8))
def test_the_narrowed_suggestion_is_difflibs_own(name: str, candidates: list[str]) -> None:
    """Narrowing the candidates before difflib never changes the hint it gives."""
    plain = get_close_matches(name, sorted(set(candidates)), n=1, cutoff=SIMILARITY)
    expected = f"did you mean '{plain[0]}'?" if plain else None
    assert did_you_mean(name, candidates) == expected


@pytest.mark.parametrize(
    ("name", "candidates", "hint"),
    [
        ("temprature", ["temperature", "pulse"], "did you mean 'temperature'?"),
        ("m12345", ["home", "see"], None),
        ("fevr", ["fever", "fevers"], "did you mean 'fever'?"),
        ("", ["fever"], None),
        ("x", [], None),
    ],
)
def test_did_you_mean_table(name: str, candidates: list[str], hint: str | None) -> None:
    assert did_you_mean(name, candidates) == hint
