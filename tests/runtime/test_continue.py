"""``continue with``: a section hands the call to another protocol with the same answers."""

from __future__ import annotations

from pathlib import Path

from triage_dsl import check, evaluate, load

DATA = Path(__file__).resolve().parents[1] / "data" / "continue"


def test_continue_with_evaluates_the_other_protocol() -> None:
    chest = load(DATA / "chest.triage")
    result = evaluate(chest, {"chest_pain": False, "short_of_breath": True, "blue_lips": True})
    assert result.status == "complete" and result.disposition is not None
    assert result.disposition.id == "er"
    assert [e.protocol for e in result.trace][-4:] == ["breathing"] * 4
    assert any(e.kind == "continue" and e.value == "breathing" for e in result.trace)


def test_continue_with_asks_the_other_protocols_questions() -> None:
    result = evaluate(load(DATA / "chest.triage"), {"chest_pain": False, "short_of_breath": True})
    assert result.status == "needs_answers" and result.missing == ["blue_lips"]
    assert result.next_question is not None and result.next_question.prompt == "Blue lips?"


def test_a_question_must_mean_the_same_in_both_protocols() -> None:
    codes = [(d.code, d.span.line) for d in check(DATA / "conflict.triage")]
    assert codes == [("T065", 6)]


def test_import_cycle_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.triage").write_text('library a title "a" end\nimport "b.triage"\n')
    (tmp_path / "b.triage").write_text('library b title "b" end\nimport "a.triage"\n')
    diagnostics = check(tmp_path / "a.triage")
    assert [d.code for d in diagnostics] == ["T070"]
    assert "import cycle:" in diagnostics[0].message and "a.triage -> " in diagnostics[0].message


def test_missing_import_is_reported(tmp_path: Path) -> None:
    (tmp_path / "p.triage").write_text(
        'protocol p title "p" version "1" end\nimport "nowhere.triage"\n'
        'disposition h label "H" tier home_care end\ntriage default h end\n'
    )
    (d,) = check(tmp_path / "p.triage")
    assert (d.code, d.span.line, d.span.column) == ("T072", 2, 1)
    assert "cannot import 'nowhere.triage'" in d.message


def test_a_protocol_too_large_is_refused_with_a_clear_error(monkeypatch: object, tmp_path: Path) -> None:
    import triage_dsl.compiler as compiler

    monkeypatch.setattr(compiler, "MAX_GRAPH_NODES", 5)  # type: ignore[attr-defined]
    compiler._CACHE.clear()
    diagnostics = check(DATA / "breathing.triage")
    assert [d.code for d in diagnostics] == ["T078"]
    compiler._CACHE.clear()
    assert {d.code for d in check(DATA / "chest.triage")} == {"T078", "T073"}
    assert "graph nodes" in diagnostics[0].message
