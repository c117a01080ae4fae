"""Syntax errors in plain words.

lark reports an unexpected token and the set of terminals it expected; authors need
"this text is not closed" or "did you mean 'question'?". ``syntax_diagnostic`` turns a
lark error into a :class:`Diagnostic` by recognising the mistakes authors make (the table
in ``tests/syntax/test_messages.py`` pins each one), falling back to a list of what was
expected, in words.
"""

from __future__ import annotations

import itertools
import re
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

# Words that cannot continue a condition: a line starting with one after a line ending in
# `and`/`or`/`not` means the condition was left unfinished.
NOT_OPERANDS = {*BLOCK_KEYWORDS, "when", "end", "default", "advice", "allow", "else", "then"}

_NUMBER = r"-?\d+(?:\.\d+)?(?:\s+(?!end\b|to\b)[A-Za-z_]\w*)?"
RANGE_WITH_DASH = re.compile(rf"\brange\s+({_NUMBER})\s*-\s*({_NUMBER})")
COMPARED = re.compile(r"([A-Za-z_]\w*)?\s*(<=|>=|!=|<|>|=|\bis(?:\s+not)?)\s*$")


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
        line = max(1, len(source.lines))
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
    if rest.startswith(("&", "|")):
        width = 2 if rest.startswith(("&&", "||")) else 1
        word = "and" if rest.startswith("&") else "or"
        return Diagnostic(
            _span(source, line, column, width),
            "S011",
            "error",
            f"'{rest[:width]}' is not part of the language",
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
        line = max(1, len(source.lines))
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
    special = _dangling_operator(source, span) or _range_with_dash(source, span, value)
    special = special or _quoted_value(source, span, token.type, value)
    if special is not None:
        return special
    known = _known_mistake(source, span, value, token.type, expected_names)
    if known is not None:
        return known
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


def _code(line: str) -> str:
    """A source line without its comment (a ``#`` outside quotes)."""
    in_text = False
    for i, char in enumerate(line):
        if char == '"' and (i == 0 or line[i - 1] != "\\"):
            in_text = not in_text
        elif char == "#" and not in_text:
            return line[:i]
    return line


def _dangling_operator(source: Source, span: Span) -> Diagnostic | None:
    """``when a and`` at the end of a line, the next line starting a new criterion (or
    closing the block): the author left the condition unfinished. lark notices a token or
    two later (``when`` reads as a name there), so look back from the error."""
    lines = [(n, _code(source.line(n)).rstrip()) for n in range(max(1, span.line - 3), span.line + 1)]
    code_lines = [(n, text) for n, text in lines if text.strip()]
    for (number, text), (_, following) in itertools.pairwise(code_lines):
        match = re.search(r"(?<![\w])(and|or|not)$", text)
        first = following.split()[0]
        if match is None or first not in NOT_OPERANDS:
            continue
        word = match.group(1)
        column = match.start(1) + 1
        return Diagnostic(
            Span(source.path, number, column, number, column + len(word)),
            "S027",
            "error",
            f"the condition continues on the next line after '{word}', "
            f"but the next line starts with '{first}'",
            f"finish the condition after '{word}' on this line, or remove the '{word}'",
        )
    return None


def _range_with_dash(source: Source, span: Span, value: str) -> Diagnostic | None:
    """``range 34-43``: a range is written ``range 34 to 43``."""
    match = RANGE_WITH_DASH.search(_code(source.line(span.line)))
    if value != "-" or match is None:
        return None
    low, high = (" ".join(part.split()) for part in match.groups())
    return Diagnostic(
        span,
        "S026",
        "error",
        "a range is written with 'to', not '-'",
        f"write 'range {low} to {high}'",
    )


def _quoted_value(source: Source, span: Span, token_type: str, value: str) -> Diagnostic | None:
    """``drooling = "yes"``: answers are compared without quotes; a yes/no question is
    tested by its name."""
    if token_type != "STRING":
        return None
    before = _code(source.line(span.line))[: span.column - 1]
    match = COMPARED.search(before)
    if match is None:
        return None
    name, operator = match.group(1) or "the question", " ".join(match.group(2).split())
    text = value[1:-1].strip()
    if text.lower() in ("yes", "no", "true", "false"):
        hint = (
            f"a yes/no question is tested by its name: write 'when {name}' (yes) or "
            f"'when not {name}' (no); numbers take no quotes either"
        )
    elif re.fullmatch(r"-?\d+(\.\d+)?(\s+\w+)?", text):
        hint = f"numbers take no quotes: write '{name} {operator} {text}'"
    elif text.isidentifier():
        hint = f"an option is written without quotes: write '{name} is {text}'"
    else:
        hint = "compare with a number, yes or no, or test an option with 'is', all without quotes"
    return Diagnostic(
        span,
        "S028",
        "error",
        f"a comparison takes no quoted text: {value} after '{operator}'",
        hint,
    )


def _known_mistake(
    source: Source, span: Span, value: str, token_type: str, expected: set[str]
) -> Diagnostic | None:
    """Mistakes recognised by the token and what the parser expected there (each pinned by
    a row of the table in ``tests/syntax/test_messages.py``)."""
    before = _code(source.line(span.line))[: span.column - 1].rstrip()
    if value in (">", "<") and before.endswith("="):
        wrong, right = "=" + value, value + "="
        return Diagnostic(
            Span(source.path, span.line, span.column - 1, span.line, span.column + 1),
            "S011",
            "error",
            f"'{wrong}' is not a comparison",
            f"write '{right}'",
        )
    if value == "{" and re.search(r"\bis(\s+not)?$", before):
        negated = " not" if before.endswith("not") else ""
        return Diagnostic(
            span,
            "S029",
            "error",
            "'is' tests one option; a set of options is tested with 'in'",
            f"write '{negated.strip() + ' ' if negated else ''}in {{...}}'",
        )
    if value == "(" and before.endswith(" in") and "LBRACE" in expected:
        return Diagnostic(span, "S029", "error", "a set of options is written in braces", "write 'in {a, b}'")
    if value == "end" and "DEFAULT" in expected:
        return Diagnostic(
            span,
            "S031",
            "error",
            "the triage block has no 'default'",
            "add 'default DISPOSITION' before its 'end': the outcome when no section holds",
        )
    if value == "end" and "FINALLY" in expected:
        return Diagnostic(
            span,
            "S031",
            "error",
            "an escalation plan ends with what the caller is told if nobody answers",
            "add 'finally tell caller \"...\"' before its 'end'",
        )
    if value in ("wait", "retry") and "COMMA" in expected:
        return Diagnostic(
            span,
            "S030",
            "error",
            f"unexpected '{value}'",
            f"the options of a 'notify' step follow a comma: ', {value} ...'",
        )
    if token_type != "STRING" and expected == {"STRING"} and before.endswith("import"):
        path = _code(source.line(span.line))[span.column - 1 :].strip()
        return Diagnostic(
            span, "S030", "error", "the file to import is a quoted path", f'write import "{path}"'
        )
    return None
