"""The smaller authoring fixes: `check` of a missing file, `book` of one protocol,
generated case names, undeclared questions in scenarios, unread shared questions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.test_cli import run
from tests.conftest import PROTOCOLS
from triage_dsl.analysis.cases import MAX_NAME, case_name, generate
from triage_dsl.compiler import compile_file
from triage_dsl.render.dot import node_id, protocol_dot


def test_check_of_a_missing_file_is_exit_2() -> None:
    code, _, err = run("check", "no/such/file.triage")
    assert code == 2 and "no/such/file.triage: no such file" in err


def test_check_json_gives_a_missing_file_the_keys_of_every_finding(tmp_path: Path) -> None:
    bad = tmp_path / "bad.triage"
    bad.write_text('protocol bad title "b" version "1" end\ntriage default nowhere end\n')
    code, out, _ = run("check", "--format", "json", str(bad), str(tmp_path / "missing.triage"))
    assert code == 2  # an unreadable input outranks the errors of the files that were read
    findings = json.loads(out)["findings"]
    missing = [f for f in findings if f["code"] == "F001"]
    others = [f for f in findings if f["code"] != "F001"]
    assert len(missing) == 1 and others
    assert set(missing[0]) == set(others[0])
    assert missing[0]["line"] is None and missing[0]["severity"] == "error"


def test_book_accepts_a_single_protocol_file(tmp_path: Path) -> None:
    site = tmp_path / "site"
    code, out, err = run("book", str(PROTOCOLS / "pathways" / "heart_pathway.triage"), "-o", str(site))
    assert code == 0, err
    assert "for 1 protocol(s)" in out
    pages = sorted(p.name for p in site.iterdir())
    assert "pathways-heart_pathway.html" in pages
    assert "source-rules-rules.triage.html" in pages  # the library it imports has its page
    assert not any(p.startswith("telephone-") for p in pages)


def test_book_refuses_a_file_that_is_not_a_protocol(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("x")
    code, _, err = run("book", str(other), "-o", str(tmp_path / "site"))
    assert code == 2 and "not a folder of protocols, nor a .triage file" in err


@pytest.mark.parametrize(
    ("phrases", "name"),
    [
        (["a yes"], "row 1: a yes"),
        (["a no", "b yes"], "row 1: a no; b yes"),
        (
            [f"question_{i} no" for i in range(12)] + ["seizure yes"],
            "row 1: question_0 no; question_1 no; question_2 no; question_3 no; question_4 no; "
            "question_5 no; question_6 no; question_7 no; ... 4 more; seizure yes",
        ),
        (["x" * 200], "row 1: " + "x" * 140 + "..."),
        (["a " * 100], "row 1: " + "a " * 69 + "a..."),
    ],
)
def test_case_names_keep_whole_phrases(phrases: list[str], name: str) -> None:
    assert case_name("row 1: ", phrases) == name


@given(st.lists(st.text(alphabet="abc_ ", min_size=1, max_size=40), min_size=1, max_size=30))
def test_case_names_fit_and_never_cut_a_phrase(phrases: list[str]) -> None:
    phrases = [p.strip() or "q" for p in phrases]
    name = case_name("row 9: ", phrases)
    assert len(name) <= MAX_NAME
    body = name.removeprefix("row 9: ")
    if "..." not in body:
        assert body == "; ".join(phrases)
    else:
        for part in body.split("; "):
            assert part in phrases or part.startswith("... ") or part.endswith("...")


def test_generated_case_names_of_a_long_protocol_end_with_the_deciding_phrase() -> None:
    text = generate(compile_file(PROTOCOLS / "telephone" / "fever_child.triage"))
    names = [line.split('"')[1] for line in text.splitlines() if line.startswith("scenario ")]
    assert names and all(len(n) <= MAX_NAME for n in names)
    rows = [n for n in names if n.startswith("row ") and "more; " in n]
    assert rows, "the fever protocol has rows too long for one name"
    deciding = (" yes", " no", " unknown")  # "fever_or_unwell yes, unknown": a floor that holds
    assert all(n.rsplit("; ", 1)[1].endswith(deciding) or "=" in n or "<" in n for n in rows)


def test_an_undeclared_question_in_a_scenario_gets_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "fever.triage").write_text(
        'protocol fever title "F" version "1" end\n'
        'question rash: yes/no ask "Rash?" end\n'
        'disposition ed label "ED" tier urgent end\n'
        'disposition home label "Home" tier home_care end\n'
        "triage section ed if any of when rash end default home end\n"
    )
    (tmp_path / "fever.scenarios").write_text(
        'baseline rahs = no\nscenario "typo"\n  given rsh = yes\n  without rahs\n  expect ed\nend\n'
    )
    code, out, _ = run("test", str(tmp_path))
    assert code == 1
    unknown = "got no such question in the protocol; did you mean 'rash'?"
    assert f"fever.scenarios:1:10: expected question 'rahs', {unknown}" in out
    assert f"fever.scenarios:3:9: expected question 'rsh', {unknown}" in out
    assert "fever.scenarios:2:1: expected question 'rahs'" in out  # the `without` line
    assert "expected valid answers" not in out  # said once, where the name is written


def test_shared_questions_no_criterion_reads_are_not_drawn() -> None:
    protocol = compile_file(PROTOCOLS / "telephone" / "fever_child.triage")
    dot = protocol_dot(protocol).source
    for shared in ("age_years", "pregnant", "callback_number_confirmed"):
        assert f'"{node_id("question:" + shared)}" [' not in dot
    assert f'"{node_id("question:breathing_hard")}" [' in dot
    assert f'"{node_id("question:non_blanching_rash")}" [' in dot  # read by the shared screen
    # the count follows the shared library (the first screen's questions are read once the
    # protocol runs the screen): the three above are among them
    drawn = re.search(r"Not drawn: (\d+)<BR[^>]*>shared question\(s\) it does not read", dot)
    assert drawn is not None and int(drawn.group(1)) >= 3


def test_unread_questions_of_the_protocol_itself_are_still_drawn(tmp_path: Path) -> None:
    path = tmp_path / "p.triage"
    path.write_text(
        'protocol p title "P" version "1" end\n'
        'question rash: yes/no ask "Rash?" end\n'
        'question spare: yes/no ask "Spare?" end\n'
        'disposition home label "Home" tier home_care end\n'
        "triage default home end\n"
    )
    dot = protocol_dot(compile_file(path)).source
    assert "questions no criterion reads" in dot and "Spare?" in dot
    assert "Not drawn" not in dot
