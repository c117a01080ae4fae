"""Formatting a source safely: parse, lay out, and prove the layout changed only layout.

A layout is accepted only when its text parses to the same syntax tree as the original
(every node and value compared, positions left out) and keeps the same comments in the
same order. A file with syntax errors is refused with the parser's own diagnostics.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from triage_dsl.errors import Diagnostic, TriageError
from triage_dsl.fmt.layout import layout, start_rule
from triage_dsl.source import Source, Span, split_lines
from triage_dsl.syntax.parser import parse_protocol, parse_scenarios

_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|(#[^\n]*)')


class FormatError(TriageError):
    """A file cannot be formatted: it has syntax errors (``diagnostics``), or the layout
    would change what it says (a defect of the formatter; the file is left alone)."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.diagnostics = list(diagnostics or [])


def _parse(source: Source) -> tuple[Any, list[Diagnostic]]:
    if start_rule(source.path) == "scenario_file":
        return parse_scenarios(source)
    return parse_protocol(source)


def shape(node: object, skip: frozenset[str] = frozenset()) -> object:
    """A syntax tree (or any tree of dataclasses) with every position left out, for
    comparing two trees; fields named in ``skip`` and fields not compared are left out."""
    if isinstance(node, Span):
        return None
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (
            type(node).__name__,
            tuple(
                (f.name, shape(getattr(node, f.name), skip))
                for f in dataclasses.fields(node)
                if f.compare and f.name not in skip
            ),
        )
    if isinstance(node, tuple | list):
        return tuple(shape(item, skip) for item in node)
    if isinstance(node, Mapping):
        return tuple((str(k), shape(v, skip)) for k, v in node.items())
    if isinstance(node, float):
        return ("float", node)
    return node


def comments(text: str) -> list[str]:
    """The comments of a file in order, trailing spaces dropped (strings skipped)."""
    found = []
    for line in split_lines(text):
        for match in _COMMENT.finditer(line):
            if match.group(1) is not None:
                found.append(match.group(1).rstrip())
    return found


def format_source(source: Source) -> str:
    """The canonical layout of ``source``; :class:`FormatError` when it has syntax
    errors or the layout could not be proved to say the same.

    >>> print(format_source(Source("x.triage", "library l end\\nvalue  v=1+2 # three")), end="")
    library l
    end
    <BLANKLINE>
    value v = 1 + 2  # three
    """
    tree, diagnostics = _parse(source)
    if tree is None:
        errors = [d for d in diagnostics if d.severity == "error"]
        raise FormatError(f"{source.path}: has syntax errors; fix them first (not formatted)", errors)
    text = layout(source.text, start_rule(source.path))
    again, problems = _parse(Source(source.path, text))
    if again is None or shape(again) != shape(tree):
        detail = problems[0].message if problems else "the syntax tree changed"
        raise FormatError(f"{source.path}: the layout would change the file ({detail}); not formatted")
    if comments(text) != comments(source.text):
        raise FormatError(f"{source.path}: the layout would move or lose a comment; not formatted")
    return text
