"""Syntax errors in plain words.

lark reports an unexpected token and the set of terminals it expected; authors need
"this text is not closed" or "did you mean 'question'?". ``syntax_diagnostic`` turns a
lark error into a :class:`Diagnostic` by recognising the mistakes authors make (the table
in ``tests/syntax/test_messages.py`` pins each one), falling back to a list of what was
expected, in words.
"""

from __future__ import annotations

from difflib import get_close_matches
from functools import lru_cache

from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from triage_dsl.errors import Diagnostic
from triage_dsl.source import Source, Span
from triage_dsl.syntax.grammar import TOP_LEVEL_WORDS, lark_parser

NAMED = {
    "ID": "a name",
    "NUMBER": "a number",
    "STRING": 'a quoted text ("...")',
    "COMPARE": "a comparison (<, <=, >, >=, =, !=)",
    "ADD_OP": "+ or -",
    "MUL_OP": "*",
    "MINUS": "-",
    "DATE": "a date (YYYY-MM-DD)",
    "YES": "yes",
    "NO": "no",
    "$END": "the end of the file",
}

BLOCK_KEYWORDS = {*TOP_LEVEL_WORDS, "section", "scenario", "tier", "at"}


@lru_cache(maxsize=1)
def _terminal_words() -> dict[str, str]:
    words = dict(NAMED)
    for terminal in lark_parser().terminals:
        if isinstance(terminal.pattern, PatternStr) and terminal.name not in words:
            words[terminal.name] = terminal.pattern.value
    return words


def _word(name: str) -> str:
    return _terminal_words().get(name, name.lower())


def _expected(names: set[str]) -> list[str]:
    words = sorted({_word(n) for n in names if n not in ("COMMENT", "WS")})
    keywords = [w for w in words if w.isidentifier() or w == "yes/no"]
    others = [w for w in words if w not in keywords]
    return [f"'{w}'" for w in keywords] + others


def _span(source: Source, line: int, column: int, width: int = 1) -> Span:
    return Span(source.path, line, column, line, column + max(1, width))


def syntax_diagnostic(source: Source, error: UnexpectedInput) -> Diagnostic:
    """The author-facing diagnostic for one lark error."""
    if isinstance(error, UnexpectedCharacters):
        return _bad_character(source, error)
    if isinstance(error, UnexpectedEOF):
        line = max(1, len(source.text.splitlines()))
        column = len(source.line(line)) + 1
        return Diagnostic(
            _span(source, line, column),
            "S001",
            "error",
            "the file ends in the middle of a declaration",
            "a block is not closed: add 'end'",
        )
    assert isinstance(error, UnexpectedToken)
    return _bad_token(source, error)


def _bad_character(source: Source, error: UnexpectedCharacters) -> Diagnostic:
    line, column = error.line, error.column
    text = source.line(line)
    char = error.char
    rest = text[column - 1 :]
    span = _span(source, line, column)
    if char == '"':
        return Diagnostic(
            span,
            "S010",
            "error",
            "this quoted text is not closed",
            'add the closing " on the same line (write \\" for a quote inside)',
        )
    if rest.startswith("=="):
        return Diagnostic(
            _span(source, line, column, 2),
            "S011",
            "error",
            "'==' is not a comparison here",
            "write '=' to compare",
        )
    if rest.startswith(("&&", "||")):
        word = "and" if rest.startswith("&&") else "or"
        return Diagnostic(
            _span(source, line, column, 2),
            "S011",
            "error",
            f"'{rest[:2]}' is not part of the language",
            f"write '{word}'",
        )
    if char == "'":
        return Diagnostic(
            span, "S012", "error", "texts are written in double quotes", "write \"...\" instead of '...'"
        )
    expected = _expected(set(error.allowed or ()))
    hint = f"expected {_join(expected)}" if expected else None
    return Diagnostic(span, "S013", "error", f"unexpected character {char!r}", hint)


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    if len(words) > 8:
        words = [*words[:8], "..."]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _bad_token(source: Source, error: UnexpectedToken) -> Diagnostic:
    token = error.token
    expected_names = set(error.expected or ())
    expected = _expected(expected_names)
    value = str(token)
    if token.type == "$END":
        line = max(1, len(source.text.splitlines()))
        span = _span(source, line, len(source.line(line)) + 1)
        if "END" in expected_names:
            return Diagnostic(span, "S001", "error", "the file ends before a block is closed", "add 'end'")
        return Diagnostic(span, "S001", "error", "the file ends too early", f"expected {_join(expected)}")
    span = Span(
        source.path,
        token.line or 1,
        token.column or 1,
        token.end_line or token.line or 1,
        token.end_column or (token.column or 1) + len(value),
    )
    keywords = [w.strip("'") for w in expected if w.startswith("'")]
    if "COLON" in expected_names and len(expected_names) <= 2:
        return Diagnostic(
            span,
            "S020",
            "error",
            f"expected ':' before '{value}'",
            "write the question type after a colon, as in 'question temp_c: number'"
            if _after_question(source, span)
            else "add ':'",
        )
    if value == "at" and "DEFAULT" in expected_names:
        return Diagnostic(
            span,
            "S025",
            "error",
            "a floor ('at least ...') comes after the default",
            "move it below 'default ...', before the triage block's 'end'",
        )
    if value == "screen" and "END" in expected_names and "AT" in expected_names:
        return Diagnostic(
            span,
            "S025",
            "error",
            "a screen is named before the default, not after it",
            "move it above 'default ...' (authors put it first)",
        )
    if "END" in expected_names and value in BLOCK_KEYWORDS:
        return Diagnostic(
            span,
            "S021",
            "error",
            f"'{value}' starts a new block, but the block above is not closed",
            "add 'end' on the line before",
        )
    if token.type == "ID" and keywords:
        guess = get_close_matches(value, keywords, n=1, cutoff=0.6)
        if guess:
            return Diagnostic(span, "S022", "error", f"unknown word '{value}'", f"did you mean '{guess[0]}'?")
    if token.type == "STRING" and "ID" in expected_names and len(expected_names) == 1:
        return Diagnostic(
            span,
            "S023",
            "error",
            "expected a name, not a quoted text",
            "names are written without quotes: letters, digits and _",
        )
    before = source.line(span.line)[: span.column - 1]
    if value == "=" and before.endswith("="):
        return Diagnostic(
            Span(source.path, span.line, span.column - 1, span.line, span.column + 1),
            "S011",
            "error",
            "'==' is not a comparison here",
            "write '=' to compare",
        )
    if value == "=" and "COMPARE" not in expected_names:
        return Diagnostic(span, "S024", "error", "unexpected '='", f"expected {_join(expected)}")
    shown = "a quoted text" if token.type == "STRING" else f"'{value}'"
    return Diagnostic(
        span, "S030", "error", f"unexpected {shown}", f"expected {_join(expected)}" if expected else None
    )


def _after_question(source: Source, span: Span) -> bool:
    before = source.line(span.line)[: span.column - 1].split()
    return len(before) >= 2 and before[-2] == "question"
