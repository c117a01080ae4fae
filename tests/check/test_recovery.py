"""Errors in one run: after a syntax error the checks still run on every block that
parsed, findings that depend on a block that did not parse are withheld (no false
alarms), and an S050 note says where checks were skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check.test_checks import _cases, marked
from triage_dsl import check
from triage_dsl.cli import main
from triage_dsl.source import Source
from triage_dsl.syntax.parser import parse_protocol, parse_protocol_recovering

DATA = Path(__file__).resolve().parents[1] / "data" / "check"


@pytest.mark.parametrize(
    ("name", "text"), _cases("recovery.triage"), ids=lambda x: x if "\n" not in x else ""
)
def test_recovery_reports_exactly_the_marked_diagnostics(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.triage"
    path.write_text(text, encoding="utf-8")
    found = sorted((d.span.line, d.code) for d in check(path) if d.suppressed is None)
    assert found == marked(text)


@pytest.mark.parametrize("name", ["sore_throat", "mixed"])
def test_mixed_mistakes_are_reported_in_one_run(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", str(DATA / "recovery" / f"{name}.triage")])
    captured = capsys.readouterr()
    out = (captured.out + captured.err).replace(str(DATA / "recovery") + "/", "")
    assert out == (DATA / "recovery" / f"{name}.expected").read_text(encoding="utf-8")
    assert code == 1


def test_the_reported_example_gives_all_three_mistakes_at_once() -> None:
    """`range 34-43` and `unknown alowed` in one question, `by pager` 13 lines later."""
    found = [(d.span.line, d.code) for d in check(DATA / "recovery" / "sore_throat.triage")]
    assert (9, "S026") in found and (10, "S022") in found and (22, "T050") in found
    assert not any(code == "T005" for _, code in found)  # 'no valid range': the range line was lost


def test_an_imported_library_with_a_broken_question_raises_no_false_alarms(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "shared.triage").write_text(
        'library shared title "s" end\n'
        "question drooling: yesno\n"
        '  ask "Drooling?"\n'
        "end\n"
        'question fever: yes/no ask "Fever?" end\n'
    )
    main_file = lib / "p.triage"
    main_file.write_text(
        'protocol p title "p" version "1" end\n'
        'import "shared.triage"\n'
        'disposition see label "See" tier same_day end\n'
        'disposition home label "Home" tier home_care end\n'
        "triage section see if any of when drooling when fevr end default home end\n"
    )
    found = [(Path(d.span.path).name, d.span.line, d.code) for d in check(main_file)]
    assert ("shared.triage", 2, "S022") in found  # the library's syntax error
    assert ("p.triage", 5, "T020") in found  # 'fevr' is still reported
    assert not any(name == "p.triage" and "drooling" in str(code) for name, _, code in found)
    messages = [d.message for d in check(main_file)]
    assert not any("'drooling'" in m for m in messages if "did not parse" not in m)


def test_parse_protocol_still_returns_no_tree_on_syntax_errors() -> None:
    text = 'protocol p title "p" version "1" end\nquestion q yes/no end\nquestion r: yes/no end\n'
    file, diagnostics = parse_protocol(Source("t.triage", text))
    assert file is None and [d.code for d in diagnostics] == ["S020"]
    recovered, again, damage = parse_protocol_recovering(Source("t.triage", text))
    assert again == diagnostics
    assert recovered is not None and [q.id for q in recovered.items] == ["r"]  # type: ignore[union-attr]
    assert [(d.first_line, d.last_line, d.name, d.whole_block) for d in damage] == [(2, 2, "q", True)]


def test_a_line_dropped_from_a_block_keeps_the_rest_of_it() -> None:
    text = (
        'protocol p title "p" version "1" end\n'
        "question t: number\n"
        '  ask "T?"\n'
        "  range 34-43\n"
        '  unit "C"\n'
        "end\n"
    )
    file, diagnostics, damage = parse_protocol_recovering(Source("t.triage", text))
    assert [d.code for d in diagnostics] == ["S026"]
    assert file is not None
    (question,) = file.items
    assert question.prompt == "T?" and question.unit == "C" and question.range is None  # type: ignore[union-attr]
    assert [(d.first_line, d.whole_block, d.block) for d in damage] == [(4, False, (2, 6))]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "protocol",
        "question q: yes/no end",  # no header
        'protocol p title "p" version "1" end\nend\nend\n',
        'protocol p title "p" version "1" end\nquestion q: yes/no\n' + "  aks\n" * 20 + "end\n",
    ],
)
def test_recovery_never_raises(text: str, tmp_path: Path) -> None:
    path = tmp_path / "t.triage"
    path.write_text(text, encoding="utf-8")
    diagnostics = check(path)
    assert any(d.severity == "error" for d in diagnostics)
