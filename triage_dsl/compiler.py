"""The compiler driver: file -> parse -> imports -> checks -> decision graph -> plan.

``compile_file`` and ``compile_source`` run the whole front end and return a frozen
:class:`~triage_dsl.protocol.Protocol`, or raise :class:`CompileError` listing every
diagnostic of the file and of the libraries it imports. Compiled protocols are cached by
the SHA-256 of every file they were built from.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from triage_dsl.check import CHECKS, Scope, run_checks
from triage_dsl.check.allow import suppress
from triage_dsl.check.scope import DEFAULT_TIERS_TEXT
from triage_dsl.check.skipped import damaged_names, withhold
from triage_dsl.errors import CompileError, Diagnostic, ProtocolFileError
from triage_dsl.graph.build import build_graph
from triage_dsl.graph.plan import build_plan
from triage_dsl.io.files import MAX_PROTOCOL_BYTES, inside, read_text
from triage_dsl.protocol import Protocol
from triage_dsl.source import Source, Span
from triage_dsl.syntax import ast
from triage_dsl.syntax.parser import Damage, parse_protocol, parse_protocol_recovering

T = TypeVar("T")

MAX_IMPORT_DEPTH = 16
MAX_GRAPH_NODES = 20_000
MAX_FILE_BYTES = MAX_PROTOCOL_BYTES


def read_source(path: str | Path) -> Source:
    """Read a protocol file: a regular file of at most 2 MB of UTF-8, else
    :class:`~triage_dsl.io.InputError` (a ProtocolFileError) naming the path and problem."""
    return Source(str(path), read_text(path, MAX_FILE_BYTES))


def import_problem(target: str, roots: Sequence[str]) -> str | None:
    """Why ``target`` may not be imported (None when it may): imports are ``.triage``
    files inside the roots, symbolic links followed (the file a link leads to must be a
    ``.triage`` file inside them too)."""
    if not target.endswith(".triage") or not os.path.realpath(target).endswith(".triage"):
        return "only .triage files can be imported"
    if not inside(target, roots):
        return (
            f"it is outside the protocol library ({', '.join(roots)}); "
            "imports stay inside it (name another folder with --root)"
        )
    return None


@dataclass
class _Unit:
    """One parsed file with the scope its checks ran in."""

    source: Source
    file: ast.ProtocolFile | None
    scope: Scope | None
    diagnostics: list[Diagnostic]
    files: dict[str, str] = field(default_factory=dict)  # path -> sha256 of all inputs
    damage: list[Damage] = field(default_factory=list)  # lines lost to syntax errors
    # ids declared by damaged blocks of this file and of every file it imports
    lost_names: set[str] = field(default_factory=set)


class _Compiler:
    def __init__(self, roots: Sequence[str]) -> None:
        self.roots = list(roots)
        self.units: dict[str, _Unit] = {}
        self.protocols: dict[str, Protocol | None] = {}
        self.sources: dict[str, Source] = {}
        self.stack: list[str] = []

    def unit(self, source: Source) -> _Unit:
        key = source.path
        if key in self.units:
            return self.units[key]
        self.sources[key] = source
        # After a syntax error the blocks that parsed are still checked (the others are
        # listed in ``damage``); analyses and compilation need a file without errors.
        file, diagnostics, damage = parse_protocol_recovering(source)
        unit = _Unit(source, file, None, list(diagnostics), {key: source.sha256}, damage)
        unit.lost_names = damaged_names(damage)
        self.units[key] = unit
        if file is None:
            return unit
        scope = Scope(source, file, sources=self.sources)
        self.stack.append(key)
        try:
            self.imports(unit, scope)
        finally:
            self.stack.pop()
        if scope.tiers is None:
            scope.tiers = _default_tiers()
        self.local(scope)
        run_checks(scope)
        unit.scope = scope
        imported_lost = unit.lost_names - damaged_names(damage)
        unit.diagnostics.extend(withhold(scope.diagnostics, source, damage, imported_lost, len(CHECKS)))
        return unit

    def imports(self, unit: _Unit, scope: Scope) -> None:
        assert unit.file is not None
        base = Path(unit.source.path).parent
        for item in unit.file.items:
            if not isinstance(item, ast.Import):
                continue
            target = str(_normal(base / item.path))
            if target in self.stack:
                cycle = " -> ".join([*self.stack[self.stack.index(target) :], target])
                scope.report(
                    item.span,
                    "T070",
                    f"import cycle: {cycle}",
                    "move the shared definitions into a library both can import",
                )
                continue
            if len(self.stack) >= MAX_IMPORT_DEPTH:
                scope.report(item.span, "T071", f"imports are nested more than {MAX_IMPORT_DEPTH} deep")
                continue
            refused = import_problem(target, self.roots)
            if refused is not None:
                scope.report(
                    item.span,
                    "T072",
                    f"cannot import '{item.path}': {refused}",
                    "paths are relative to this file's folder",
                )
                continue
            try:
                source = read_source(target)
            except ProtocolFileError as exc:
                scope.report(
                    item.span,
                    "T072",
                    f"cannot import '{item.path}': {exc}".replace(f"{target}: ", ""),
                    "paths are relative to this file's folder",
                )
                continue
            imported = self.unit(source)
            unit.files.update(imported.files)
            unit.lost_names |= imported.lost_names
            if imported.file is None or imported.scope is None:
                scope.report(item.span, "T073", f"'{item.path}' has syntax errors (listed above)")
                _extend_unique(unit.diagnostics, imported.diagnostics)
                continue
            _extend_unique(unit.diagnostics, imported.diagnostics)
            if imported.file.header.kind == "library":
                self.merge(scope, imported.scope, item.span)
            else:
                protocol = self.protocol_of(imported)
                _extend_unique(unit.diagnostics, imported.diagnostics)
                if protocol is not None:
                    _add(scope, scope.protocols, protocol.id, protocol, item.span, "protocol")
                else:
                    scope.broken_protocols.add(imported.file.header.id)
                    scope.report(item.span, "T073", f"'{item.path}' has errors (listed above)")

    def merge(self, scope: Scope, library: Scope, span: Span) -> None:
        for qid, q in library.questions.items():
            _add(scope, scope.questions, qid, q, span, "question")
        for vid, v in library.values.items():
            _add(scope, scope.values, vid, v, span, "value")
        for rid, role in library.roles.items():
            _add(scope, scope.roles, rid, role, span, "role")
        for eid, e in library.escalations.items():
            _add(scope, scope.escalations, eid, e, span, "escalation plan")
        for did, d in library.dispositions.items():
            _add(scope, scope.dispositions, did, d, span, "disposition")
        for sid, screen in library.screens.items():
            _add(scope, scope.screens, sid, screen, span, "screen")
        for pid, p in library.protocols.items():
            _add(scope, scope.protocols, pid, p, span, "protocol")
        if library.tiers is not None and library.tiers.span.path != "<default>":
            if scope.tiers is not None and scope.tiers is not library.tiers:
                scope.report(
                    span, "T074", "two tier scales are in scope", "a library of protocols shares one scale"
                )
            scope.tiers = library.tiers

    def local(self, scope: Scope) -> None:
        for item in scope.file.items:
            if isinstance(item, ast.Question):
                _add(scope, scope.questions, item.id, item, item.id_span, "question")
            elif isinstance(item, ast.Value | ast.Points):
                if item.id in scope.questions:
                    other = scope.questions[item.id]
                    scope.report(
                        item.id_span,
                        "T075",
                        f"'{item.id}' is already a question (declared at {other.id_span.where})",
                        "choose another name",
                    )
                    continue
                _add(scope, scope.values, item.id, item, item.id_span, "value")
            elif isinstance(item, ast.Role):
                _add(scope, scope.roles, item.id, item, item.id_span, "role")
            elif isinstance(item, ast.Escalation):
                _add(scope, scope.escalations, item.id, item, item.id_span, "escalation plan")
            elif isinstance(item, ast.Disposition):
                _add(scope, scope.dispositions, item.id, item, item.id_span, "disposition")
            elif isinstance(item, ast.Screen):
                _add(scope, scope.screens, item.id, item, item.id_span, "screen")
            elif isinstance(item, ast.Tiers):
                if scope.tiers is not None and scope.tiers.span.path != "<default>":
                    scope.report(
                        item.span,
                        "T074",
                        f"a tier scale is already in scope (from {scope.tiers.span.where})",
                        "keep one scale",
                    )
                scope.tiers = item
            elif isinstance(item, ast.Triage) and scope.triage is None:
                scope.triage = item

    def protocol_of(self, unit: _Unit) -> Protocol | None:
        key = unit.source.path
        if key in self.protocols:
            return self.protocols[key]
        self.protocols[key] = None
        errors = [d for d in unit.diagnostics if d.severity == "error"]
        if errors or unit.scope is None or unit.scope.triage is None:
            return None
        scope = unit.scope
        graph = build_graph(scope)
        if graph.number_of_nodes() > MAX_GRAPH_NODES:
            unit.diagnostics.append(
                Diagnostic(
                    scope.file.header.id_span,
                    "T078",
                    "error",
                    f"protocol '{scope.file.header.id}' has {graph.number_of_nodes():,} graph nodes, "
                    f"more than the {MAX_GRAPH_NODES:,} a protocol may have",
                    "split it into protocols joined by 'continue with'",
                )
            )
            return None
        protocol = Protocol(
            header=scope.file.header,
            source=unit.source,
            decision=graph,
            plan=build_plan(graph, scope),
            diagnostics=tuple(unit.diagnostics),
            files=tuple(sorted(unit.files.items())),
        )
        self.protocols[key] = protocol
        return protocol


def _normal(path: Path) -> Path:
    """A normalised relative-or-absolute path (``a/../b`` folded), not resolved through links."""
    import os.path

    return Path(os.path.normpath(path))


def _add(scope: Scope, table: dict[str, T], key: str, value: T, span: Span, what: str) -> None:
    existing = table.get(key)
    if existing is None:
        table[key] = value
        return
    if existing is value:
        return
    where = getattr(existing, "id_span", None) or getattr(existing, "span", None)
    place = f" at {where.where}" if isinstance(where, Span) else ""
    scope.report(
        span,
        "T076",
        f"{what} '{key}' is declared twice (first{place})",
        "rename one, or keep a single declaration in the shared library",
    )


@lru_cache(maxsize=1)
def _default_tiers() -> ast.Tiers:
    file, diagnostics = parse_protocol(
        Source("<default>", "library default_tiers end\n" + DEFAULT_TIERS_TEXT)
    )
    assert file is not None and not diagnostics
    tiers = file.items[0]
    assert isinstance(tiers, ast.Tiers)
    return tiers


_CACHE: dict[tuple[str, str, tuple[str, ...]], Protocol] = {}
_CACHE_LOCK = threading.Lock()


def roots_for(path: str, roots: Sequence[str | Path] | None) -> tuple[str, ...]:
    """The folders imports must stay in: the protocol's **library**, the folder that holds
    the protocol's folder (so ``protocols/pathways/x.triage`` may import
    ``../rules/rules.triage``, but nothing above ``protocols/``), and any folder named."""
    own = os.path.dirname(os.path.abspath(path))
    library = os.path.dirname(own) if os.path.dirname(own) != own else own
    return tuple(dict.fromkeys([library, *(str(r) for r in roots or ())]))


def _cached(source: Source, roots: tuple[str, ...]) -> Protocol | None:
    with _CACHE_LOCK:
        protocol = _CACHE.get((source.path, source.sha256, roots))
    if protocol is None:
        return None
    for path, sha in protocol.files:
        if path == source.path:
            continue
        try:
            if read_source(path).sha256 != sha:
                return None
        except ProtocolFileError:
            return None
    return protocol


def compile_source(source: Source, roots: Sequence[str | Path] | None = None) -> Protocol:
    """Compile one protocol from its source. Imports are read relative to its path and
    must stay inside its folder or one of ``roots``."""
    folders = roots_for(source.path, roots)
    cached = _cached(source, folders)
    if cached is not None:
        return cached
    compiler = _Compiler(folders)
    unit = compiler.unit(source)
    errors = [d for d in unit.diagnostics if d.severity == "error"]
    if unit.file is not None and unit.file.header.kind == "library" and not errors:
        raise CompileError(
            [
                Diagnostic(
                    unit.file.header.id_span,
                    "T077",
                    "error",
                    f"'{unit.file.header.id}' is a library, not a protocol",
                    "evaluate a protocol that imports it",
                )
            ],
            compiler.sources,
        )
    protocol = compiler.protocol_of(unit) if not errors else None
    if protocol is None:
        raise CompileError(_sorted(unit.diagnostics), compiler.sources)
    with _CACHE_LOCK:
        _CACHE[(source.path, source.sha256, folders)] = protocol
    return protocol


def compile_file(path: str | Path, roots: Sequence[str | Path] | None = None) -> Protocol:
    """Read and compile a ``.triage`` protocol file (imports inside its folder or ``roots``)."""
    return compile_source(read_source(path), roots)


def check_file(
    path: str | Path,
    analyses: Callable[[Protocol], list[Diagnostic]] | None = None,
    roots: Sequence[str | Path] | None = None,
) -> tuple[list[Diagnostic], dict[str, Source]]:
    """Every diagnostic for a protocol or library file, errors, warnings and notes, in
    file order; those an ``allow`` accepts are marked ``suppressed``.

    ``analyses`` (the static verification, a later stage handed in by the caller) runs on
    the compiled protocol when the file has no errors. Imports stay inside the file's
    folder or ``roots``."""
    checked = check_source(read_source(path), analyses, roots)
    return checked.diagnostics, checked.sources


@dataclass(frozen=True)
class Checked:
    """What :func:`check_source` found: the diagnostics, every file read, and the checked
    file's scope (its declarations and those it imports; None after a syntax error)."""

    diagnostics: list[Diagnostic]
    sources: dict[str, Source]
    scope: Scope | None
    protocol: Protocol | None


