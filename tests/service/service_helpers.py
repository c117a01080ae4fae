"""Helpers shared by the service tests."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

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
