"""Columns as the editor counts them.

The checks count a column in characters (code points). An LSP client counts in the
position encoding agreed at start: UTF-16 code units unless it offers another (VS Code),
or UTF-8 bytes (some terminals' editors). The two agree on ASCII; an emoji before a name
counts two UTF-16 units, and ``°`` or ``é`` two UTF-8 bytes, so without converting, a
diagnostic on such a line is underlined in the wrong place and a hover misses its name.
:class:`Units` converts each position the client sends into characters, and each range
in a response into the client's units, using the lines of the file it is in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from lsprotocol import types as lsp

from triage_dsl.source import split_lines

T = TypeVar("T")


def _width(char: str, encoding: str) -> int:
    if encoding == lsp.PositionEncodingKind.Utf8:
        return len(char.encode("utf-8", "surrogatepass"))
    return 2 if ord(char) > 0xFFFF else 1  # UTF-16


def to_client(line: str, column: int, encoding: str) -> int:
    """The client's column of character column ``column`` (0-based) of ``line``."""
    if encoding == lsp.PositionEncodingKind.Utf32 or line.isascii():
        return column
    return sum(_width(char, encoding) for char in line[:column]) + max(0, column - len(line))


def from_client(line: str, units: int, encoding: str) -> int:
    """The character column (0-based) of the client's column ``units`` of ``line``; a
    column inside a character is that character's."""
    if encoding == lsp.PositionEncodingKind.Utf32 or line.isascii():
        return units
    seen = 0
    for index, char in enumerate(line):
        if seen >= units:
            return index
        seen += _width(char, encoding)
        if seen > units:
            return index
    return len(line) + (units - seen)


class Units:
    """Positions between the checks (characters) and one client (its encoding)."""

    def __init__(self, encoding: str, text_of: Callable[[str], str | None]) -> None:
        self.encoding = str(encoding)
        self.text_of = text_of  # a document's text by URI; None when it cannot be read
        self.plain = self.encoding == lsp.PositionEncodingKind.Utf32

    def _lines(self, uri: str) -> list[str] | None:
        """The document's lines as the client counts them: the checks' lines, and the
        empty line after a final line feed (where an edit of the whole text ends)."""
        text = self.text_of(uri)
        if text is None:
            return None
        lines = split_lines(text)
        return [*lines, ""] if text.endswith("\n") or not lines else lines

    def position_in(self, uri: str, position: lsp.Position) -> lsp.Position:
        """A position the client sent, in characters."""
        lines = None if self.plain else self._lines(uri)
        if lines is None or position.line >= len(lines):
            return position
        column = from_client(lines[position.line], position.character, self.encoding)
        return lsp.Position(position.line, column)

    def range_in(self, uri: str, given: lsp.Range) -> lsp.Range:
        return lsp.Range(self.position_in(uri, given.start), self.position_in(uri, given.end))

    def out(self, uri: str, value: T) -> T:
        """``value`` (a response) with every range in the client's units, in place: a
        range of a :class:`lsp.Location` or of a workspace edit's file by that file's
        lines, any other by ``uri``'s."""
        if value is None:
            return value
        cache: dict[str, list[str] | None] = {}

        def lines(of: str) -> list[str] | None:
            if of not in cache:
                cache[of] = self._lines(of)
            return cache[of]

        def convert(of: str, at: lsp.Position) -> lsp.Position:
            found = lines(of)
            if not found:
                return at
            if at.line >= len(found):  # past the end (a block the parser closed after the text)
                return lsp.Position(len(found) - 1, to_client(found[-1], len(found[-1]), self.encoding))
            return lsp.Position(at.line, to_client(found[at.line], at.character, self.encoding))

        def walk(of: str, item: Any) -> Any:
            if isinstance(item, lsp.Range):
                return lsp.Range(convert(of, item.start), convert(of, item.end))
            if isinstance(item, list):
                return [walk(of, element) for element in item]
            if isinstance(item, dict):  # a workspace edit's changes: URI -> edits
                return {key: walk(_uri_or(key, of), element) for key, element in item.items()}
            fields = getattr(type(item), "__attrs_attrs__", None)  # an lsprotocol type
            if fields is not None:
                here = item.uri if isinstance(item, lsp.Location) else of
                for field in fields:
                    current = getattr(item, field.name)
                    if current is not None and not isinstance(current, str | int | float | bool):
                        setattr(item, field.name, walk(here, current))
            return item

        converted: T = walk(uri, value)
        return converted


def _uri_or(key: object, default: str) -> str:
    return key if isinstance(key, str) and key.startswith("file:") else default
