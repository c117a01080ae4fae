"""The editor features over an analysed :class:`~triage_dsl.lsp.analysis.Document`, as
plain functions returning ``lsprotocol`` types (the server only wires them up).

Positions: the language server protocol counts lines and characters from 0, the
toolkit's spans from 1; ``_range`` and ``_position`` convert.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lsprotocol import types as lsp

from triage_dsl.errors import Diagnostic
from triage_dsl.fmt.safety import FormatError, format_source
from triage_dsl.lsp.analysis import Document, Place
from triage_dsl.lsp.index import Occurrence, at, occurrences
from triage_dsl.source import Source, Span, split_lines
from triage_dsl.syntax import ast
from triage_dsl.syntax.grammar import TOP_LEVEL_WORDS

SEVERITY = {
    "error": lsp.DiagnosticSeverity.Error,
    "warning": lsp.DiagnosticSeverity.Warning,
    "info": lsp.DiagnosticSeverity.Information,
}

KEYWORDS = (
    *TOP_LEVEL_WORDS,  # the declarations, `role` included
    "tier",
    "section",
    "default",
    "at",
    "least",
    "if",
    "any",
    "all",
    "of",
    "when",
    "advice",
    "end",
    "ask",
    "help",
    "unit",
    "range",
    "option",
    "unknown",
    "allowed",
    "means",
    "red",
    "flag",
    "worse",
    "patient",
    "age",
    "label",
    "within",
    "allow",
    "continue",
    "with",
    "and",
    "or",
    "not",
    "in",
    "is",
    "count",
    "then",
    "else",
    "yes",
    "no",
)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]+:")  # two letters at least: not a drive (C:)


def not_a_file(path: str) -> bool:
    """Whether ``path`` is the URI of a buffer with no file (``untitled:Untitled-1``): the
    server names such a document by its URI."""
    return _SCHEME.match(path) is not None and not path.startswith("file:") and not os.path.exists(path)


def uri_of(path: str) -> str:
    """The URI of ``path``; a buffer with no file keeps the URI the client gave it."""
    return path if not_a_file(path) else Path(os.path.abspath(path)).as_uri()


def _range(line: int, column: int, end_line: int, end_column: int) -> lsp.Range:
    return lsp.Range(
        lsp.Position(max(line - 1, 0), max(column - 1, 0)),
        lsp.Position(max(end_line - 1, 0), max(end_column - 1, 0)),
    )


def span_range(span: Span) -> lsp.Range:
    # an empty span on one line still covers its start; a span over several lines ends
    # where it ends, whatever its start column
    end_column = max(span.end_column, span.column) if span.end_line == span.line else span.end_column
    return _range(span.line, span.column, span.end_line, end_column)


def _occurrence_range(o: Occurrence | Place) -> lsp.Range:
    return _range(o.line, o.column, o.line, o.end_column)


def diagnostics(document: Document) -> list[lsp.Diagnostic]:
    """The document's diagnostics as ``triage check`` words them (suppressed ones left out)."""
    return [_diagnostic(d) for d in document.diagnostics if d.suppressed is None]


def _diagnostic(d: Diagnostic) -> lsp.Diagnostic:
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
    return lsp.Diagnostic(
        range=span_range(d.span),
        message=message,
        severity=SEVERITY[d.severity],
        code=d.code,
        source="triage",
    )


def _under(document: Document, position: lsp.Position) -> Occurrence | None:
    return at(document.occurrences, position.line + 1, position.character + 1)


# ------------------------------------------------------------------ definition, references


def definition(document: Document, position: lsp.Position) -> lsp.Location | None:
    occurrence = _under(document, position)
    if occurrence is None:
        return None
    place = document.declaration(occurrence)
    if place is None:
        return None
    return lsp.Location(uri_of(place.path), _occurrence_range(place))


def references(
    document: Document, position: lsp.Position, include_declaration: bool, others: list[Document]
) -> list[lsp.Location]:
    """Every use of the name under the cursor: in this file, the files it imports, and
    the ``others`` (open documents, files beside it) whose names resolve to the same
    declaration."""
    occurrence = _under(document, position)
    if occurrence is None:
        return []
    target = document.declaration(occurrence)
    if target is None:
        return []
    found: dict[tuple[str, int, int], lsp.Location] = {}
    paths = {document.path, *(document.checked.sources if document.checked else {})}
    views = [(document, path) for path in sorted(paths) if not path.startswith("<")]
    views += [(other, other.path) for other in others]
    for view, path in views:
        for o in view.occurrences_of(path):
            if o.kind != occurrence.kind or o.name != occurrence.name:
                continue
            if o.declares and not include_declaration:
                continue
            if view.declaration(o) != target:
                continue
            found[(path, o.line, o.column)] = lsp.Location(uri_of(path), _occurrence_range(o))
    return [found[key] for key in sorted(found)]


