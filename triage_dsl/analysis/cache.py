"""The analyses' findings kept on disk between runs, keyed by everything they depend on.

``triage check`` over a folder re-analyses every protocol each time, though most files
did not change since the last run; the analyses are the bulk of its time. A protocol's
findings depend only on the files it was compiled from and on the code that compiled and
analysed them, so the key is the SHA-256 of: the protocol's files (path as given and
content hash, so spans name the same paths), the package's own source files and grammar,
and the versions of Python, lark and networkx. Any change to any of them is a new key.

Findings are stored as JSON (never pickled) in the user cache folder
(:mod:`triage_dsl.io.cache`); a file that does not read back as a list of findings is
ignored and the analyses run. Writing is best effort.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from triage_dsl.errors import Diagnostic
from triage_dsl.io.cache import cache_dir, read_cached, write_cached
from triage_dsl.source import Span

PACKAGE = Path(__file__).resolve().parents[1]
FORMAT = "findings-1"


@lru_cache(maxsize=1)
def code_sha256() -> str:
    """SHA-256 over the package's Python files and the grammar (read once per process)."""
    from triage_dsl.syntax.grammar import grammar_path

    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    digest.update(grammar_path().read_bytes())
    return digest.hexdigest()


@cache
def _version_of(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:  # pragma: no cover - a dependency of the package
        return "?"


def findings_key(protocol: Any) -> str:
    """The cache key of a compiled protocol's findings."""
    import lark

    parts = [
        FORMAT,
        code_sha256(),
        sys.version,
        lark.__version__,
        _version_of("networkx"),  # not imported for it: a run that finds every file cached needs none
        json.dumps([list(pair) for pair in protocol.files]),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _to_json(d: Diagnostic) -> list[Any]:
    s = d.span
    witness = [list(pair) for pair in d.witness] if d.witness is not None else None
    return [
        *(s.path, s.line, s.column, s.end_line, s.end_column),
        *(d.code, d.severity, d.message, d.hint, witness),
    ]


def _from_json(item: Any) -> Diagnostic:
    path, line, column, end_line, end_column, code, severity, message, hint, witness = item
    if not (
        isinstance(path, str)
        and all(type(n) is int for n in (line, column, end_line, end_column))
        and isinstance(code, str)
        and severity in ("error", "warning", "info")
        and isinstance(message, str)
        and (hint is None or isinstance(hint, str))
        and (witness is None or all(isinstance(w, list) and len(w) == 2 for w in witness))
    ):
        raise ValueError("not a finding")
    pairs = tuple((str(q), v) for q, v in witness) if witness is not None else None
    return Diagnostic(Span(path, line, column, end_line, end_column), code, severity, message, hint, pairs)


def cached(analyses: Callable[[Any], list[Diagnostic]]) -> Callable[[Any], list[Diagnostic]]:
    """``analyses`` with its results kept in the cache folder (the same findings, in the
    same order, as running it)."""

    def run(protocol: Any) -> list[Diagnostic]:
        folder = cache_dir()
        if folder is None:
            return analyses(protocol)
        name = f"findings-{findings_key(protocol)}.json"
        data = read_cached(folder, name)
        if data is not None:
            try:
                items = json.loads(data)
                return [_from_json(item) for item in items]
            except (ValueError, TypeError):
                pass  # damaged: analysed again and replaced
        findings = analyses(protocol)
        try:
            text = json.dumps([_to_json(d) for d in findings], ensure_ascii=False, allow_nan=False)
            exact = [_from_json(item) for item in json.loads(text)] == findings
        except (ValueError, TypeError):  # a value JSON cannot carry exactly: not kept
            exact = False
        if exact:
            write_cached(folder, name, text.encode("utf-8"))
        return findings

    return run
