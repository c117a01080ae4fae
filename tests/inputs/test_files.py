"""Reading regular files within limits, and writing outputs checked first and atomically."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from triage_dsl.io.files import InputError, inside, lines, read_bytes, read_text
from triage_dsl.io.outputs import OutputError, check_output, write_atomic


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/dev/zero", "not a regular file (a device)"),
        ("/dev/null", "not a regular file (a device)"),
        ("/", "not a regular file (a folder)"),
        ("/nonexistent/file", "no such file"),
    ],
)
def test_what_is_not_a_regular_file_is_refused_before_reading(path: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        read_bytes(path, 1000)
    assert caught.value.problem.startswith(words)


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "answers.json"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"a pipe\); give a file, or '-'"):
        read_bytes(fifo, 1000)


def test_size_limit_holds_when_the_system_reports_size_zero() -> None:
    # /proc files report st_size 0; the limit is on what is read
    with pytest.raises(InputError, match="larger than the limit of 8 bytes"):
        read_bytes("/proc/self/status", 8)


def test_a_file_at_the_limit_is_read_and_one_byte_more_is_not(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_bytes(path, 100) == b"x" * 100
    with pytest.raises(InputError, match="larger than the limit"):
        read_bytes(path, 99)


def test_lines_are_bounded_and_numbered(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_bytes(b"a\n" + b"b" * 50 + b"\n\nc")
    with path.open("rb") as stream:
        assert list(lines(stream, 10)) == [(1, b"a\n"), (2, None), (3, b"\n"), (4, b"c")]


def test_inside_follows_symbolic_links(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside.triage").write_text("x")
    (tmp_path / "root" / "link.triage").symlink_to(tmp_path / "outside.triage")
    (tmp_path / "root" / "real.triage").write_text("x")
    assert inside(tmp_path / "root" / "real.triage", [tmp_path / "root"])
    assert not inside(tmp_path / "root" / "link.triage", [tmp_path / "root"])
    assert not inside(tmp_path / "root" / ".." / "outside.triage", [tmp_path / "root"])
    assert not inside(tmp_path / "rootless.triage", [tmp_path / "root"])


def test_output_checks(tmp_path: Path) -> None:
    source = tmp_path / "answers.json"
    source.write_text("{}")
    (tmp_path / "link.json").symlink_to(source)
    cases = [
        (tmp_path / "missing" / "out.json", "the folder .* does not exist; create it first"),
        (tmp_path, "is a folder; give a file name"),
        (source / "out.json", "does not exist"),  # a file is not a folder
        (source, r"is also an input"),
        (tmp_path / "link.json", r"is also an input"),
        (Path("/dev/null"), r"not a regular file \(a device\); give the name of a file"),
    ]
    for path, words in cases:
        with pytest.raises(OutputError, match=words):
            check_output(path, [source])
    assert check_output(tmp_path / "new.json", [source]) == tmp_path / "new.json"


def test_atomic_write_replaces_whole_or_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    write_atomic(target, "new")
    assert target.read_text() == "new"

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OutputError, match="No space left on device"):
        write_atomic(target, "newer")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


@pytest.mark.parametrize("kind", ["fifo", "link to fifo"])
def test_atomic_write_never_replaces_a_device_or_pipe(tmp_path: Path, kind: str) -> None:
    # os.replace over a device node replaces the node (as root, -o /dev/full left a
    # regular file in /dev); a pipe in a temporary folder stands in for a device
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = fifo
    if kind == "link to fifo":
        target = tmp_path / "out.json"
        target.symlink_to(fifo)
    with pytest.raises(OutputError, match=r"not a regular file \(a pipe\)"):
        write_atomic(target, "new")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"pipe", target.name})


def test_atomic_write_through_a_link_replaces_the_file_and_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    real = tmp_path / "shared" / "out.json"
    real.write_text("old")
    link = tmp_path / "out.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert [p.name for p in (tmp_path / "shared").iterdir()] == ["out.json"]


def test_a_utf16_file_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "p.triage"
    path.write_bytes("protocol p end".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16 text, not UTF-8; save the file as UTF-8"):
        read_text(path, 1000)