def neighbours(path: str) -> list[str]:
    """The protocol files of the library ``path`` belongs to (its folder and the folders
    beside it), for references from files that import it; none for a buffer with no file."""
    if not_a_file(path):
        return []
    folder = Path(path).resolve().parent
    library = folder.parent
    found = sorted(str(p) for p in library.glob("*/*.triage")) + sorted(
        str(p) for p in folder.glob("*.triage")
    )
    return [p for p in dict.fromkeys(found) if os.path.abspath(p) != os.path.abspath(path)]


# ------------------------------------------------------------------ hover


def hover(document: Document, position: lsp.Position) -> lsp.Hover | None:
    occurrence = _under(document, position)
    scope = document.scope
    if occurrence is None or scope is None:
        return None
    text = _describe(document, occurrence)
    if text is None:
        return None
    return lsp.Hover(
        contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
        range=_occurrence_range(occurrence),
    )


def _declaration_text(document: Document, span: Span) -> str:
    """The source lines of a declaration, as written."""
    source = document.checked.sources.get(span.path) if document.checked else None
    if source is None:
        return ""
    lines = source.lines[span.line - 1 : span.end_line]
    return "\n".join(lines)


def _where(document: Document, span: Span) -> str:
    if span.path == document.path:
        return f"line {span.line}"
    return f"{os.path.basename(span.path)}:{span.line}"


def _question(document: Document, q: ast.Question) -> str:
    lines = [f"**question** `{q.id}`: {q.type}"]
    if q.prompt:
        lines.append(f"\n> {q.prompt}")
    if q.help:
        lines.append(f"\nhelp: {q.help}")
    facts = []
    source = document.checked.sources.get(q.span.path) if document.checked else None
    if q.range_span is not None and source is not None:
        facts.append(source.snippet(q.range_span))
    if q.unit:
        facts.append(f"unit {q.unit}")
    if q.options:
        facts.append("options: " + ", ".join(f"`{o.id}` ({o.label})" for o in q.options))
    if q.unknown_means is not None:
        facts.append(f"unknown means {q.unknown_means.value}")
    elif q.unknown_allowed:
        facts.append("unknown allowed")
    if q.red_flag:
        facts.append("red flag")
    if facts:
        lines.append("\n" + "; ".join(facts))
    lines.append(f"\n_declared at {_where(document, q.id_span)}_")
    return "\n".join(lines)


def _disposition(document: Document, d: ast.Disposition) -> str:
    scope = document.scope
    lines = [f"**disposition** `{d.id}`" + (f": {d.label}" if d.label else "")]
    if d.tier:
        tier = next((t for t in scope.tier_order if t.id == d.tier), None) if scope else None
        label = f" ({tier.label})" if tier is not None else ""
        lines.append(f"\ntier `{d.tier}`{label}")
    if d.within is not None:
        lines.append(f"\nwithin {d.within.amount:g} {d.within.unit}")
    if d.advice:
        lines.append("\nadvice:\n" + "\n".join(f"- {a}" for a in d.advice))
    if d.escalation:
        lines.append(f"\nescalation `{d.escalation}`")
    lines.append(f"\n_declared at {_where(document, d.id_span)}_")
    return "\n".join(lines)


def _describe(document: Document, o: Occurrence) -> str | None:
    scope = document.scope
    assert scope is not None
    if o.kind == "name":
        question = scope.questions.get(o.name)
        if question is not None:
            return _question(document, question)
        value = scope.values.get(o.name)
        if value is None:
            return None
        kind = "points" if isinstance(value, ast.Points) else value.kind
        body = _declaration_text(document, value.span)
        where = _where(document, value.id_span)
        return f"**{kind}** `{o.name}`\n\n```triage\n{body}\n```\n\n_declared at {where}_"
    if o.kind == "disposition":
        d = scope.dispositions.get(o.name)
        return _disposition(document, d) if d is not None else None
    if o.kind == "tier":
        for rank, tier in enumerate(scope.tier_order, start=1):
            if tier.id == o.name:
                within = f", within {tier.within.amount:g} {tier.within.unit}" if tier.within else ""
                return (
                    f"**tier** `{tier.id}`: {tier.label} (urgency {rank} of {len(scope.tier_order)}{within})"
                )
        return None
    if o.kind == "option":
        for question in scope.questions.values():
            if o.owner is not None and question.id != o.owner:
                continue
            for option in question.options:
                if option.id == o.name:
                    return f"**option** `{option.id}` of `{question.id}`: {option.label}"
        return None
    if o.kind == "escalation":
        e = scope.escalations.get(o.name)
        if e is None:
            return None
        return f"**escalation** `{e.id}`\n\n```triage\n{_declaration_text(document, e.span)}\n```"
    if o.kind == "screen":
        s = scope.screens.get(o.name)
        return f"**screen** `{s.id}` ({len(s.sections)} section(s))" if s is not None else None
    p = scope.protocols.get(o.name)
    return f"**protocol** `{p.id}`: {getattr(p, 'title', p.id)}" if p is not None else None


