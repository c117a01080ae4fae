"""Parses are kept by path and text: the same file imported by many protocols of one
`triage check` run is parsed once, and nothing a caller does to what it got changes
what the next caller gets."""

from __future__ import annotations

from triage_dsl.source import Source
from triage_dsl.syntax import parser

GOOD = 'protocol p title "P" version "1" end\n'
BAD = 'protocol p title "P" version "1" end\nquestion q: yes/no\n  ask "q?"\n  range 34-43\nend\n'


def test_the_same_path_and_text_are_parsed_once() -> None:
    first = parser.parse_protocol_recovering(Source("memo/a.triage", BAD))
    second = parser.parse_protocol_recovering(Source("memo/a.triage", BAD))
    assert first[0] is second[0] and first[1] == second[1] and first[1]  # the syntax error kept too
    assert first[1] is not second[1] and first[2] is not second[2]  # each caller its own lists


def test_another_text_or_path_is_parsed_again() -> None:
    a = parser.parse_protocol_recovering(Source("memo/b.triage", GOOD))
    b = parser.parse_protocol_recovering(Source("memo/b.triage", GOOD + "# changed\n"))
    c = parser.parse_protocol_recovering(Source("memo/c.triage", GOOD))
    assert a[0] is not b[0] and a[0] is not c[0]
    assert c[0] is not None and c[0].header.span.path == "memo/c.triage"  # spans name their own file


def test_a_caller_changing_its_lists_changes_nothing_for_the_next() -> None:
    _, diagnostics, damage = parser.parse_protocol_recovering(Source("memo/d.triage", BAD))
    expected = (list(diagnostics), list(damage))
    diagnostics.clear()
    damage.clear()
    _, again, damage_again = parser.parse_protocol_recovering(Source("memo/d.triage", BAD))
    assert (again, damage_again) == expected and again