def check_source(
    source: Source,
    analyses: Callable[[Protocol], list[Diagnostic]] | None = None,
    roots: Sequence[str | Path] | None = None,
) -> Checked:
    """:func:`check_file` for text already in memory (an editor's unsaved buffer); its
    imports are read from disk."""
    compiler = _Compiler(roots_for(source.path, roots))
    unit = compiler.unit(source)
    diagnostics = list(unit.diagnostics)
    analysed = False
    protocol = None
    if (
        unit.file is not None
        and unit.file.header.kind == "protocol"
        and not any(d.severity == "error" for d in unit.diagnostics)
    ):
        protocol = compiler.protocol_of(unit)
        diagnostics = list(unit.diagnostics)
        if protocol is not None and analyses is not None:
            diagnostics += analyses(protocol)
            analysed = True
    files = [u.file for u in compiler.units.values() if u.file is not None]
    judged = suppress(_sorted(diagnostics), files, source.path, analysed)
    # An `allow` in a block that lost lines to a syntax error cannot be judged (the
    # finding it accepts may depend on the lost lines): no W021 there.
    damaged = {(path, lost.block) for path, u in compiler.units.items() for lost in u.damage}
    judged = [
        d
        for d in judged
        if d.code != "W021"
        or not any(d.span.path == path and a <= d.span.line <= b for path, (a, b) in damaged)
    ]
    return Checked(_sorted(judged), compiler.sources, unit.scope, protocol)


def _extend_unique(diagnostics: list[Diagnostic], more: Sequence[Diagnostic]) -> None:
    """Append the diagnostics of ``more`` not already in ``diagnostics`` (hashed, linear)."""
    seen = set(diagnostics)
    for d in more:
        if d not in seen:
            seen.add(d)
            diagnostics.append(d)


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    unique = list(dict.fromkeys(diagnostics))  # first of equal diagnostics kept, in linear time
    return sorted(unique, key=lambda d: (d.span.path, d.span.line, d.span.column, d.code))
