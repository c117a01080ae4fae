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
from typing import Any

from triage_dsl.errors import Diagnostic, finding_from_json, finding_json
from triage_dsl.io.cache import cache_dir, read_cached, write_cached
from triage_dsl.stored import code_sha256, version_of

FORMAT = "findings-1"


def findings_key(protocol: Any) -> str:
    """The cache key of a compiled protocol's findings."""
    import lark

    parts = [
        FORMAT,
        code_sha256(),
        sys.version,
        lark.__version__,
        version_of("networkx"),  # not imported for it: a run that finds every file cached needs none
        json.dumps([list(pair) for pair in protocol.files]),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


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
                return [finding_from_json(item) for item in items]
            except (ValueError, TypeError):
                pass  # damaged: analysed again and replaced
        findings = analyses(protocol)
        try:
            text = json.dumps([finding_json(d) for d in findings], ensure_ascii=False, allow_nan=False)
            exact = [finding_from_json(item) for item in json.loads(text)] == findings
        except (ValueError, TypeError):  # a value JSON cannot carry exactly: not kept
            exact = False
        if exact:
            write_cached(folder, name, text.encode("utf-8"))
        return findings

    return run