# ------------------------------------------------------------------ completion

_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*|[{,])?\s*([A-Za-z_][A-Za-z0-9_]*)?$")


def completion(document: Document, position: lsp.Position) -> list[lsp.CompletionItem]:
    """Names that fit where the cursor is: tiers after ``tier``, dispositions after
    ``section``/``default``/``least``, options after ``is`` or inside ``{...}``,
    questions and values elsewhere (and the keywords)."""
    scope = document.scope
    lines = split_lines(document.text)
    line = lines[position.line] if position.line < len(lines) else ""
    before = line[: position.character]
    match = _BEFORE.search(before)
    word = (match.group(1) or "") if match else ""
    inside_braces = before.rfind("{") > before.rfind("}")
    items: list[lsp.CompletionItem] = []

    def add(label: str, kind: lsp.CompletionItemKind, detail: str) -> None:
        items.append(lsp.CompletionItem(label=label, kind=kind, detail=detail))

    if scope is None:
        for keyword in KEYWORDS:
            add(keyword, lsp.CompletionItemKind.Keyword, "keyword")
        return items
    if word == "tier":
        for tier in scope.tier_order:
            add(tier.id, lsp.CompletionItemKind.EnumMember, f"tier: {tier.label}")
        return items
    if word in ("section", "default", "least", "disposition"):
        for d in scope.dispositions.values():
            add(d.id, lsp.CompletionItemKind.EnumMember, f"disposition: {d.label or d.id} ({d.tier})")
        for tier in scope.tier_order:
            add(tier.id, lsp.CompletionItemKind.EnumMember, f"tier: {tier.label}")
        return items
    table = _points_subject(lines, position.line)
    if table is not None and not before.strip():
        question = scope.questions.get(table)
        for option in question.options if question is not None else ():
            add(option.id, lsp.CompletionItemKind.EnumMember, f"option of {table}: {option.label}")
        add("else", lsp.CompletionItemKind.Keyword, "every other answer")
        return items
    if word == "is" or inside_braces:
        subject = re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s+(?:is|not\s+in|in)\s*(?:not\s+)?\{?[^{]*$", before)
        owner = subject[-1] if subject else None
        for question in scope.questions.values():
            if owner is not None and question.id != owner:
                continue
            for option in question.options:
                add(option.id, lsp.CompletionItemKind.EnumMember, f"option of {question.id}: {option.label}")
        if word == "is":
            add("unknown", lsp.CompletionItemKind.Keyword, "the answer is unknown")
        return items
    for question in scope.questions.values():
        add(
            question.id,
            lsp.CompletionItemKind.Variable,
            f"question ({question.type}): {question.prompt or ''}",
        )
    for value in scope.values.values():
        kind = "points" if isinstance(value, ast.Points) else value.kind
        add(value.id, lsp.CompletionItemKind.Function, kind)
    for keyword in KEYWORDS:
        add(keyword, lsp.CompletionItemKind.Keyword, "keyword")
    return items


_POINTS = re.compile(r"^\s*points\s+\w+\s+from\s+(\w+)")


def _points_subject(lines: list[str], line: int) -> str | None:
    """The question a points table reads when ``line`` is one of its rows."""
    for number in range(min(line, len(lines)) - 1, -1, -1):
        text = lines[number]
        match = _POINTS.match(text)
        if match:
            return match.group(1)
        if re.match(r"^\s*end\b", text) or re.match(r"^[a-z]", text):
            return None
    return None


# ------------------------------------------------------------------ outline, formatting


def symbols(document: Document) -> list[lsp.DocumentSymbol]:
    """The file's outline: the header, each declaration, and the sections of the triage."""
    scope = document.scope
    if scope is None or document.path.endswith(".scenarios") or scope.file.header.span.path != document.path:
        return []
    file = scope.file
    header = file.header
    out = [_symbol(header.id, header.kind, lsp.SymbolKind.Module, header.span, header.id_span)]
    kinds: dict[type, tuple[str, lsp.SymbolKind]] = {
        ast.Question: ("question", lsp.SymbolKind.Variable),
        ast.Value: ("value", lsp.SymbolKind.Function),
        ast.Points: ("points", lsp.SymbolKind.Function),
        ast.Disposition: ("disposition", lsp.SymbolKind.EnumMember),
        ast.Escalation: ("escalation", lsp.SymbolKind.Event),
        ast.Screen: ("screen", lsp.SymbolKind.Namespace),
    }
    for item in file.items:
        if isinstance(item, ast.Tiers):
            children = [_symbol(t.id, t.label, lsp.SymbolKind.EnumMember, t.span, t.span) for t in item.tiers]
            out.append(_symbol("tiers", "urgency scale", lsp.SymbolKind.Enum, item.span, item.span, children))
        elif isinstance(item, ast.Triage):
            children = [
                _symbol(f"section {s.target.id}", f"if {s.mode} of", lsp.SymbolKind.Class, s.span, s.span)
                for s in item.sections
            ]
            children += [
                _symbol(f"at least {f.target.id}", "floor", lsp.SymbolKind.Class, f.span, f.span)
                for f in item.floors
            ]
            default = item.default
            children.append(
                _symbol(f"default {default.id}", "default", lsp.SymbolKind.Class, default.span, default.span)
            )
            out.append(
                _symbol("triage", "decision logic", lsp.SymbolKind.Namespace, item.span, item.span, children)
            )
        elif isinstance(item, ast.Import):
            name = item.path or '""'  # an outline entry needs a name (VS Code drops the outline)
            out.append(_symbol(name, "import", lsp.SymbolKind.File, item.span, item.span))
        elif type(item) in kinds:
            detail, kind = kinds[type(item)]
            if isinstance(item, ast.Value):
                detail = item.kind
            out.append(_symbol(item.id, detail, kind, item.span, item.id_span))
    return out


def _symbol(
    name: str,
    detail: str,
    kind: lsp.SymbolKind,
    span: Span,
    selection: Span,
    children: list[lsp.DocumentSymbol] | None = None,
) -> lsp.DocumentSymbol:
    whole = span_range(span)
    chosen = span_range(selection)
    if not (whole.start.line <= chosen.start.line <= whole.end.line):
        chosen = whole
    return lsp.DocumentSymbol(
        name=name, detail=detail, kind=kind, range=whole, selection_range=chosen, children=children or None
    )


def formatting(path: str, text: str) -> list[lsp.TextEdit] | None:
    """``triage fmt`` of the buffer as one edit ([] when formatted, None when it has syntax
    errors: nothing is changed)."""
    try:
        formatted = format_source(Source(path, text))
    except FormatError:
        return None
    if formatted == text:
        return []
    lines = split_lines(text)
    end = lsp.Position(len(lines), 0)
    return [lsp.TextEdit(range=lsp.Range(lsp.Position(0, 0), end), new_text=formatted)]


__all__ = [
    "completion",
    "definition",
    "diagnostics",
    "formatting",
    "hover",
    "neighbours",
    "not_a_file",
    "occurrences",
    "references",
    "symbols",
    "uri_of",
]


# ------------------------------------------------------------------ quick fixes

_DID_YOU_MEAN = re.compile(r"did you mean '([^']+)'\?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def code_actions(document: Document, uri: str, wanted: lsp.Range) -> list[lsp.CodeAction]:
    """A quick fix for each diagnostic in ``wanted`` whose hint names the word meant
    (``did you mean 'fever'?``): the misspelled word replaced by it. Only where the
    diagnostic's span is that one word in the text as it is now."""
    lines = split_lines(document.text)
    actions = []
    for d in document.diagnostics:
        found = _DID_YOU_MEAN.fullmatch(d.hint or "")
        span = d.span
        if found is None or d.suppressed is not None or span.path != document.path:
            continue
        if span.line != span.end_line or not 1 <= span.line <= len(lines):
            continue
        where = span_range(span)
        if where.end.line < wanted.start.line or where.start.line > wanted.end.line:
            continue
        old = lines[span.line - 1][span.column - 1 : span.end_column - 1]
        meant = found[1]
        if _WORD.fullmatch(old) is None or _WORD.fullmatch(meant) is None:
            continue
        actions.append(
            lsp.CodeAction(
                title=f"Change '{old}' to '{meant}'",
                kind=lsp.CodeActionKind.QuickFix,
                diagnostics=[_diagnostic(d)],
                is_preferred=True,
                edit=lsp.WorkspaceEdit(changes={uri: [lsp.TextEdit(range=where, new_text=meant)]}),
            )
        )
    return actions
