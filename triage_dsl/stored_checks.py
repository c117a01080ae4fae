"""What ``triage check`` found in a file, kept in the cache folder for the next run.

``triage check`` over a folder parses and checks every file on every run; the analyses'
findings are already kept (:mod:`triage_dsl.analysis.cache`), so with the files unchanged
the parsing, the checks and the imports they need are most of the run. A file's
diagnostics depend only on the files it was checked from (the file and what it imports:
an import names one file, there is no search path), on the folders imports may come
from, on whether the analyses ran, and on the code. They are kept under the SHA-256 of:
the path as given, the working folder, the file's content hash, the ``--root`` folders,
the analyses flag, the package's own source and grammar, and the versions of Python,
lark and networkx.

A result read back is used only when every file it was checked from still has the hash
it had; those files are read again, and their text is what the caret excerpts show.
Only results without errors are kept: a file with an error (a missing import among them)
is checked afresh on every run. Results are JSON (never pickled), kept only when they
read back exactly; a file that does not read back is ignored. Like every cache here, an
accelerator only: nothing in this module raises.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from triage_dsl.errors import Diagnostic, ProtocolFileError, finding_from_json, finding_json
from triage_dsl.io.cache import cache_dir, read_cached, write_cached
from triage_dsl.io.files import MAX_PROTOCOL_BYTES, read_text
from triage_dsl.source import Source
from triage_dsl.stored import code_sha256, version_of

FORMAT = "checked-1"


def _name(path: str, sha256: str, roots: Sequence[str | Path] | None, analysed: bool) -> str:
    parts = [
        FORMAT,
        code_sha256(),
        sys.version,
        version_of("lark"),
        version_of("networkx"),
        path,
        os.getcwd(),
        sha256,
        json.dumps([str(r) for r in roots or ()]),
        "analysed" if analysed else "not analysed",
    ]
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{FORMAT}-{digest}.json"


def _read(path: str) -> Source | None:
    try:
        return Source(path, read_text(path, MAX_PROTOCOL_BYTES))
    except ProtocolFileError:
        return None


def load(
    path: str | Path, roots: Sequence[str | Path] | None, analysed: bool
) -> tuple[list[Diagnostic], dict[str, Source]] | None:
    """The diagnostics and sources an earlier run of the check found for ``path``, None
    when there are none that are current."""
    folder = cache_dir()
    if folder is None:
        return None
    source = _read(str(path))
    if source is None:
        return None
    data = read_cached(folder, _name(source.path, source.sha256, roots, analysed))
    if data is None:
        return None
    try:
        kept = json.loads(data)
        files = kept["files"]
        diagnostics = []
        for item in kept["diagnostics"]:
            *finding, suppressed = item
            d = finding_from_json(finding)
            if suppressed is not None and not isinstance(suppressed, str):
                return None
            diagnostics.append(_suppressed(d, suppressed))
        sources = {source.path: source}
        for name, sha in files:
            if not (isinstance(name, str) and isinstance(sha, str)):
                return None
            if name not in sources:
                other = _read(name)
                if other is None:
                    return None
                sources[name] = other
            if sources[name].sha256 != sha:
                return None
    except (ValueError, TypeError, KeyError):
        return None
    if set(sources) != {name for name, _ in files}:
        return None  # the file itself is not among those it was checked from: not ours
    return diagnostics, sources


def store(
    path: str | Path,
    roots: Sequence[str | Path] | None,
    analysed: bool,
    diagnostics: list[Diagnostic],
    sources: dict[str, Source],
) -> None:
    """Keep what the check found for ``path`` (best effort; not when it found an error)."""
    source = sources.get(str(path))
    folder = cache_dir()
    if folder is None or source is None or any(d.severity == "error" for d in diagnostics):
        return
    kept = {
        "files": [[name, s.sha256] for name, s in sorted(sources.items())],
        "diagnostics": [[*finding_json(d), d.suppressed] for d in diagnostics],
    }
    try:
        text = json.dumps(kept, ensure_ascii=False, allow_nan=False)
        back = json.loads(text)["diagnostics"]
        exact = [_suppressed(finding_from_json(item[:-1]), item[-1]) for item in back] == diagnostics
    except (ValueError, TypeError):  # a value JSON cannot carry exactly: not kept
        return
    if exact:
        write_cached(folder, _name(source.path, source.sha256, roots, analysed), text.encode("utf-8"))


def _suppressed(d: Diagnostic, reason: str | None) -> Diagnostic:
    if reason is None:
        return d
    from dataclasses import replace

    return replace(d, suppressed=reason)
