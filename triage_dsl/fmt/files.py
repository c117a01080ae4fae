"""Formatting files: in place (atomically) or as a check that writes nothing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from triage_dsl.compiler import read_source
from triage_dsl.fmt.safety import format_source
from triage_dsl.io.files import inside, nothing_found
from triage_dsl.io.outputs import write_atomic

SUFFIXES = (".triage", ".scenarios")


@dataclass(frozen=True)
class FormatResult:
    """One file: whether its layout is (or was) different from the canonical one."""

    path: str
    changed: bool


def files_under(paths: Sequence[str | Path]) -> list[Path]:
    """The files named, and the ``.triage`` and ``.scenarios`` files under each folder named
    (sorted; links that lead out of the folder are left out). A folder with none of them
    is an :class:`~triage_dsl.io.files.InputError`, raised before any file is formatted."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if os.path.isdir(path):  # never raises, where Path.is_dir does for a name too long
            found = (p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
            inner = [p for p in sorted(found) if inside(p, [path])]
            if not inner:
                raise nothing_found(raw, "protocol or scenario files (*.triage, *.scenarios)")
            files += inner
        else:
            files.append(path)
    return files


def format_file(path: str | Path, *, write: bool = True) -> FormatResult:
    """Format one file; with ``write=False`` only report whether it would change.

    Raises :class:`~triage_dsl.fmt.FormatError` (syntax errors: the file is left as it
    is) or :class:`~triage_dsl.errors.ProtocolFileError` (unreadable)."""
    source = read_source(path)
    text = format_source(source)
    changed = text != source.text
    if changed and write:
        write_atomic(path, text)
    return FormatResult(str(path), changed)


def format_files(paths: Sequence[str | Path], *, write: bool = True) -> list[FormatResult]:
    """:func:`format_file` for every file under ``paths`` (stops at the first refusal)."""
    return [format_file(path, write=write) for path in files_under(paths)]
