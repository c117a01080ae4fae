"""Compiled protocols kept in the user's cache folder, so a later command skips the parser.

Compiling a protocol (loading the parser tables, parsing the file and its imports, the
checks, the decision graph and the plan) is most of the work of ``triage eval`` of one
case after the imports. The compiled :class:`~triage_dsl.protocol.Protocol` is pickled
into the cache folder (:mod:`triage_dsl.io.cache`: a 0700 folder of the user's own,
written atomically) under the SHA-256 of everything it was built from: the protocol file
(the path as given, the working folder and the text's hash), the folders its imports may
come from, the package's own source and grammar, and the Python version. A protocol read
back is used only when every file it imported still has the hash it was compiled from;
anything else (a missing, damaged or foreign file, a changed import) compiles afresh. A
cache is only an accelerator: nothing here raises.

The runtime's caches (``plan.compiled``) and the networkx view of the graph are not
stored: they are rebuilt on first use, as after a compile.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from triage_dsl.io.cache import cache_dir, read_cached, write_cached

if TYPE_CHECKING:
    from triage_dsl.protocol import Protocol
    from triage_dsl.source import Source

PACKAGE = Path(__file__).resolve().parent
FORMAT = "compiled-1"


@lru_cache(maxsize=1)
def code_sha256() -> str:
    """SHA-256 over the package's Python files and the grammar, the packaged copy and the
    checkout's, whichever exist (read once per process; without loading lark)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for grammar in (PACKAGE / "grammar" / "triage.lark", PACKAGE.parent / "grammar" / "triage.lark"):
        digest.update(grammar.read_bytes() + b"\0" if grammar.is_file() else b"-\0")
    return digest.hexdigest()


@cache
def version_of(distribution: str) -> str:
    """An installed distribution's version ("?" when it is not installed), without
    importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:  # pragma: no cover - a dependency of the package
        return "?"


def _key(source: Source, roots: tuple[str, ...]) -> str:
    parts = [FORMAT, code_sha256(), sys.version, source.path, os.getcwd(), source.sha256, *roots]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _current(protocol: Protocol, source: Source) -> bool:
    """Every file the protocol was compiled from still has the hash it had."""
    from triage_dsl.errors import ProtocolFileError
    from triage_dsl.io.files import MAX_PROTOCOL_BYTES, read_text
    from triage_dsl.source import Source

    for path, sha in protocol.files:
        if path == source.path:
            if sha != source.sha256:
                return False
            continue
        try:
            if Source(path, read_text(path, MAX_PROTOCOL_BYTES)).sha256 != sha:
                return False
        except ProtocolFileError:
            return False
    return True


def load(source: Source, roots: tuple[str, ...]) -> Protocol | None:
    """The protocol compiled from ``source`` in an earlier run, None when there is none
    that is current."""
    from triage_dsl.protocol import Protocol

    folder = cache_dir()
    if folder is None:
        return None
    data = read_cached(folder, f"protocol-{_key(source, roots)}.pickle")
    if data is None:
        return None
    try:
        protocol = pickle.load(io.BytesIO(data))
    except Exception:  # a damaged file, or one from other code: compiled afresh
        return None
    if not isinstance(protocol, Protocol) or protocol.source.path != source.path:
        return None
    return protocol if _current(protocol, source) else None


def store(source: Source, roots: tuple[str, ...], protocol: Protocol) -> None:
    """Keep ``protocol`` for later runs (best effort)."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        data = pickle.dumps(protocol, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # something in it that cannot be pickled: not kept
        return
    write_cached(folder, f"protocol-{_key(source, roots)}.pickle", data)
