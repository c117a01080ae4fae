"""The trace overlay never shows more than the evaluation decided: questions not asked
yet are not 'visited', and a criterion the caller's "I don't know" left undecided is not
'fired' (it is drawn as taken toward urgency). Golden DOT files pin both drawings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from triage_dsl import evaluate
from triage_dsl.compiler import compile_file
from triage_dsl.render import overlay_of, protocol_dot

DATA = Path(__file__).resolve().parents[1] / "data" / "render"
CASES = {
    "undecided_unknown": {"rash": False, "temp": "unknown"},
    "undecided_waiting": {"rash": False},
}


def _drawing(name: str) -> tuple[str, object]:
    protocol = compile_file(DATA / "undecided.triage")
    result = evaluate(protocol, CASES[name])
    overlay = overlay_of(result, protocol.id)
    return protocol_dot(protocol, overlay=overlay).source.replace(str(DATA) + "/", ""), overlay


@pytest.mark.parametrize("name", sorted(CASES))
def test_undecided_overlay_matches_the_golden_file(name: str) -> None:
    source, _ = _drawing(name)
    golden = DATA / f"{name}.dot"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(source, encoding="utf-8")
    assert source == golden.read_text(encoding="utf-8"), "run with UPDATE_GOLDEN=1 to accept a change"


def test_questions_not_asked_are_not_visited() -> None:
    source, overlay = _drawing("undecided_waiting")
    assert "question:temp" not in overlay.visited and "question:cough" not in overlay.visited  # type: ignore[attr-defined]
    assert {"question:temp", "criterion:0.1", "section:0"} <= overlay.undecided  # type: ignore[attr-defined]
    assert overlay.fired is None  # type: ignore[attr-defined]
    assert "fired" not in source.split("legend [")[0]


def test_an_undecided_criterion_is_not_drawn_as_fired() -> None:
    source, overlay = _drawing("undecided_unknown")
    assert overlay.fired is None  # type: ignore[attr-defined]
    assert overlay.assumed == {"criterion:0.1"}  # type: ignore[attr-defined]
    body = source.split("legend [")[0]
    assert ">fired<" not in body and "not ruled out (unknown)" in body


def test_a_criterion_that_held_is_still_drawn_as_fired() -> None:
    protocol = compile_file(DATA / "undecided.triage")
    overlay = overlay_of(evaluate(protocol, {"rash": True}), protocol.id)
    assert overlay.fired == "criterion:0.0" and not overlay.assumed and not overlay.undecided
