"""Escalation events across overrides over HTTP, on SQLite and PostgreSQL: the table the
record API is tested with (tests/record/escalation_cases.py), through the service, with
and without a restart (another process, its own clock, rebuilding the call from the
store) right after the case's last override."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import ROOT, START, bearer, verify

from tests.record.escalation_cases import CASES, FIRST, PROTOCOL, Case, Step, next_of
from triage_dsl.clock import FixedClock
from triage_dsl.model.result import TriageResult
from triage_dsl.record.escalation import runs
from triage_dsl.service.app import create_app

PROTOCOL_FILE = ROOT / "protocols" / "telephone" / f"{PROTOCOL}.triage"
SERVED = [c for c in CASES if not c.in_process_only]


def send(client: TestClient, token: str, cid: str, step: Step, where: str) -> dict[str, Any]:
    """One step of the table through the service, checked against the table."""
    what, name, _, expect = step
    if what == "override":
        body = {"disposition": name, "by": "rn-7", **({"reason": expect} if expect else {})}
        r = client.post(f"/v1/calls/{cid}/override", json=body, headers=bearer(token))
        assert r.status_code == 200, (where, r.text)
        return dict(r.json())
    r = client.post(f"/v1/calls/{cid}/escalation/events", json={"kind": name}, headers=bearer(token))
    if expect.startswith("!"):
        assert r.status_code == 409 and expect[1:] in r.json()["message"], (where, r.text)
        return {}
    assert r.status_code == 200, (where, r.text)
    got = r.json()["escalation"][0]["next"]
    assert next_of(got["kind"], got.get("step")) == expect, where
    return dict(r.json())


@pytest.mark.parametrize("restart", [False, True], ids=["one process", "restarted"])
@pytest.mark.parametrize("case", SERVED, ids=[c.name for c in SERVED])
def test_events_across_overrides(
    case: Case, restart: bool, client: TestClient, tokens: dict[str, str], database: str, tmp_path: Path
) -> None:
    token = tokens["call"]
    r = client.post("/v1/calls", json={"protocols": [PROTOCOL]}, headers=bearer(token))
    cid = r.json()["id"]
    steps = (FIRST, *case.steps)
    split = max(i for i, s in enumerate(steps) if s[0] == "override") + 1 if restart else len(steps)
    for number, step in enumerate(steps[:split]):
        send(client, token, cid, step, f"step {number}")
    served, other = client, None
    if restart:
        # a new process on the same database, its clock a day on: the call comes from the store
        clock = FixedClock(START, step=timedelta(seconds=1))
        clock.now()
        later = FixedClock(clock.now() + timedelta(days=1), step=timedelta(seconds=1))
        other = create_app(ROOT / "protocols", database, clock=later, data_folder=tmp_path / "restarted")
        served = TestClient(other)
    try:
        before = client.get(f"/v1/calls/{cid}", headers=bearer(token)).json()
        assert served.get(f"/v1/calls/{cid}", headers=bearer(token)).json() == before
        for number, step in enumerate(steps[split:], start=split):
            send(served, token, cid, step, f"step {number}")
        record = served.post(f"/v1/calls/{cid}/close", headers=bearer(token))
        assert record.status_code == 200, record.text
        found = runs(TriageResult.model_validate_json(record.text))
        assert [(r.plan.id if r.plan else None, len(r.steps)) for r in found] == list(case.runs)
        code, output = verify(record.text, tmp_path, PROTOCOL_FILE)
        assert code == 0, output
        bundle = served.get(f"/v1/calls/{cid}/fhir", headers=bearer(tokens["review"]))
        assert bundle.status_code == 200, bundle.text
        requests = [
            e["resource"]
            for e in bundle.json()["entry"]
            if e["resource"]["resourceType"] == "CommunicationRequest"
        ]
        shown = [r.plan for r in found[:-1] if r.steps] + [found[-1].plan]  # earlier runs that did something
        assert len(requests) == sum(len(plan.steps) for plan in shown if plan)
    finally:
        if other is not None:
            other.state.db.dispose()
