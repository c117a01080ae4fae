"""``triage serve`` as real processes: killed mid-call (SIGKILL) and restarted; two
processes on one database answering one call in turns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from service_helpers import CHEST, CHEST_EMERGENCY, ROOT, Served, cli_token, verify

CHEST_FILE = ROOT / "protocols/telephone/chest_pain_adult.triage"
ORDER = ["unconscious", "not_breathing_or_gasping", "confused_or_hard_to_wake", "stroke_signs"]


def answer(client: Any, call_id: str, question: str) -> dict[str, Any]:
    r = client.post(f"/v1/calls/{call_id}/answers", json={"answers": {question: CHEST_EMERGENCY[question]}})
    assert r.status_code == 200, r.text
    return dict(r.json())


def finish(client: Any, call: dict[str, Any]) -> dict[str, Any]:
    while not call["sealed"]:
        call = answer(client, call["id"], call["next_question"]["id"])
    return call


def test_a_call_survives_sigkill(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'triage.db'}"
    token = cli_token(database, tmp_path)
    server = Served(ROOT / "protocols", database, tmp_path / "data")
    try:
        with server.client(token) as client:
            # a call closed before the crash, and one half answered
            done = finish(client, client.post("/v1/calls", json={"protocols": [CHEST]}).json())
            closed = client.post(f"/v1/calls/{done['id']}/close").text
            call = client.post("/v1/calls", json={"protocols": [CHEST]}).json()
            for question in ORDER[:3]:
                state = answer(client, call["id"], question)
            assert state["next_question"]["id"] == ORDER[3]
        server.kill()
        server = Served(ROOT / "protocols", database, tmp_path / "data")
        with server.client(token) as client:
            state = client.get(f"/v1/calls/{call['id']}").json()
            assert state["next_question"]["id"] == ORDER[3]  # resumes where it was
            state = finish(client, state)
            record = client.post(f"/v1/calls/{call['id']}/close")
            assert record.status_code == 200
            assert [e["question"] for e in record.json()["answer_log"]][:3] == ORDER[:3]
            assert verify(record.text, tmp_path, CHEST_FILE)[0] == 0
            assert client.get(f"/v1/calls/{done['id']}/record").text == closed  # not lost, not altered
            assert verify(closed, tmp_path, CHEST_FILE)[0] == 0
    finally:
        server.stop()


def test_serve_runs_on_uvloop_and_httptools(tmp_path: Path) -> None:
    """uvicorn picks its fast paths itself when they are installed (the service's
    dependencies): the start says which it picked."""
    database = f"sqlite:///{tmp_path / 'triage.db'}"
    token = cli_token(database, tmp_path)
    server = Served(ROOT / "protocols", database, tmp_path / "data")
    try:
        with server.client(token) as client:
            assert client.get("/healthz").status_code == 200
        assert "event loop uvloop, HTTP parser httptools" in server.log.read_text()
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_processes_share_one_call(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if kind == "sqlite":
        database = f"sqlite:///{tmp_path / 'triage.db'}"
    else:
        database = request.getfixturevalue("postgres").create_database("triage_two_processes")
    token = cli_token(database, tmp_path)
    first = Served(ROOT / "protocols", database, tmp_path / "one")
    second = Served(ROOT / "protocols", database, tmp_path / "two")
    try:
        with first.client(token) as a, second.client(token) as b:
            call = a.post("/v1/calls", json={"protocols": [CHEST]}).json()
            turns = [a, b]
            n = 0
            while not call["sealed"]:
                here = turns[n % 2]
                state = here.get(f"/v1/calls/{call['id']}").json()
                assert state == call  # each process sees what the other stored
                call = answer(here, call["id"], call["next_question"]["id"])
                n += 1
            assert n >= 4
            record = b.post(f"/v1/calls/{call['id']}/close")
            assert a.get(f"/v1/calls/{call['id']}/record").text == record.text
            assert verify(record.text, tmp_path, CHEST_FILE)[0] == 0
    finally:
        first.stop()
        second.stop()


def test_a_body_over_the_limit_sent_by_many_at_once_always_gets_its_413(tmp_path: Path) -> None:
    """The real server, twenty clients at once each sending a body of 3 MB: each gets the
    413 (the body read and dropped), not a connection reset that a client would take
    for a lost response and send again."""
    import asyncio

    import httpx

    database = f"sqlite:///{tmp_path / 'triage.db'}"
    token = cli_token(database, tmp_path)
    server = Served(ROOT / "protocols", database, tmp_path / "data")
    body = b'{"protocols": ["' + b"x" * 3_000_000 + b'"]}'

    async def send_all() -> list[int | str]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:

            async def one() -> int | str:
                try:
                    return (await client.post("/v1/calls", content=body)).status_code
                except httpx.TransportError as exc:
                    return type(exc).__name__

            return list(await asyncio.gather(*(one() for _ in range(20))))

    try:
        assert asyncio.run(send_all()) == [413] * 20
    finally:
        server.stop()
