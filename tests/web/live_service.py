"""The real ``triage serve`` in a subprocess, on a fresh SQLite file, for tests and tools.

``running_service`` creates a bearer token with ``triage token create`` (as an operator
would), starts ``triage serve`` on a free local port and waits for ``/healthz``; on the
way out it stops the process it started and nothing else.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PROTOCOLS = ROOT / "protocols"


@dataclass(frozen=True)
class LiveService:
    url: str
    database: str
    token: str
    pid: int = 0  # the ``triage serve`` process (its workers are its children)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def triage(*args: str) -> subprocess.CompletedProcess[str]:
    """``triage ARGS`` with this interpreter; fails with its output when it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "triage_dsl", *args], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"triage {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def create_token(database: str, data_dir: Path, role: str = "call", name: str = "nurse") -> str:
    """A new bearer token (printed once by ``triage token create``)."""
    out = triage(
        "token", "create", "--database", database, "--data-dir", str(data_dir), "--role", role, "--name", name
    ).stdout
    return out.split()[-1]


@contextmanager
def running_service(
    folder: Path,
    *,
    database: str | None = None,
    workers: int = 1,
    role: str = "call",
    log_level: str = "info",
) -> Iterator[LiveService]:
    """``triage serve protocols/`` on ``database`` (default: a SQLite file in ``folder``),
    its data folder and log in ``folder``."""
    database = database or f"sqlite:///{folder / 'triage.db'}"
    data_dir = folder / "data"
    token = create_token(database, data_dir, role)
    port = free_port()
    log = (folder / f"serve-{port}.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "triage_dsl",
            "serve",
            str(PROTOCOLS),
            "--database",
            database,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--workers",
            str(workers),
            "--log-level",
            log_level,
        ],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process, folder / f"serve-{port}.log")
        yield LiveService(url=url, database=database, token=token, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"triage serve exited {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"triage serve did not answer /healthz within {timeout:.0f} s:\n{log.read_text()}")
