"""The book's drawings: DOT text -> SVG through graphviz's ``dot``, each text drawn once.

A book has hundreds of drawings (a protocol's graph, and again with each scenario's path)
and ``dot`` is most of its time. So:

- a DOT text that appears on several pages is drawn once (scenarios with the same path);
- drawings go to a pool of :data:`JOBS` ``dot`` processes (at most the machine's cores) as
  soon as they are made, while the next pages are composed; each is its own process, since
  one ``dot`` run over many graphs gives other SVG (ids, cluster order) than a run per
  graph, and the results are collected by text, so the order in which they finish changes
  nothing;
- the SVGs of each protocol's drawings are kept in the user's cache folder
  (:mod:`triage_dsl.io.cache`) between runs, one file per protocol file and ``dot``
  program, found by the SHA-256 of each DOT text. A drawing is taken from there only when
  its DOT text is the same, byte for byte, and the ``dot`` program is the same (its
  ``-V`` line, path, size and modification time), so the SVG is the one that ``dot`` would
  give again. Only a cache file that reads back whole is used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import graphviz

from triage_dsl.io.cache import cache_dir, read_cached, write_cached
from triage_dsl.render.output import pipe

JOBS = max(1, min(4, os.cpu_count() or 1))
"""``dot`` processes run at once while a book is made."""
FORMAT = "svgs-1"


def dot_identity() -> str | None:
    """What names the ``dot`` program that draws: its version line, path, size and
    modification time; None when it is not on the PATH or does not run."""
    found = shutil.which("dot")
    if found is None:
        return None
    try:
        path = os.path.realpath(found)
        info = os.stat(path)
        version = subprocess.run([path, "-V"], capture_output=True, timeout=30, check=True).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{FORMAT}\n{path}\n{info.st_size}\n{info.st_mtime_ns}\n{version.decode('utf-8', 'replace')}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Drawer:
    """SVGs of DOT texts, drawn in the background; :meth:`svgs` waits for them all."""

    def __init__(self, jobs: int = JOBS, *, cached: bool = True) -> None:
        self.pool = ThreadPoolExecutor(max_workers=jobs)
        self.futures: dict[str, Future[bytes]] = {}  # DOT text -> its SVG
        self.folder: Path | None = None
        self.identity: str | None = None
        if cached:
            self.folder = cache_dir()
            self.identity = dot_identity() if self.folder is not None else None
        self.stored: dict[str, dict[str, bytes]] = {}  # group -> DOT digest -> SVG, as read
        self.groups: dict[str, dict[str, str]] = {}  # group -> DOT digest -> DOT text, this run
        self.drawn: set[str] = set()  # groups with a drawing not found in the cache

    def submit(self, group: str, source: str) -> None:
        """Draw ``source`` (DOT) unless it is drawn already; ``group`` (the protocol's file)
        names the cache file it is kept in."""
        digest = _digest(source)
        self.groups.setdefault(group, {})[digest] = source
        if source in self.futures:
            return
        svg = self._stored(group).get(digest)
        if svg is not None:
            done: Future[bytes] = Future()
            done.set_result(svg)
            self.futures[source] = done
            return
        self.drawn.add(group)
        self.futures[source] = self.pool.submit(pipe, graphviz.Source(source), "svg")

    def svgs(self) -> dict[str, bytes]:
        """Every drawing's SVG by its DOT text; :class:`~triage_dsl.render.output.DotMissing`
        when graphviz is not installed. What was drawn is kept for the next run."""
        svgs = {source: future.result() for source, future in self.futures.items()}
        for group in sorted(self.drawn):
            self._store(group, svgs)
        return svgs

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)

    def _name(self, group: str) -> str:
        assert self.identity is not None
        return f"svgs-{_digest(self.identity + chr(0) + group)}.json.z"

    def _stored(self, group: str) -> dict[str, bytes]:
        found = self.stored.get(group)
        if found is not None:
            return found
        found = {}
        if self.folder is not None and self.identity is not None:
            data = read_cached(self.folder, self._name(group))
            if data is not None:
                with contextlib.suppress(ValueError, TypeError, zlib.error):
                    found = _unpack(zlib.decompress(data))
        self.stored[group] = found
        return found

    def _store(self, group: str, svgs: dict[str, bytes]) -> None:
        """Keep the group's drawings of this run (only those: older ones are dropped)."""
        if self.folder is None or self.identity is None:
            return
        kept = {digest: svgs[source] for digest, source in sorted(self.groups[group].items())}
        write_cached(self.folder, self._name(group), zlib.compress(_pack(kept), 1))


def _pack(svgs: dict[str, bytes]) -> bytes:
    """One line of JSON (each digest and its SVG's length), then the SVGs one after another."""
    index = json.dumps([[digest, len(svg)] for digest, svg in svgs.items()])
    return index.encode("ascii") + b"\n" + b"".join(svgs.values())


def _unpack(data: bytes) -> dict[str, bytes]:
    """What :func:`_pack` made; ValueError or TypeError for anything else."""
    head, _, body = data.partition(b"\n")
    index = json.loads(head)
    out: dict[str, bytes] = {}
    at = 0
    for digest, length in index:
        if not isinstance(digest, str) or type(length) is not int or length < 0:
            raise TypeError("not a drawing index")
        out[digest] = body[at : at + length]
        at += length
    if at != len(body):
        raise ValueError("the drawings do not fill the file")
    return out
