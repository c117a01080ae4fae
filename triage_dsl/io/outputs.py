"""Output files: checked before any work starts, written whole or not at all.

One rule for every command: **the folder an output goes into must exist** (a missing
folder is an error, never created on the way; ``triage book`` creates only the site
folder itself, inside an existing folder). An output must be writable, must not be a
folder, and must not be the same file as any input of the command (compared by device
and inode, so links and other spellings of a path are caught).

:func:`write_atomic` writes a temporary file in the same folder, flushes it to disk and
renames it over the target, so a reader sees the old file or the new one, never half of
one, and a failure leaves the old file as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TextIO, cast

from triage_dsl.errors import TriageError
from triage_dsl.io.files import file_kind
from triage_dsl.source import visible


class _VisibleText:
    """A text stream whose writes show control characters escaped; the rest is the stream's."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(visible(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def for_terminal(stream: TextIO) -> TextIO:
    """``stream`` for messages and text reports a person reads: a control character or bidi
    override that a file, an answer or a path brought in is written escaped (``\\x1b``,
    ``\\u202e``, see :func:`~triage_dsl.source.visible`), so it cannot recolour, clear or
    reorder the terminal. Never for JSON, DOT or files meant to be kept: those stay exact."""
    if isinstance(stream, _VisibleText):
        return cast(TextIO, stream)
    return cast(TextIO, _VisibleText(stream))


class OutputError(TriageError):
    """An output path cannot be written (checked before the work, or failed when written)."""


def check_output(path: str | Path, inputs: Iterable[str | Path] = (), *, folder: bool = False) -> Path:
    """Check that ``path`` can be written (see the module's rule) and return it.

    ``folder=True`` for an output that is a folder (``triage book``): it may exist (as a
    folder) or be created inside an existing folder.
    """
    target = Path(path)
    try:  # a name the file system cannot hold is found now, not after the work
        os.stat(target)
        exists = True
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
        exists = False  # as os.path.exists says for any other error
    except ValueError:  # a NUL byte
        raise OutputError(f"{path}: not a valid file name") from None
    parent = _real(target).parent
    if not os.path.isdir(parent):
        raise OutputError(f"{path}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write in the folder {parent} (permission denied)")
    if exists:
        if folder:
            if not os.path.isdir(target):
                raise OutputError(f"{path}: exists and is not a folder")
            if not os.access(target, os.W_OK | os.X_OK):
                raise OutputError(f"{path}: cannot write in this folder (permission denied)")
        else:
            if os.path.isdir(target):
                raise OutputError(f"{path}: is a folder; give a file name")
            _refuse_irregular(path, target)
            if not os.access(target, os.W_OK):
                raise OutputError(f"{path}: cannot be written (permission denied)")
            for item in inputs:
                if str(item) == "-":
                    continue
                with contextlib.suppress(OSError):
                    if os.path.samefile(target, item):
                        raise OutputError(f"{path}: is also an input ({item}); write to another file")
    return target


def _real(target: Path) -> Path:
    """The file a link leads to (the link is kept and the file replaced), else ``target``."""
    return Path(os.path.realpath(target)) if os.path.islink(target) else target  # never raises


def _refuse_irregular(path: str | Path, target: Path) -> None:
    """Renaming over a device, a pipe or a socket would replace the node itself
    (``-o /dev/full`` run as root left a regular file in its place): refuse it."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        raise OutputError(f"{path}: not a regular file ({file_kind(mode)}); give the name of a file")


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; :class:`OutputError` on failure."""
    with atomic(path, binary=isinstance(data, bytes)) as stream:
        stream.write(data)


@contextlib.contextmanager
def atomic(path: str | Path, *, binary: bool = False) -> Iterator[IO[Any]]:
    """A stream whose content replaces ``path`` when the block ends without an exception;
    on an exception the temporary file is removed and ``path`` is left untouched. When
    ``path`` is a symbolic link, the file it leads to is replaced and the link kept."""
    target = _real(Path(path))
    _refuse_irregular(path, target)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        _keep_mode(target, temporary)
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _keep_mode(target: Path, temporary: str) -> None:
    """The new file gets the old file's mode, or the mode a plain ``open`` would give."""
    try:
        mode = target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(temporary, mode)
