"""A compiled protocol: frozen, shareable across threads, cached by source hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from triage_dsl.errors import Diagnostic
from triage_dsl.source import Source
from triage_dsl.syntax import ast

if TYPE_CHECKING:
    from triage_dsl.graph.plan import Plan


@dataclass(frozen=True, eq=False)
class Protocol:
    """The output of the compiler.

    ``graph`` is the decision graph (a frozen ``networkx.DiGraph``), the one source of
    truth; ``plan`` is that graph frozen into plain tuples and dicts for the interpreter.
    """

    header: ast.Header
    source: Source
    graph: nx.DiGraph
    plan: Plan
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return self.header.id

    @property
    def title(self) -> str:
        return self.header.title or self.header.id

    @property
    def version(self) -> str:
        return self.header.version or ""

    @property
    def sha256(self) -> str:
        return self.source.sha256

    @property
    def path(self) -> str:
        return self.source.path

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    def __repr__(self) -> str:
        return f"<Protocol {self.id} {self.version} {self.sha256[:12]}>"
