"""Source text and positions: the first stage of the pipeline.

A :class:`Source` is one file's text with its path and SHA-256; a :class:`Span` is a
region of it (1-based line and column). Every AST node, graph node, diagnostic and trace
entry carries a span, so anything the tools say can be pointed at in the file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cached_property

HIDDEN = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Characters a terminal acts on instead of showing: C0 controls but tab, DEL, C1
controls, the line and paragraph separators, and the bidirectional overrides and
isolates (a hostile file could recolour or clear the screen, or reorder what the reader
sees)."""


EXCERPT_WIDTH = 200
"""Characters of a source line an excerpt shows at most (a minified or one-line file)."""


def split_lines(text: str) -> list[str]:
    r"""The lines of protocol or scenario text as the parser counts them: a line ends at a
    line feed, with the carriage return of a CRLF dropped. Unlike ``str.splitlines``, no
    other character ends a line (``\x0c``, ``\x1c``, ``\u2028``, ...): the parser
    refuses those (S013), and a position is the same whoever counts it.

    >>> split_lines("a\r\nb\x1cc\n")
    ['a', 'b\x1cc']
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def visible(text: str, *, lines: bool = True) -> str:
    r"""``text`` with every :data:`HIDDEN` character written as its escape (``\x1b``,
    ``\u202e``), for a terminal; line ends are kept unless ``lines`` is False.

    >>> print(visible("red\x1b[31m, \u202egnp.exe"))
    red\x1b[31m, \u202egnp.exe
    """
    if HIDDEN.search(text) is None:
        return text
    return HIDDEN.sub(lambda m: m.group() if lines and m.group() == "\n" else _escape(m.group()), text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


@dataclass(frozen=True)
class Source:
    """A protocol or scenario file's text, named by its path."""

    path: str
    text: str
    sha256: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.sha256:
            # surrogatepass: text from the API may hold a lone surrogate, which the parser
            # then reports (S004); the hash must not fail before it can
            digest = hashlib.sha256(self.text.encode("utf-8", "surrogatepass")).hexdigest()
            object.__setattr__(self, "sha256", digest)

    @cached_property
    def lines(self) -> list[str]:
        """The text's lines (:func:`split_lines`); the caller must not change the list."""
        return split_lines(self.text)

    def line(self, number: int) -> str:
        """The text of 1-based line ``number`` without its line end ('' when out of range)."""
        lines = self.lines
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return ""

    def excerpt(self, span: Span) -> str:
        """The source line of ``span`` with a caret line under the spanned columns; a line
        longer than :data:`EXCERPT_WIDTH` characters is cut to that many around the start
        of the span, each cut end marked ``...``."""
        text = self.line(span.line)
        if not text and span.line > len(self.lines):
            return ""
        width = 1
        if span.end_line == span.line and span.end_column > span.column:
            width = span.end_column - span.column
        width = max(1, min(width, max(1, len(text) - span.column + 1)))
        column = span.column
        head = tail = ""
        if len(text) > EXCERPT_WIDTH:
            start = min(max(0, column - 1 - EXCERPT_WIDTH // 3), len(text) - EXCERPT_WIDTH)
            head = "..." if start > 0 else ""
            tail = "..." if start + EXCERPT_WIDTH < len(text) else ""
            text, column = text[start : start + EXCERPT_WIDTH], column - start
            width = max(1, min(width, len(text) - column + 1))
        # control characters are shown escaped, and the caret widened to match
        before, spanned = text[: column - 1], text[column - 1 : column - 1 + width]
        prefix = "".join("\t" if ch == "\t" else " " * len(visible(ch, lines=False)) for ch in before)
        width += len(visible(spanned, lines=False)) - len(spanned)
        return f"{head}{visible(text, lines=False)}{tail}\n{' ' * len(head)}{prefix}{'^' * width}"

    def snippet(self, span: Span) -> str:
        """The exact text that ``span`` covers, whitespace folded to single spaces."""
        lines = self.lines
        if not lines or span.line < 1 or span.line > len(lines):
            return ""
        if span.end_line == span.line:
            part = lines[span.line - 1][span.column - 1 : span.end_column - 1]
        else:
            first = lines[span.line - 1][span.column - 1 :]
            middle = lines[span.line : span.end_line - 1]
            last = lines[span.end_line - 1][: span.end_column - 1] if span.end_line <= len(lines) else ""
            part = " ".join([first, *middle, last])
        return " ".join(part.split())


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file: 1-based line/column of its start and its end."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    @property
    def where(self) -> str:
        """``path:line:col``, the form every diagnostic and trace entry uses."""
        return f"{self.path}:{self.line}:{self.column}"

    @property
    def location(self) -> str:
        """``path:line``, for trace entries and notes."""
        return f"{self.path}:{self.line}"

    @classmethod
    def point(cls, path: str, line: int, column: int) -> Span:
        return cls(path, line, column, line, column + 1)
