"""The service with an on-call roster: escalation events name who was paged, and a
reviewer sees the coverage gaps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed (pip install -e '.[dev]')")

from fastapi.testclient import TestClient

from triage_dsl.clock import FixedClock
from triage_dsl.roster.directory import Directory
from triage_dsl.service.app import create_app
from triage_dsl.store.tokens import create_token

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
# 02:30 by the clock before the spring-forward jump in New York (03:30 EDT)
START = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def service(tmp_path: Path, roster: bool = True) -> tuple[TestClient, dict[str, str], dict[str, str]]:
    directory = (
        Directory.load(str(EXAMPLES / "roster.ics"), str(EXAMPLES / "contacts.json")) if roster else None
    )
    app = create_app(
        ROOT / "protocols" / "telephone",
        f"sqlite:///{tmp_path / 'triage.db'}",
        clock=FixedClock(START),
        data_folder=tmp_path / "data",
        directory=directory,
    )
    call = {"Authorization": f"Bearer {create_token(app.state.db, 'call', 'agent', START)}"}
    review = {"Authorization": f"Bearer {create_token(app.state.db, 'review', 'reviewer', START)}"}
    return TestClient(app), call, review


def test_a_paged_event_names_the_person_the_roster_gives(tmp_path: Path) -> None:
    client, call, _ = service(tmp_path)
    answers = json.loads((ROOT / "protocols/examples/chest_pain_emergency.json").read_text())
    started = client.post("/v1/calls", json={"protocols": ["chest_pain_adult"]}, headers=call)
    assert started.status_code == 201, started.text
    call_id = started.json()["id"]
    assert (
        client.post(f"/v1/calls/{call_id}/answers", json={"answers": answers}, headers=call).status_code
        == 200
    )
    assert (
        client.post(
            f"/v1/calls/{call_id}/escalation/events", json={"kind": "told_caller"}, headers=call
        ).status_code
        == 200
    )
    who = client.get(f"/v1/calls/{call_id}/escalation/who", headers=call)
    assert who.status_code == 200 and [(r["role"], r["person"]) for r in who.json()] == [
        ("on_call_physician", "patel")
    ]
    paged = client.post(f"/v1/calls/{call_id}/escalation/events", json={"kind": "paged"}, headers=call)
    assert paged.status_code == 200, paged.text
    record = client.get(f"/v1/calls/{call_id}/record", headers=call).json()
    step = record["escalation_run"][-1]
    assert (
        step["resolved"]["person"] == "patel"
        and step["resolved"]["contact"] == "patel@securechat.example.org"
    )
    assert step["resolved"]["channel"] == "secure_message"


def test_a_reviewer_sees_the_sunday_night_gap(tmp_path: Path) -> None:
    client, call, review = service(tmp_path)
    found = client.get("/v1/roster/gaps", params={"from": "2026-11-01", "to": "2026-11-08"}, headers=review)
    assert found.status_code == 200, found.text
    assert [(g["role"], g["from"], g["to"]) for g in found.json()["gaps"]] == [
        ("backup_physician", "2026-11-02T01:00:00Z", "2026-11-02T13:00:00Z")
    ]
    assert found.json()["roster"] == "roster.ics"  # its name, not the server's folders
    assert client.get("/v1/roster/gaps", headers=call).status_code == 403
    bad = client.get("/v1/roster/gaps", params={"from": "2026-03-08T02:30"}, headers=review)
    assert bad.status_code == 400 and "does not exist" in bad.json()["message"]


def test_without_a_roster_the_roster_routes_say_so(tmp_path: Path) -> None:
    client, call, _ = service(tmp_path, roster=False)
    answer = client.get("/v1/roster/who", params={"role": "on_call_physician"}, headers=call)
    assert answer.status_code == 404 and "--roster" in answer.json()["message"]
