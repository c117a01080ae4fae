"""The user's cache folder: built things kept between runs, keyed by content hash.

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
from pathlib import Path

MAX_CACHED_BYTES = 64 * 1024 * 1024


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
            return stream.read(MAX_CACHED_BYTES + 1)
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
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
