"""Friendly syntax errors: the mistakes authors make, mapped to plain messages."""

from __future__ import annotations

import pytest

from triage_dsl.source import Source
from triage_dsl.syntax.parser import parse_protocol

HEADER = 'protocol demo title "Demo" version "1.0" end\n'


def first_error(body: str) -> tuple[int, int, str, str, str | None]:
    _, diagnostics = parse_protocol(Source("t.triage", HEADER + body))
    assert diagnostics, "expected a syntax error"
    d = diagnostics[0]
    return d.span.line, d.span.column, d.code, d.message, d.hint


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # unclosed string
        ('question q: yes/no ask "Fever? end', (2, 24, "S010", "this quoted text is not closed")),
        # missing colon after a question id
        ("question q yes/no end", (2, 12, "S020", "expected ':' before 'yes'")),
        # misspelled keyword at the top level
        ("qeustion q: yes/no end", (2, 1, "S022", "unknown word 'qeustion'")),
        # misspelled keyword inside a block
        ('question q: yes/no aks "Fever?" end', (2, 20, "S022", "unknown word 'aks'")),
        # a block not closed before the next one
        (
            'question q: yes/no ask "Q?"\nquestion r: yes/no end',
            (3, 1, "S021", "'question' starts a new block, but the block above is not closed"),
        ),
        # the file ends inside a block
        ("question q: yes/no", (2, 19, "S001", "the file ends before a block is closed")),
        # == instead of =
        ("value v = a == 1", (2, 13, "S011", "'==' is not a comparison here")),
        # && instead of and
        ("value v = a && b", (2, 13, "S011", "'&&' is not part of the language")),
        # single quotes
        ("question q: yes/no ask 'Q?' end", (2, 24, "S012", "texts are written in double quotes")),
        # a quoted name
        ('disposition "see" end', (2, 13, "S023", "expected a name, not a quoted text")),
        # a floor written before the default
        (
            "triage\n  at least see if any of when q end\n  default home\nend",
            (3, 3, "S025", "a floor ('at least ...') comes after the default"),
        ),
        # a screen named after the default
        (
            "triage\n  default home\n  screen first\nend",
            (4, 3, "S025", "a screen is named before the default, not after it"),
        ),
        # a misspelled screen declaration at the top level
        ("scren first end", (2, 1, "S022", "unknown word 'scren'")),
        # a section left open before a floor
        (
            "triage\n  default home\n  at least see if any of when q\n"
            "  at least er if any of when q end\nend",
            (5, 3, "S021", "'at' starts a new block, but the block above is not closed"),
        ),
    ],
)
def test_common_mistakes_have_plain_messages(body: str, expected: tuple[int, int, str, str]) -> None:
    line, column, code, message, _ = first_error(body)
    assert (line, column, code, message) == expected


def test_misspelled_keyword_suggests_the_keyword() -> None:
    *_, hint = first_error('question q: yes/no aks "Fever?" end')
    assert hint == "did you mean 'ask'?"


def test_parser_resynchronises_on_screen_declarations() -> None:
    body = "question q yes/no end\nscreen first\n  at least see if any of when q end\n  bogus\nend\n"
    _, diagnostics = parse_protocol(Source("t.triage", HEADER + body))
    assert [(d.span.line, d.code) for d in diagnostics] == [(2, "S020"), (5, "S030")]


def test_every_declaration_with_a_syntax_error_is_reported() -> None:
    body = 'question q yes/no end\nquestion r: yes/no ask "R? end\nqeustion s: yes/no end\n'
    _, diagnostics = parse_protocol(Source("t.triage", HEADER + body))
    assert [(d.span.line, d.code) for d in diagnostics] == [(2, "S020"), (3, "S010"), (4, "S022")]


def test_fallback_lists_expected_tokens_in_words() -> None:
    *_, code, message, hint = first_error("points p from x\n  <= : 3\nend")
    assert code == "S030" and message == "unexpected ':'"
    assert hint is not None and "a number" in hint


@pytest.mark.parametrize("text", ["", "\x00", "protocol", "(" * 500, "é" * 10, "protocol x end end"])
def test_garbage_gives_diagnostics_not_exceptions(text: str) -> None:
    file, diagnostics = parse_protocol(Source("t.triage", text))
    assert file is None and diagnostics
