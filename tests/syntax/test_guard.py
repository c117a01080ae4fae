"""The text guard: characters that would make a protocol read differently from what is
checked are refused where they are, in comments and quoted text too; lines end at line
feeds for the parser, the excerpts, the book and the editor alike."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage_dsl import CompileError, compile_text
from triage_dsl.source import EXCERPT_WIDTH, Source, Span, split_lines
from triage_dsl.syntax.parser import parse_protocol, parse_scenarios

ROOT_PROTOCOL = (
    "# {comment}\n"
    'protocol demo title "Demo" version "1.0" end\n'
    'question fever: yes/no ask "Fever{text}?" end\n'
    'disposition today label "Today" tier same_day end\n'
    'disposition home label "Home" tier home_care end\n'
    "triage section today if any of when fever end default home end\n"
)


def _first(text: str) -> tuple[int, int, str, str, str | None]:
    _, diagnostics = parse_protocol(Source("t.triage", text))
    assert diagnostics, "expected an error"
    d = diagnostics[0]
    return d.span.line, d.span.column, d.code, d.message, d.hint


@pytest.mark.parametrize(
    ("char", "name", "hint"),
    [
        ("\x1c", "FILE SEPARATOR", "line break"),
        ("\x1d", "GROUP SEPARATOR", "line break"),
        ("\x1e", "RECORD SEPARATOR", "line break"),
        ("\x0b", "LINE TABULATION", "line break"),
        ("\x0c", "FORM FEED", "line break"),
        ("\x85", "NEXT LINE", "line break"),
        ("\u2028", "LINE SEPARATOR", "line break"),
        ("\u2029", "PARAGRAPH SEPARATOR", "line break"),
        ("\r", "CARRIAGE RETURN", "LF or CRLF"),
        ("\u202e", "RIGHT-TO-LEFT OVERRIDE", "reorders"),
        ("\u2067", "RIGHT-TO-LEFT ISOLATE", "reorders"),
        ("\x1b", "ESCAPE", "delete it"),
        ("\x07", "a control character", "delete it"),
        ("\x7f", "DELETE", "delete it"),
        ("\x9b", "a control character", "delete it"),
    ],
)
@pytest.mark.parametrize("where", ["comment", "text"])
def test_a_hidden_character_is_refused_at_its_place_in_a_comment_or_a_quoted_text(
    char: str, name: str, hint: str, where: str
) -> None:
    if where == "comment":
        text, place = ROOT_PROTOCOL.format(comment=f"note{char}section", text=""), (1, 7)
    else:
        text, place = ROOT_PROTOCOL.format(comment="note", text=f" {char}now"), (3, 35)
    line, column, code, message, got_hint = _first(text)
    assert (line, column, code) == (*place, "S013")
    assert message.startswith("unexpected character '\\") and f"({name})" in message
    assert got_hint is not None and hint in got_hint


def test_the_same_protocol_without_them_compiles_and_crlf_line_ends_are_line_ends() -> None:
    clean = ROOT_PROTOCOL.format(comment="note", text="")
    compile_text(clean)
    compile_text(clean.replace("\n", "\r\n"))
    broken = clean.replace("any of", "any off")
    _, lf = parse_protocol(Source("t.triage", broken))
    _, crlf = parse_protocol(Source("t.triage", broken.replace("\n", "\r\n")))
    assert lf and [(d.span, d.code) for d in crlf] == [(d.span, d.code) for d in lf]
    assert lf[0].span.line == 6


def test_a_file_with_old_mac_line_ends_is_refused_with_the_fix_and_a_short_excerpt() -> None:
    text = ROOT_PROTOCOL.format(comment="note", text="").replace("\n", "\r")
    with pytest.raises(CompileError) as caught:
        compile_text(text)
    d = caught.value.diagnostics[0]
    assert (d.span.line, d.span.column, d.code) == (1, 7, "S013")
    assert "(5 more in the file)" in d.message and d.hint is not None and "LF or CRLF" in d.hint
    shown = Source("t.triage", text).excerpt(d.span).split("\n")
    assert len(shown[0]) <= EXCERPT_WIDTH + 3 * 6 + 3  # cut, the \r escaped, '...' at the end
    assert shown[0].endswith("...") and shown[1] == " " * 6 + "^^^^"


def test_a_nul_byte_is_reported_at_its_line_and_column() -> None:
    line, column, code, _, _ = _first(
        'protocol demo title "Demo" version "1.0" end\nquestion q\x00: yes/no end\n'
    )
    assert (line, column, code) == (2, 11, "S004")


def test_scenario_files_are_guarded_too() -> None:
    _, diagnostics = parse_scenarios(Source("t.scenarios", "# a\u2028b\n"))
    assert [(d.span.line, d.span.column, d.code) for d in diagnostics] == [(1, 4, "S013")]


@given(st.text(alphabet=st.characters(exclude_characters="\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\r")))
def test_lines_are_splitlines_wherever_the_guard_lets_text_through(text: str) -> None:
    assert split_lines(text) == text.splitlines()
    assert split_lines(text.replace("\n", "\r\n")) == text.splitlines()


def test_a_long_line_is_cut_around_the_place_in_an_excerpt() -> None:
    line = "a" * 500 + "X" + "b" * 500
    source = Source("t.triage", line + "\n")
    shown, caret = source.excerpt(Span("t.triage", 1, 501, 1, 502)).split("\n")
    assert shown.startswith("...") and shown.endswith("...") and len(shown) == EXCERPT_WIDTH + 6
    assert shown[len(caret) - 1] == "X" and caret.strip() == "^"
    start = Source("t.triage", "X" + "b" * 500).excerpt(Span("t.triage", 1, 1, 1, 2))
    assert start.split("\n") == ["X" + "b" * (EXCERPT_WIDTH - 1) + "...", "^"]
    end = Source("t.triage", "a" * 500 + "X").excerpt(Span("t.triage", 1, 501, 1, 502))
    assert end.split("\n")[0] == "..." + "a" * (EXCERPT_WIDTH - 1) + "X"
    assert end.split("\n")[1] == " " * (EXCERPT_WIDTH + 2) + "^"
