"""Static verification over the compiled decision graph.

The language is total and every comparison is over finite answer domains, so the tools
can say exactly what a protocol does for every caller: ``domains`` splits each answer
into classes, ``explore`` walks the interpreter's decisions over them, and ``findings``,
``table``, ``diff`` and ``cases`` build on that walk.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from triage_dsl.analysis.domains import NotSeparable
from triage_dsl.analysis.explore import TooLarge
from triage_dsl.errors import AnalysisLimit, Diagnostic
from triage_dsl.source import Span


def findings_for(path: str | Path, roots: Sequence[str | Path] | None = None) -> list[Diagnostic]:
    """The analyses' findings for a protocol file that compiles (libraries have none)."""
    from triage_dsl.compiler import compile_file

    return findings_of(compile_file(path, roots))


def findings_of(protocol: Any) -> list[Diagnostic]:
    """The analyses' findings for a compiled protocol; ``A000`` when they cannot be exact."""
    from triage_dsl.analysis.findings import analyse

    try:
        return analyse(protocol)
    except NotSeparable as exc:
        return [
            Diagnostic(
                exc.span,
                "A000",
                "warning",
                str(exc).split(": ", 1)[1],
                "the other checks ran; the analyses were skipped",
            )
        ]
    except TooLarge as exc:
        return [
            Diagnostic(
                Span.point(protocol.path, 1, 1),
                "A000",
                "warning",
                f"the answer space is too large to analyse exactly ({exc})",
                "split the protocol, or give number questions narrower ranges",
            )
        ]


__all__ = ["AnalysisLimit", "NotSeparable", "TooLarge", "findings_for", "findings_of"]
