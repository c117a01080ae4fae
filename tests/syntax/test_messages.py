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
        # a range written with a dash
        ("question t: number\n  range 34-43\nend", (3, 11, "S026", "a range is written with 'to', not '-'")),
        ("question t: number range 30 - 45 end", (2, 29, "S026", "a range is written with 'to', not '-'")),
        # a quoted answer after a comparison
        (
            'triage section s if any of when drooling = "yes" end default h end',
            (2, 44, "S028", "a comparison takes no quoted text: \"yes\" after '='"),
        ),
        # a condition left unfinished at the end of a line
        (
            "triage\n  section s if any of\n    when a and\n    when b\n  end\n  default h\nend",
            (
                4,
                12,
                "S027",
                "the condition continues on the next line after 'and', but the next line starts with 'when'",
            ),
        ),
        (
            "triage\n  section s if any of\n    when a or  # comment\n\n  end\n  default h\nend",
            (
                4,
                12,
                "S027",
                "the condition continues on the next line after 'or', but the next line starts with 'end'",
            ),
        ),
        # => instead of >=
        (
            "triage section s if any of when t => 3 end default h end",
            (2, 35, "S011", "'=>' is not a comparison"),
        ),
        # a set tested with 'is', or written in parentheses
        (
            "triage section s if any of when c is {a, b} end default h end",
            (2, 38, "S029", "'is' tests one option; a set of options is tested with 'in'"),
        ),
        (
            "triage section s if any of when c in (a, b) end default h end",
            (2, 38, "S029", "a set of options is written in braces"),
        ),
        # a triage block without a default, an escalation plan without its last step
        ("triage section s if any of when q end end", (2, 39, "S031", "the triage block has no 'default'")),
        (
            "escalation e\n  notify doc by phone\nend",
            (4, 1, "S031", "an escalation plan ends with what the caller is told if nobody answers"),
        ),
        # a single & for 'and', an unquoted import
        ("value v = a & b", (2, 13, "S011", "'&' is not part of the language")),
        ("import shared.triage", (2, 8, "S030", "the file to import is a quoted path")),
    ],
)
def test_common_mistakes_have_plain_messages(body: str, expected: tuple[int, int, str, str]) -> None:
    line, column, code, message, _ = first_error(body)
    assert (line, column, code, message) == expected


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        ("question t: number range 34-43 end", "write 'range 34 to 43'"),
        ("question t: number range 3 months - 5 years end", "write 'range 3 months to 5 years'"),
        (
            'triage section s if any of when drooling = "yes" end default h end',
            "a yes/no question is tested by its name: write 'when drooling' (yes) or "
            "'when not drooling' (no); numbers take no quotes either",
        ),
        (
            'triage section s if any of when t >= "38.5" end default h end',
            "numbers take no quotes: write 't >= 38.5'",
        ),
        (
            'triage section s if any of when c is "voice" end default h end',
            "an option is written without quotes: write 'c is voice'",
        ),
        ("triage section s if any of when c is not {a} end default h end", "write 'not in {...}'"),
        (
            'escalation e notify doc by phone wait 5 minutes finally tell caller "x" end',
            "the options of a 'notify' step follow a comma: ', wait ...'",
        ),
        ("import shared.triage", 'write import "shared.triage"'),
    ],
)
def test_hints_name_the_fix(body: str, hint: str) -> None:
    assert first_error(body)[4] == hint


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
