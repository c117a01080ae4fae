"""A compiled protocol: frozen, shareable across threads, cached by source hash."""

from __future__ import annotations

import hashlib
import json
import os.path
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from triage_dsl.errors import Diagnostic
from triage_dsl.source import Source
from triage_dsl.syntax import ast

if TYPE_CHECKING:
    import networkx as nx

    from triage_dsl.graph.decision import DecisionGraph
    from triage_dsl.graph.plan import Plan

_GRAPH_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class Protocol:
    """The output of the compiler.

    ``decision`` is the decision graph, the one source of truth; ``plan`` is that graph
    frozen into plain tuples and dicts for the interpreter; ``graph`` is the same graph as
    a frozen ``networkx.DiGraph``, for the analyses and the renderer, built on first use
    (evaluating a protocol does not load networkx).
    """

    header: ast.Header
    source: Source
    decision: DecisionGraph
    plan: Plan
    diagnostics: tuple[Diagnostic, ...]
    files: tuple[tuple[str, str], ...]

    @property
    def graph(self) -> nx.DiGraph:
        """The decision graph as a frozen ``networkx.DiGraph`` (built once, on first use)."""
        found: nx.DiGraph | None = self.__dict__.get("_networkx")
        if found is None:
            with _GRAPH_LOCK:
                found = self.__dict__.get("_networkx")
                if found is None:
                    found = self.__dict__["_networkx"] = self.decision.to_networkx()
        return found

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
    def status(self) -> str | None:
        """The header's ``status`` (draft, approved, retired), None when it has none."""
        return self.header.status

    def relative(self, path: str) -> str:
        """``path`` relative to the protocol's root folder (the folder of its file), with
        ``/`` separators: what results and records show, so the same call gives the same
        bytes whatever the working directory or the spelling of the path."""
        if path.startswith("<"):
            return path
        folder = os.path.dirname(self.source.path) or "."
        return os.path.relpath(path, folder).replace(os.sep, "/")

    @cached_property
    def portable_files(self) -> tuple[tuple[str, str], ...]:
        """Every file compiled (the protocol and its imports), relative path -> SHA-256."""
        return tuple(sorted((self.relative(path), sha) for path, sha in self.files))

    @cached_property
    def content_sha256(self) -> str:
        """SHA-256 over the protocol and everything it imports: the canonical JSON of the
        sorted ``[relative path, SHA-256]`` pairs of :attr:`portable_files`. Any change in
        any file compiled changes it."""
        text = json.dumps([list(pair) for pair in self.portable_files], separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "warning")

    def __repr__(self) -> str:
        return f"<Protocol {self.id} {self.version} {self.sha256[:12]}>"
