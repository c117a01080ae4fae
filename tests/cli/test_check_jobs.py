"""`triage check --jobs N`: the files not checked before are checked in worker processes,
and the output is the bytes one process prints (text and JSON, the exit code, the files
that cannot be read or have errors in their place); what the workers found is kept for
the next run like any other result; a signal stops the workers without a traceback."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS, ROOT
from triage_dsl import commands
from triage_dsl.cli import main

BROKEN = 'protocol broken title "Broken" version "1"\nend\ndisposition home label "Home" tier nowhere end\n'


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The shipped scored rules, a file with an error and one that is not text, together."""
    found = tmp_path / "protocols"
    shutil.copytree(PROTOCOLS / "rules", found)
    (found / "broken.triage").write_text(BROKEN, encoding="utf-8")
    (found / "binary.triage").write_bytes(b"\xff\xfe protocol")
    return found


@pytest.fixture
def pids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file each check of a file (in this process or a worker forked from it) appends
    its process id to."""
    log = tmp_path / "pids.txt"
    log.touch()
    real = commands._check_file

    def logged(path: Path, roots: list[str] | None, analysed: bool) -> object:
        with log.open("a", encoding="utf-8") as stream:
            stream.write(f"{os.getpid()}\n")
        return real(path, roots, analysed)

    monkeypatch.setattr(commands, "_check_file", logged)
    return log


def _checked_by(log: Path) -> list[int]:
    return [int(line) for line in log.read_text(encoding="utf-8").split()]


@pytest.mark.parametrize("output", ["text", "json"])
def test_workers_print_what_one_process_prints(
    folder: Path, pids: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    argv = ("check", str(folder), "--format", output, "--show-suppressed")
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "one"))
    alone = run(*argv, "--jobs", "1")
    assert set(_checked_by(pids)) == {os.getpid()}
    pids.write_text("", encoding="utf-8")
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "two"))
    shared = run(*argv, "--jobs", "2")
    workers = set(_checked_by(pids))
    assert len(_checked_by(pids)) == 10 and os.getpid() not in workers  # every file, in workers
    assert shared == alone
    assert alone[0] == 2  # a file that cannot be read is an input error
    assert "broken.triage" in alone[1] and "binary.triage" in alone[1 if output == "json" else 2]


def test_what_workers_found_is_kept(
    folder: Path, pids: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    first = run("check", str(folder), "--jobs", "2")
    assert len(_checked_by(pids)) == 10
    assert run("check", str(folder), "--jobs", "2") == first
    assert len(_checked_by(pids)) == 10 + 2  # only the two files with errors are checked again


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_workers_quietly(tmp_path: Path, signum: int, code: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage_dsl", "check", "protocols", "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "TRIAGE_CACHE_DIR": str(tmp_path / "cache")},  # cold: seconds of work
        start_new_session=True,
    )
    workers = _children(proc.pid)
    assert len(workers) == 2  # the workers are at work
    os.killpg(proc.pid, signum)  # as a terminal does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert b"Traceback" not in err and err.strip().splitlines()[-1].startswith(b"triage: ")
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def _children(pid: int) -> list[str]:
    """The child processes of ``pid`` once it has two (Linux: /proc), waiting up to 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            found = []
        if len(found) >= 2:
            return found
        time.sleep(0.01)
    return []
