"""One document as the editor sees it: diagnostics, names, and where each name is declared.

The diagnostics are ``triage check``'s: :func:`~triage_dsl.compiler.check_source` runs
the same parser and checks on the unsaved text (imports read from disk), and the
analyses' warnings follow when the file has no errors. A scenario file is parsed for
its syntax and resolved against the protocol beside it (``x.scenarios`` ->
``x.triage``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from triage_dsl.analysis import findings_of
from triage_dsl.check.scope import Scope
from triage_dsl.compiler import Checked, check_source, read_source
from triage_dsl.errors import Diagnostic, ProtocolFileError
from triage_dsl.lsp.index import Occurrence, occurrences
from triage_dsl.protocol import Protocol
from triage_dsl.source import Source, Span
from triage_dsl.syntax import ast
from triage_dsl.syntax.parser import parse_scenarios


@dataclass(frozen=True)
class Place:
    """A declaration's place: a file and a 1-based line/column range on one line."""

    path: str
    line: int
    column: int
    end_column: int


@dataclass
class Document:
    """An analysed document: ``checked`` holds the compiler's view (None for scenarios
    whose protocol cannot be read)."""

    path: str
    text: str
    diagnostics: list[Diagnostic]
    occurrences: list[Occurrence]
    checked: Checked | None
    _files: dict[str, list[Occurrence]] = field(default_factory=dict)

    @property
    def scope(self) -> Scope | None:
        return self.checked.scope if self.checked is not None else None

    def occurrences_of(self, path: str) -> list[Occurrence]:
        """The occurrences of another file this document's compile read."""
        if path == self.path:
            return self.occurrences
        if path not in self._files:
            source = self.checked.sources.get(path) if self.checked is not None else None
            self._files[path] = occurrences(path, source.text) if source is not None else []
        return self._files[path]

    def declaration(self, occurrence: Occurrence) -> Place | None:
        """Where the name under ``occurrence`` is declared (through imports), or None."""
        span = declaration_span(self.scope, occurrence)
        if span is None:
            return None
        for found in self.occurrences_of(span.path):
            if (
                found.declares
                and found.kind == occurrence.kind
                and found.name == occurrence.name
                and span.line <= found.line <= span.end_line
            ):
                return Place(span.path, found.line, found.column, found.end_column)
        return Place(span.path, span.line, span.column, span.column + len(occurrence.name))


def declaration_span(scope: Scope | None, occurrence: Occurrence) -> Span | None:
    """The span of the declaration a name resolves to in ``scope``."""
    if scope is None:
        return None
    name = occurrence.name
    if occurrence.kind == "name":
        question = scope.questions.get(name)
        if question is not None:
            return question.id_span
        value = scope.values.get(name)
        return value.id_span if value is not None else None
    if occurrence.kind == "option":
        owners = [scope.questions[occurrence.owner]] if occurrence.owner in scope.questions else []
        owners = owners or list(scope.questions.values())
        for question in owners:
            for option in question.options:
                if option.id == name:
                    return option.span
        return None
    if occurrence.kind == "disposition":
        d = scope.dispositions.get(name)
        return d.id_span if d is not None else None
    if occurrence.kind == "tier":
        for tier in scope.tier_order:
            if tier.id == name and tier.span.path != "<default>":
                return tier.span
        return None
    if occurrence.kind == "escalation":
        e = scope.escalations.get(name)
        return e.id_span if e is not None else None
    if occurrence.kind == "screen":
        s = scope.screens.get(name)
        return s.id_span if s is not None else None
    callee = scope.protocols.get(name)
    header = getattr(callee, "header", None)  # a compiled protocol has its header
    return header.id_span if isinstance(header, ast.Header) else None


def analyse(
    path: str,
    text: str,
    analyses: Callable[[Protocol], list[Diagnostic]] | None = findings_of,
) -> Document:
    """Check ``text`` as the file at ``path`` (``analyses`` None: the checks only)."""
    source = Source(path, text)
    if path.endswith(".scenarios"):
        _, diagnostics = parse_scenarios(source)
        beside = str(Path(path).with_suffix(".triage"))
        checked = None
        if os.path.isfile(beside):
            try:
                checked = check_source(read_source(beside), None)
            except ProtocolFileError:
                checked = None
        return Document(path, text, list(diagnostics), occurrences(path, text), checked)
    checked = check_source(source, analyses)
    own = [d for d in checked.diagnostics if d.span.path == path]
    return Document(path, text, own, occurrences(path, text), checked)
