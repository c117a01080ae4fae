"""Accepted warnings: ``allow CODE "reason"`` on a question, disposition, section or floor.

Not a pass: it runs once every diagnostic of a file is known (the checker's and, when
they ran, the analyses'), because it needs them all. A warning or note whose code an
``allow`` of the enclosing declaration names is kept but marked ``suppressed`` with the
reason; ``triage check`` hides it unless ``--show-suppressed`` and counts it in the
summary. Errors are never suppressed. An ``allow`` is itself reported (``W020``) when
it gives no reason (it then suppresses nothing), and (``W021``) when its code is not
reported on that declaration, or is an error, so stale allows do not pile up.

    question stiff_neck_or_rash: yes/no
      ask "Does the person have a stiff neck, or a rash that does not fade?"
      allow W010 "the two are asked together in the NHS meningitis checklist"
    end
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from triage_dsl.errors import Diagnostic
from triage_dsl.source import Span
from triage_dsl.syntax import ast


def _allows(file: ast.ProtocolFile) -> Iterator[tuple[ast.Allow, Span, str]]:
    """Every allow of the file with the span it covers and what it is written on."""
    for item in file.items:
        if isinstance(item, ast.Question):
            for allow in item.allows:
                yield allow, item.span, f"question '{item.id}'"
        elif isinstance(item, ast.Disposition):
            for allow in item.allows:
                yield allow, item.span, f"disposition '{item.id}'"
        elif isinstance(item, ast.Triage | ast.Screen):
            for section in item.sections:
                for allow in section.allows:
                    yield allow, section.span, f"section '{section.target.id}'"
            for floor in item.floors:
                for allow in floor.allows:
                    yield allow, floor.span, f"floor 'at least {floor.target.id}'"


def _within(inner: Span, outer: Span) -> bool:
    return (
        inner.path == outer.path
        and (outer.line, outer.column) <= (inner.line, inner.column)
        and (inner.end_line, inner.end_column) <= (outer.end_line, outer.end_column)
    )


def suppress(
    diagnostics: list[Diagnostic],
    files: Iterable[ast.ProtocolFile],
    checked: str,
    analysed: bool,
) -> list[Diagnostic]:
    """``diagnostics`` with allowed warnings marked, plus the findings about the allows of
    the ``checked`` file. Allows of analysis codes (``A...``) are judged only when the
    analyses ran (``analysed``)."""
    out = list(diagnostics)
    extra: list[Diagnostic] = []
    for file in files:
        for allow, region, where in _allows(file):
            matching = [(n, d) for n, d in enumerate(out) if d.code == allow.code and _within(d.span, region)]
            own = allow.span.path == checked
            if allow.reason is None:
                if own:
                    extra.append(
                        Diagnostic(
                            allow.span,
                            "W020",
                            "warning",
                            f"'allow {allow.code}' gives no reason, so it suppresses nothing",
                            f'write the reason it is safe here: allow {allow.code} "..."',
                        )
                    )
                continue
            warnings = [(n, d) for n, d in matching if d.severity != "error"]
            for n, d in warnings:
                out[n] = dataclasses.replace(d, suppressed=allow.reason)
            if warnings or not own or (allow.code.startswith("A") and not analysed):
                continue
            if matching:
                message = f"{allow.code} is an error on {where}; errors cannot be allowed"
                hint = "fix the error and remove the allow"
            else:
                message = f"'allow {allow.code}' suppresses nothing: {allow.code} is not reported on {where}"
                hint = "remove the allow, or move it to the declaration the warning is about"
            extra.append(Diagnostic(allow.code_span, "W021", "warning", message, hint))
    return out + extra
