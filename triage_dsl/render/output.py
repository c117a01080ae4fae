"""Writing a drawing: DOT as text, or svg/png/pdf through graphviz's ``dot`` program.

When ``dot`` is not installed the DOT is still written (beside the requested file, with
the ``.dot`` suffix) and the outcome says how to install graphviz.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import graphviz

from triage_dsl.io.outputs import write_atomic

FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = (
    "the graphviz 'dot' program is not installed; install it "
    "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz) to render svg, png or pdf"
)


class DotMissing(Exception):
    """graphviz's ``dot`` program is not on the PATH."""


@dataclass(frozen=True)
class Written:
    path: Path
    format: str
    dot_missing: bool = False


def format_for(path: str | Path, requested: str | None) -> str:
    """The requested format, or the one the file name's suffix names (svg by default)."""
    if requested:
        return requested
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "svg"


def pipe(drawing: graphviz.Source | graphviz.Digraph, fmt: str) -> bytes:
    """Run ``dot`` on the drawing; :class:`DotMissing` when graphviz is not installed."""
    try:
        data: bytes = drawing.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise DotMissing(INSTALL_HINT) from None
    return data


def write_drawing(drawing: graphviz.Source | graphviz.Digraph, path: str | Path, fmt: str) -> Written:
    """Write ``drawing`` to ``path`` as ``fmt``; without ``dot``, write the DOT instead."""
    target = Path(path)
    if fmt == "dot":
        write_atomic(target, drawing.source)
        return Written(target, "dot")
    try:
        data = pipe(drawing, fmt)
    except DotMissing:
        fallback = target.with_suffix(".dot")
        write_atomic(fallback, drawing.source)
        return Written(fallback, "dot", dot_missing=True)
    write_atomic(target, data)
    return Written(target, fmt)
