"""The user's cache folder: built things kept between runs, keyed by content hash.

Each change to a protocol or to the package writes new files under new names, so the
folder is kept bounded: after a write, when it holds more than :data:`MAX_FILES` files
or :data:`MAX_TOTAL_BYTES` bytes, the least recently used files are removed (a file read
back counts as used; see :func:`read_cached`).

``$TRIAGE_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/triage-dsl``, else
``~/.cache/triage-dsl``. A cache is only ever an accelerator: every function here fails
quietly (None, nothing written) and the caller builds the thing afresh.

What is read back may be unpickled, so a file is only read from a folder that belongs to
this user and that no one else may write (created with mode 0700), and files are written
to a temporary name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from pathlib import Path

MAX_CACHED_BYTES = 64 * 1024 * 1024
MAX_FILES = 2_000
"""More files than this after a write, and the least recently used are removed..."""
MAX_TOTAL_BYTES = 256 * 1024 * 1024
"""...or more bytes than this in all (parser tables, compiled protocols, findings)."""
KEEP = 0.75
"""...down to this share of both limits, so pruning runs once per many writes."""
TOUCH_AFTER_SECONDS = 24 * 3600
"""A file read back is marked used (its modification time set to now) at most this often."""


def cache_dir() -> Path | None:
    """The cache folder, created when missing; None when it cannot be used safely."""
    configured = os.environ.get("TRIAGE_CACHE_DIR")
    if configured:
        folder = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = Path(base) / "triage-dsl"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or not _private(info):
        return None
    return folder


def _private(info: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    getuid = getattr(os, "getuid", None)
    if getuid is not None and info.st_uid != getuid():
        return False
    return not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read_cached(folder: Path, name: str) -> bytes | None:
    """The bytes of ``folder/name``: a regular file of this user's that no one else may
    write; None otherwise."""
    try:
        fd = os.open(folder / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not _private(info) or info.st_size > MAX_CACHED_BYTES:
            return None
        with os.fdopen(fd, "rb") as stream:
            fd = -1
            data = stream.read(MAX_CACHED_BYTES + 1)
        if time.time() - info.st_mtime > TOUCH_AFTER_SECONDS:  # used: kept by the pruning
            with contextlib.suppress(OSError):
                os.utime(folder / name)
        return data
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)


def write_cached(folder: Path, name: str, data: bytes) -> bool:
    """Write ``folder/name`` atomically (temporary file, then rename); False when it
    cannot be written (a read-only or full disk is not an error: the cache is optional)."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(temporary, folder / name)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    prune(folder)
    return True


def prune(folder: Path, max_files: int | None = None, max_bytes: int | None = None) -> int:
    """Remove the least recently used files of ``folder`` when it holds more than
    ``max_files`` files or ``max_bytes`` bytes, down to :data:`KEEP` of both; the number
    removed (the limits default to :data:`MAX_FILES` and :data:`MAX_TOTAL_BYTES`). Only
    regular files are looked at; a file that cannot be removed is left."""
    max_files = MAX_FILES if max_files is None else max_files
    max_bytes = MAX_TOTAL_BYTES if max_bytes is None else max_bytes
    try:
        entries = []
        with os.scandir(folder) as listing:
            for entry in listing:
                if entry.is_file(follow_symlinks=False):
                    info = entry.stat(follow_symlinks=False)
                    entries.append((info.st_mtime, entry.name, info.st_size))
    except OSError:
        return 0
    total = sum(size for _, _, size in entries)
    if len(entries) <= max_files and total <= max_bytes:
        return 0
    entries.sort()  # oldest first (by name when equal, so the order is the same every time)
    count, removed = len(entries), 0
    for _, name, size in entries:
        if count <= max_files * KEEP and total <= max_bytes * KEEP:
            break
        with contextlib.suppress(OSError):
            os.unlink(folder / name)
            removed += 1
        count, total = count - 1, total - size
    return removed
