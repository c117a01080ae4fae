"""Reading input files: regular files only, each within a size limit, never quoted.

A device (``/dev/zero``), a FIFO or a folder is refused before anything is read from it:
the path is checked with ``stat``, opened with ``O_NONBLOCK`` (a FIFO cannot block the
open) and checked again with ``fstat`` on the open descriptor, and at most ``limit + 1``
bytes are read, so a file whose size the system reports as 0 (``/proc``) cannot grow
past the limit. Messages name the path and the problem, never the file's content.

>>> read_bytes("/dev/zero", 10)
Traceback (most recent call last):
...
triage_dsl.io.files.InputError: /dev/zero: not a regular file (a device); give a file
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from triage_dsl.errors import ProtocolFileError

MB = 1_000_000
MAX_PROTOCOL_BYTES = 2 * MB
"""A protocol, library or scenario file."""


class InputError(ProtocolFileError):
    """An input file (or one line or value of it) cannot be used.

    ``path``, ``line`` and ``column`` say where (line and column are None when the
    problem is the whole file); ``problem`` says what, without quoting the input.
    """

    def __init__(self, path: str, problem: str, line: int | None = None, column: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column
        where = path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {problem}")


def file_kind(mode: int) -> str:
    """What a path that is not a regular file is, in words: ``a folder``, ``a pipe``..."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _refuse_irregular(path: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        hint = "; give a file, or '-' to read standard input where a command takes it"
        raise InputError(
            path, f"not a regular file ({file_kind(mode)}){hint if stat.S_ISFIFO(mode) else '; give a file'}"
        )


def _os_problem(exc: OSError | ValueError) -> str:
    if isinstance(exc, ValueError):  # a NUL byte in the path
        return "not a valid path"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "cannot read (permission denied)"
    return f"cannot read ({exc.strerror or type(exc).__name__})"


def read_bytes(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file ``path``; :class:`InputError` when it is not a
    regular file, cannot be read, or holds more than ``limit`` bytes."""
    name = str(path)
    try:
        _refuse_irregular(name, os.stat(name).st_mode)
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise InputError(name, _os_problem(exc)) from None
    try:
        info = os.fstat(fd)
        _refuse_irregular(name, info.st_mode)  # replaced between stat and open
        if info.st_size > limit:
            raise InputError(name, f"larger than the limit of {_size(limit)}")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise InputError(name, f"larger than the limit of {_size(limit)}")
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(name, _os_problem(exc)) from None
    finally:
        os.close(fd)


def decode(data: bytes, path: str) -> str:
    """UTF-8 text (a BOM dropped); :class:`InputError` at the line and column of the first
    byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise InputError(path, "UTF-16 text, not UTF-8; save the file as UTF-8") from None
        line, column = position_in_bytes(data, exc.start)
        raise InputError(path, "not UTF-8 text (an invalid byte)", line, column) from None


def position_in_text(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of ``offset``; lines end at line feeds."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def position_in_bytes(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in bytes) of ``offset``."""
    line = data.count(b"\n", 0, offset) + 1
    return line, offset - (data.rfind(b"\n", 0, offset) + 1) + 1


def read_text(path: str | Path, limit: int) -> str:
    """The UTF-8 text of a regular file within ``limit`` bytes (see :func:`read_bytes`)."""
    return decode(read_bytes(path, limit), str(path))


def open_input(path: str) -> BinaryIO:
    """A regular file opened for reading in binary, checked as :func:`read_bytes` does."""
    try:
        _refuse_irregular(path, os.stat(path).st_mode)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise InputError(path, _os_problem(exc)) from None
    try:
        _refuse_irregular(path, os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
    except (OSError, InputError):
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """Each line of ``stream`` with its 1-based number, read one at a time; a line longer
    than ``limit`` bytes is skipped (never held whole) and given as None."""
    number = 0
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while True:  # drop the rest of the long line, a piece at a time
                rest = stream.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, line


def nothing_found(folder: str | Path, what: str = "protocols (*.triage)") -> InputError:
    """The error for a folder named on the command line that holds nothing to work on: a
    CI pointed at the wrong folder fails (exit 2) instead of passing having read nothing.

    >>> print(nothing_found("protocls"))
    protocls: no protocols (*.triage) found under this folder; give the folder that holds them, or a file
    """
    fix = "give the folder that holds them, or a file"
    return InputError(str(folder), f"no {what} found under this folder; {fix}")


def inside(path: str | Path, roots: Iterable[str | Path]) -> bool:
    """Whether ``path``, with every symbolic link followed, lies inside one of ``roots``."""
    real = os.path.realpath(path)
    for root in roots:
        base = os.path.realpath(root)
        if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False


def _size(limit: int) -> str:
    if limit >= MB and limit % MB == 0:
        return f"{limit // MB} MB"
    return f"{limit:,} bytes"
