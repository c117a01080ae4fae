"""The protocols a service runs: loaded from a folder at start, looked at again on
requests (at most every ``rescan_seconds``, by file size and modification time), each
version stored with its sources so a call stays on the version it started with.

A changed file is compiled again; when it compiles, the new version serves new calls
and calls already started keep theirs (their version is rebuilt from the stored sources
when this process has not compiled it). A file that no longer compiles keeps its last
good version in service, and the problem is logged (the diagnostics name file and line).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from triage_dsl.compiler import compile_file
from triage_dsl.errors import CompileError, TriageError
from triage_dsl.protocol import Protocol
from triage_dsl.source import Source
from triage_dsl.store import Database
from triage_dsl.store.protocols import load_version, save_version

log = logging.getLogger("triage_dsl.service")


@dataclass(frozen=True)
class Loaded:
    """One protocol version in service: its database id and the compiled protocol."""

    version_id: int
    protocol: Protocol


class UnknownProtocol(TriageError):
    pass


class Catalog:
    def __init__(
        self,
        folder: str | os.PathLike[str],
        db: Database,
        cache_dir: Path,
        now: Callable[[], datetime],
        rescan_seconds: float = 2.0,
    ) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise TriageError(f"{folder}: not a folder of protocols")
        self.db = db
        self.cache_dir = cache_dir
        self.now = now
        self.rescan_seconds = rescan_seconds
        self._lock = threading.Lock()
        self._current: dict[str, Loaded] = {}
        self._by_version: dict[int, Protocol] = {}
        self._seen: dict[str, tuple[int, int]] = {}
        self._scanned_at = 0.0
        self.problems: dict[str, str] = {}
        self._scan()

    # ------------------------------------------------------------------ queries
    def current(self) -> list[Loaded]:
        self.refresh()
        with self._lock:
            return sorted(self._current.values(), key=lambda item: item.protocol.id)

    def get(self, protocol_id: str) -> Loaded:
        self.refresh()
        return self.loaded(protocol_id)

    def loaded(self, protocol_id: str) -> Loaded:
        """The protocol as last loaded, without looking at the folder: no lock and no
        I/O, so an event loop may call it (a scan replaces the whole mapping at once)."""
        current = self._current
        loaded = current.get(protocol_id)
        if loaded is None:
            known = ", ".join(sorted(current)) or "none"
            raise UnknownProtocol(f"no protocol '{protocol_id}' is loaded (loaded: {known})")
        return loaded

    def version(self, version_id: int) -> Protocol:
        """The protocol of a stored version (compiled from its stored sources if need be)."""
        with self._lock:
            found = self._by_version.get(version_id)
        if found is not None:
            return found
        stored = load_version(self.db, version_id)
        if stored is None:
            raise TriageError(f"protocol version {version_id} is not in the database")
        root = self.cache_dir / "versions" / stored.content_sha256
        for relative, text in stored.sources.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                tmp = target.with_suffix(f".tmp{os.getpid()}")
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, target)
        protocol = compile_file(root / stored.path, [str(root)])
        with self._lock:
            self._by_version[version_id] = protocol
        return protocol

    # ------------------------------------------------------------------ loading
    def due(self) -> bool:
        """Whether the next :meth:`refresh` looks at the folder (it is time to)."""
        return time.monotonic() - self._scanned_at >= self.rescan_seconds

    def refresh(self) -> None:
        if self.due():
            self._scan()

    def _files(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for path in sorted(self.folder.rglob("*.triage")):
            try:
                st = path.stat()
            except OSError:
                continue
            found[str(path)] = (st.st_mtime_ns, st.st_size)
        return found

    def _scan(self) -> None:
        with self._lock:
            self._scanned_at = time.monotonic()
            files = self._files()
            if files == self._seen:
                return
            self._seen = files
            current: dict[str, Loaded] = {}
            for path in files:
                loaded = self._load(path)
                if loaded is None:
                    continue
                pid = loaded.protocol.id
                if pid in current:
                    self.problems[path] = f"protocol id '{pid}' is also in {current[pid].protocol.path}"
                    log.warning("%s: skipped: protocol id '%s' is loaded from another file", path, pid)
                    continue
                current[pid] = loaded
            for pid, before in self._current.items():  # keep a version that broke
                if pid not in current and Path(before.protocol.path).exists():
                    current[pid] = before
            self._current = current

    def _load(self, path: str) -> Loaded | None:
        try:
            protocol = compile_file(path)
        except CompileError as exc:
            if any(d.code == "T077" for d in exc.diagnostics):
                return None  # a library: imported, not served
            self.problems[path] = f"does not compile ({len(exc.diagnostics)} diagnostics)"
            log.warning("%s: not loaded: it does not compile:\n%s", path, exc.render())
            return None
        except TriageError as exc:
            self.problems[path] = str(exc)
            log.warning("%s: not loaded: %s", path, exc)
            return None
        self.problems.pop(path, None)
        files = [p for p, _ in protocol.files]
        base = Path(os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in files]))
        texts = {p: protocol_text(protocol, p) for p in files}
        sources = {os.path.relpath(p, base).replace(os.sep, "/"): text for p, text in texts.items()}
        compiled = dict(protocol.files)
        changed = [p for p, text in texts.items() if Source(p, text).sha256 != compiled[p]]
        if changed:  # an import changed between compiling and reading it: try again next scan
            self._seen = {}
            log.warning("%s: not loaded yet: %s changed while it was read", path, changed[0])
            return None
        version_id = save_version(
            self.db,
            protocol_id=protocol.id,
            version=protocol.version,
            title=protocol.title,
            status=protocol.status,
            content_sha256=protocol.content_sha256,
            path=os.path.relpath(os.path.abspath(protocol.path), base).replace(os.sep, "/"),
            sources=sources,
            now=self.now(),
        )
        self._by_version[version_id] = protocol
        previous = self._current.get(protocol.id)
        if previous is None or previous.version_id != version_id:
            log.info("protocol %s version %s loaded (%s)", protocol.id, protocol.version, version_id)
        return Loaded(version_id, protocol)


def protocol_text(protocol: Protocol, path: str) -> str:
    """The text compiled for ``path`` (the protocol's own, or an import as read then)."""
    if os.path.abspath(path) == os.path.abspath(protocol.path):
        return protocol.source.text
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""  # gone or unreadable since compiling: its hash no longer matches
