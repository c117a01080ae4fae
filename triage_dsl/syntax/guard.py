"""What protocol or scenario text must be before the parser reads it.

Each check refuses a file with one error at the place it is about, before lark sees the
text: too large (S002), nested too deeply for a recursive parser (S003), not text (a NUL
byte or a lone surrogate, S004), a number no clinical value needs (S005), or a character
that makes the text read differently from what is checked (S013): a control character,
a character some editors show as a line break and others do not, or a bidirectional
override. Lark itself accepts those inside comments and quoted text; there they could
hide code from a reviewer ("Trojan Source") or move every later line number.
"""

from __future__ import annotations

import re
import unicodedata

from triage_dsl.errors import Diagnostic
from triage_dsl.io.files import position_in_text
from triage_dsl.source import Source, Span, visible

MAX_SOURCE_BYTES = 2_000_000
MAX_NESTING = 64
# Digits in one number literal, as for JSON answers (io/strict_json.MAX_INT_DIGITS): no
# clinical value needs more, and a longer one cannot become a float (or, past 4,300
# digits, even an int) without an error deep in a later stage.
MAX_NUMBER_DIGITS = 30
_LONG_DIGITS = re.compile(rf"\d{{{MAX_NUMBER_DIGITS + 1}}}")
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_NUMBER_LITERAL = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")

# Every character the text may not hold (NUL has its own message): C0 controls but tab
# and line feed, a carriage return not before a line feed, DEL, C1 controls, the line and
# paragraph separators, and the bidirectional embeddings, overrides and isolates.
_REFUSED = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|\r(?!\n)")
_BREAKS = frozenset("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMES = {
    "\r": "CARRIAGE RETURN",
    "\x0b": "LINE TABULATION",
    "\x0c": "FORM FEED",
    "\x1b": "ESCAPE",
    "\x1c": "FILE SEPARATOR",
    "\x1d": "GROUP SEPARATOR",
    "\x1e": "RECORD SEPARATOR",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}


def guard(source: Source) -> list[Diagnostic]:
    """The one error that keeps ``source`` from the parser, or nothing."""
    text = source.text
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SOURCE_BYTES:
        return [
            Diagnostic(
                Span.point(source.path, 1, 1),
                "S002",
                "error",
                f"file is larger than {MAX_SOURCE_BYTES // 1_000_000} MB",
                "split it into a protocol and imported libraries",
            )
        ]
    if "\x00" in text:
        return [_at(source, text.index("\x00"), "S004", "file contains a NUL byte; is it a text file?", None)]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        message = "text contains a lone surrogate character (not valid Unicode)"
        return [_at(source, exc.start, "S004", message, None)]
    found = _refused_character(source) or _nesting_diagnostic(source) or _long_number_diagnostic(source)
    return [found] if found else []


def _at(source: Source, offset: int, code: str, message: str, hint: str | None) -> Diagnostic:
    """A diagnostic at the character ``offset`` of the text (lines end at line feeds)."""
    line, column = position_in_text(source.text, offset)
    return Diagnostic(Span.point(source.path, line, column), code, "error", message, hint)


def _refused_character(source: Source) -> Diagnostic | None:
    """The first character of :data:`_REFUSED`, named, with how many more there are."""
    first = _REFUSED.search(source.text)
    if first is None:
        return None
    char = first.group()
    name = _NAMES.get(char) or unicodedata.name(char, "a control character")
    more = sum(1 for _ in _REFUSED.finditer(source.text, first.end()))
    also = f" ({more} more in the file)" if more else ""
    message = f"unexpected character '{visible(char)}' ({name}){also}"
    if char == "\r":
        hint = "a carriage return without a line feed (old Mac line ends): save the file with LF or CRLF ends"
    elif char in _BREAKS:
        hint = (
            "some editors show it as a line break and others do not, so the lines people "
            "read are not the lines checked: use a line feed or a space"
        )
    elif char in _BIDI:
        hint = (
            "it reorders how the text is shown, so a reader can see something other than "
            "what is checked: delete it (right-to-left text needs no override)"
        )
    else:
        hint = "delete it: a terminal or a page acts on it instead of showing it (in comments and quotes too)"
    return _at(source, first.start(), "S013", message, hint)


def _nesting_diagnostic(source: Source) -> Diagnostic | None:
    """Parentheses nested deeper than MAX_NESTING: refuse before lark recurses."""
    depth = 0
    for number, line in enumerate(source.lines, start=1):
        code = line.split("#", 1)[0]
        for column, ch in enumerate(code, start=1):
            if ch == "(":
                depth += 1
                if depth > MAX_NESTING:
                    return Diagnostic(
                        Span.point(source.path, number, column),
                        "S003",
                        "error",
                        f"expressions are nested more than {MAX_NESTING} parentheses deep",
                        "split the expression into named values",
                    )
            elif ch == ")":
                depth = max(0, depth - 1)
    return None


def _long_number_diagnostic(source: Source) -> Diagnostic | None:
    """A number literal of more than MAX_NUMBER_DIGITS digits (comments and quoted text
    may hold any digits)."""
    if not _LONG_DIGITS.search(source.text):
        return None
    for number, line in enumerate(source.lines, start=1):
        code = _STRING.sub(lambda m: " " * len(m.group()), line).split("#", 1)[0]
        for match in _NUMBER_LITERAL.finditer(code):
            if len(match.group().replace(".", "")) > MAX_NUMBER_DIGITS:
                return Diagnostic(
                    Span(source.path, number, match.start() + 1, number, match.end() + 1),
                    "S005",
                    "error",
                    f"a number of more than {MAX_NUMBER_DIGITS} digits",
                    "no clinical value needs so many digits; write the value itself, "
                    "in a unit that keeps it short",
                )
    return None
