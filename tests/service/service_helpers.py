"""Helpers shared by the service tests."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from triage_dsl.cli import main
from triage_dsl.clock import FixedClock
from triage_dsl.service.app import create_app

ROOT = Path(__file__).resolve().parents[2]
START = "2026-03-01T02:00:00Z"
CHEST = "chest_pain_adult"
# the emergency example, with the one answer the interview asks that the example lacks
CHEST_EMERGENCY = {
    **json.loads((ROOT / "protocols/examples/chest_pain_emergency.json").read_text()),
    "pain_minutes": 30,
}


def make_app(protocol_dir: Path, database: str, tmp_path: Path, **kwargs: Any) -> Any:
    clock = FixedClock(START, step=timedelta(seconds=1))
    return create_app(protocol_dir, database, clock=clock, data_folder=tmp_path / "data", **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start(client: Any, token: str, *protocols: str, **extra: Any) -> dict[str, Any]:
    """``POST /v1/calls`` (chest pain unless ``protocols`` are named); the new call."""
    r = client.post(
        "/v1/calls", json={"protocols": list(protocols or [CHEST]), **extra}, headers=bearer(token)
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def events(app: Any, call_id: str) -> int:
    """How many answer-log events the database holds for the call."""
    from sqlalchemy import func, select

    from triage_dsl.store.tables import answer_events

    with app.state.db.engine.connect() as conn:
        q = select(func.count()).select_from(answer_events).where(answer_events.c.call_id == call_id)
        return int(conn.execute(q).scalar_one())


def interview(client: Any, token: str, call: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Answer the call's questions one at a time, as asked, from ``answers``, until sealed."""
    while call["next_question"] is not None and not call["sealed"]:
        question = call["next_question"]["id"]
        r = client.post(
            f"/v1/calls/{call['id']}/answers",
            json={"answers": {question: answers[question]}},
            headers=bearer(token),
        )
        assert r.status_code == 200, r.text
        call = r.json()
    return call


def verify(record_text: str, tmp_path: Path, *protocols: Path) -> tuple[int, str]:
    """``triage verify`` on a record: (exit code, output)."""
    path = tmp_path / "record.json"
    path.write_text(record_text)
    out, err = io.StringIO(), io.StringIO()
    argv = ["verify", str(path)]
    for protocol in protocols:
        argv += ["--protocol", str(protocol)]
    code = main(argv, stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


class Served:
    """``triage serve`` in a child process on a free port (stop or kill it when done).

    Each server started during a test is in :attr:`started` (emptied as the next test is
    set up): when the test fails, tests/service/conftest.py adds every one's log (which
    holds the traceback of a 500) to the failure's report."""

    started: ClassVar[list[Served]] = []

    def __init__(self, protocol_dir: Path, database: str, data_dir: Path) -> None:
        import os
        import socket
        import subprocess
        import sys

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.log = data_dir / f"serve-{self.port}.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "triage_dsl", "serve", str(protocol_dir), "--database", database]
        argv += ["--data-dir", str(data_dir), "--port", str(self.port), "--log-level", "warning"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        self.url = f"http://127.0.0.1:{self.port}"
        Served.started.append(self)
        self._wait_until_up()

    def _wait_until_up(self, limit: float = 120.0) -> None:
        import time

        import httpx

        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"triage serve exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"triage serve did not start: {self.log.read_text()}")

    def client(self, token: str) -> Any:
        import httpx

        return httpx.Client(base_url=self.url, headers=bearer(token), timeout=60)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flushing."""
        import signal

        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except Exception:
                self.kill()


def cli_token(database: str, data_dir: Path, role: str = "call") -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["token", "create", "--database", database, "--data-dir", str(data_dir), "--role", role],
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    return out.getvalue().strip()
