"""Every endpoint of the service over HTTP (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import CHEST, CHEST_EMERGENCY, ROOT, bearer, events, interview, make_app, start, verify
from sqlalchemy import func, select

from triage_dsl import evaluate, load
from triage_dsl.model.result import TriageResult
from triage_dsl.store.audit import audit_rows
from triage_dsl.store.tables import answer_events, records
from triage_dsl.store.tables import calls as call_table
from triage_dsl.store.tables import tokens as token_table

CHEST_FILE = ROOT / "protocols/telephone/chest_pain_adult.triage"


# ---------------------------------------------------------------------- auth, per endpoint
CALL = "CALL"  # replaced by a started call's id
ENDPOINTS = [
    ("GET", "/v1/protocols", None),
    ("GET", f"/v1/protocols/{CHEST}/questionnaire", None),
    ("POST", "/v1/calls", {"protocols": [CHEST]}),
    ("GET", f"/v1/calls/{CALL}", None),
    ("POST", f"/v1/calls/{CALL}/answers", {"answers": {"unconscious": False}}),
    ("POST", f"/v1/calls/{CALL}/retract", {"question": "unconscious", "reason": "misheard"}),
    ("POST", f"/v1/calls/{CALL}/override", {"disposition": "call_911", "by": "rn-7"}),
    ("POST", f"/v1/calls/{CALL}/escalation/events", {"kind": "told_caller"}),
    ("POST", f"/v1/calls/{CALL}/close", None),
    ("GET", f"/v1/calls/{CALL}/record", None),
    ("GET", f"/v1/calls/{CALL}/note", None),
    ("GET", f"/v1/calls/{CALL}/fhir", None),
    ("GET", "/metrics", None),
]
# who may: the roles each endpoint refuses with 403
REFUSED = {
    "/v1/calls": {"review"},
    f"/v1/calls/{CALL}/answers": {"review"},
    f"/v1/calls/{CALL}/retract": {"review"},
    f"/v1/calls/{CALL}/escalation/events": {"review"},
    f"/v1/calls/{CALL}/close": {"review"},
    "/metrics": {"call", "review"},
}


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_a_token(
    client: TestClient, tokens: dict[str, str], method: str, path: str, body: Any
) -> None:
    call_id = start(client, tokens["call"])["id"]
    url = path.replace(CALL, call_id)
    r = client.request(method, url, json=body)
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json()["error"] == "unauthorized"
    r = client.request(method, url, json=body, headers=bearer("trg_not-a-token"))
    assert r.status_code == 401
    r = client.request(method, url, json=body, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_roles(client: TestClient, tokens: dict[str, str], method: str, path: str, body: Any) -> None:
    for role in ("review", "call", "admin"):
        call_id = start(client, tokens["call"])["id"]
        r = client.request(method, path.replace(CALL, call_id), json=body, headers=bearer(tokens[role]))
        if role in REFUSED.get(path, set()):
            assert r.status_code == 403, (role, r.text)
            assert r.json()["error"] == "forbidden"
        else:
            assert r.status_code not in (401, 403), (role, r.text)


def test_health_needs_no_token(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_tokens_are_stored_as_hashes_only(app: Any, tokens: dict[str, str]) -> None:
    with app.state.db.engine.connect() as conn:
        rows = conn.execute(select(token_table)).all()
    stored = json.dumps([list(map(str, row)) for row in rows])
    assert {row.name for row in rows} >= {"call-1", "review-1", "admin-1"}
    for token in tokens.values():
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


# ---------------------------------------------------------------------- protocols
def test_protocols_lists_every_protocol_with_its_hash(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.get("/v1/protocols", headers=bearer(tokens["review"]))
    assert r.status_code == 200
    listed = {p["id"]: p for p in r.json()["protocols"]}
    assert CHEST in listed and "news2" in listed and "qsofa" in listed
    assert "shared" not in listed  # a library is imported, not served
    chest = listed[CHEST]
    assert chest["content_sha256"] == load(CHEST_FILE).content_sha256
    assert chest["title"] == load(CHEST_FILE).title and chest["version"] == load(CHEST_FILE).version


def test_unknown_protocol_is_404(client: TestClient, tokens: dict[str, str]) -> None:
    r = client.post("/v1/calls", json={"protocols": ["no_such"]}, headers=bearer(tokens["call"]))
    assert r.status_code == 404
    assert "no_such" in r.json()["message"]
    r = client.get("/v1/protocols/no_such/questionnaire", headers=bearer(tokens["call"]))
    assert r.status_code == 404


def test_a_protocol_listed_twice_is_422_and_no_call_starts(
    app: Any, client: TestClient, tokens: dict[str, str]
) -> None:
    with app.state.db.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(call_table)).scalar_one()
    body = {"protocols": [CHEST, "head_injury", CHEST]}
    r = client.post("/v1/calls", json=body, headers=bearer(tokens["call"]))
    assert r.status_code == 422, r.text
    assert f"listed more than once: {CHEST}" in r.json()["errors"][0]["message"]
    with app.state.db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(call_table)).scalar_one() == before


# ---------------------------------------------------------------------- a whole call
def test_start_asks_the_first_question(client: TestClient, tokens: dict[str, str]) -> None:
    call = start(client, tokens["call"])
    assert call["status"] == "needs_answers" and not call["sealed"] and not call["closed"]
    q = call["next_question"]
    assert q["id"] == "unconscious" and q["type"] == "yes/no" and q["protocol"] == CHEST
    assert set(q) >= {"id", "text", "type", "options", "unit", "range", "unknown_allowed", "help"}
    assert call["result"] is None


def test_a_whole_call_seals_a_record_that_verifies(
    app: Any, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    call = start(client, tokens["call"])
    call = interview(client, tokens["call"], call, CHEST_EMERGENCY)
    assert call["status"] == "complete" and call["sealed"] and call["next_question"] is None
    assert call["result"]["disposition"]["id"] == "call_911"
    assert call["protocols"][0]["disposition"] == "call_911"
    r = client.post(f"/v1/calls/{call['id']}/close", headers=bearer(tokens["call"]))
    assert r.status_code == 200
    record = TriageResult.model_validate_json(r.text)
    assert record.session_id == call["id"] and record.seal is not None
    # session == batch: the outcome and trace are the batch evaluation's for the same answers
    batch = evaluate(load(CHEST_FILE), {e.question: e.value for e in record.answer_log})
    assert record.disposition == batch.disposition
    assert [(t.node, t.value) for t in record.trace] == [(t.node, t.value) for t in batch.trace]
    assert [e.question for e in record.answer_log] == list(record.answers)
    code, output = verify(r.text, tmp_path, CHEST_FILE)
    assert code == 0, output
    # stored: the same bytes, with the chain head
    assert client.get(f"/v1/calls/{call['id']}/record", headers=bearer(tokens["review"])).text == r.text
    with app.state.db.engine.connect() as conn:
        row = conn.execute(
            select(records.c.head, records.c.body).where(records.c.call_id == call["id"])
        ).one()
    assert row.head == record.seal.head and row.body == r.text


def test_a_record_has_the_shape_of_triage_eval(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    import io

    from triage_dsl.cli import main

    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    served = json.loads(client.post(f"/v1/calls/{call['id']}/close", headers=bearer(tokens["call"])).text)
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({e["question"]: e["value"] for e in served["answer_log"]}))
    out = io.StringIO()
    assert main(["eval", str(CHEST_FILE), "--answers", str(answers), "--format", "json"], stdout=out) == 0
    batch = json.loads(out.getvalue())
    assert set(served) == set(batch)
    for field in ("protocol", "status", "disposition", "urgency", "escalation", "answers", "decided_by"):
        assert served[field] == batch[field], field


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"unconscious": 7}, "wrong_type"),
        ({"pain_minutes": 99999}, "out_of_range"),
        ({"no_such_question": True}, "unknown_question"),
    ],
)
def test_an_invalid_answer_is_422_and_nothing_is_stored(
    app: Any, client: TestClient, tokens: dict[str, str], answers: dict[str, Any], code: str
) -> None:
    call = start(client, tokens["call"])
    before = events(app, call["id"])
    r = client.post(
        f"/v1/calls/{call['id']}/answers",
        json={"answers": {"unconscious": False, **answers}},
        headers=bearer(tokens["call"]),
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_answer"
    assert [(e["question"], e["code"]) for e in body["errors"]] == [(next(iter(answers)), code)]
    assert events(app, call["id"]) == before  # not even the valid answer of the batch
    assert client.get(f"/v1/calls/{call['id']}", headers=bearer(tokens["call"])).json() == call


def test_every_invalid_answer_is_reported_at_once(client: TestClient, tokens: dict[str, str]) -> None:
    call = start(client, tokens["call"])
    r = client.post(
        f"/v1/calls/{call['id']}/answers",
        json={"answers": {"unconscious": "perhaps", "not_breathing_or_gasping": 3}},
        headers=bearer(tokens["call"]),
    )
    assert r.status_code == 422
    assert [e["question"] for e in r.json()["errors"]] == ["unconscious", "not_breathing_or_gasping"]


@pytest.mark.parametrize("body", [{}, {"answers": {}}, {"answers": {"a": 1}, "extra": 1}, {"answers": []}])
def test_a_malformed_body_is_422(client: TestClient, tokens: dict[str, str], body: Any) -> None:
    call = start(client, tokens["call"])
    r = client.post(f"/v1/calls/{call['id']}/answers", json=body, headers=bearer(tokens["call"]))
    assert r.status_code == 422


def test_a_correction_and_a_retraction_are_kept(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    h = bearer(tokens["call"])
    call = start(client, tokens["call"])
    cid = call["id"]
    client.post(f"/v1/calls/{cid}/answers", json={"answers": {"has_angina": True}}, headers=h)
    r = client.post(
        f"/v1/calls/{cid}/answers", json={"answers": {"has_angina": False}, "reason": "misheard"}, headers=h
    )
    assert r.status_code == 200 and r.json()["next_question"]["id"] == "unconscious"
    r = client.post(
        f"/v1/calls/{cid}/retract", json={"question": "has_angina", "reason": "unsure"}, headers=h
    )
    assert r.status_code == 200
    r = client.post(f"/v1/calls/{cid}/retract", json={"question": "has_angina", "reason": "again"}, headers=h)
    assert r.status_code == 409 and "no answer to retract" in r.json()["message"]
    call = interview(
        client, tokens["call"], client.get(f"/v1/calls/{cid}", headers=h).json(), CHEST_EMERGENCY
    )
    record = client.post(f"/v1/calls/{cid}/close", headers=h)
    kinds = [(e["kind"], e["question"], e["reason"]) for e in record.json()["answer_log"]]
    assert kinds[:4] == [
        ("answer", "has_angina", None),
        ("correction", "has_angina", "misheard"),
        ("retraction", "has_angina", "unsure"),
        ("answer", "unconscious", None),
    ]
    assert verify(record.text, tmp_path, CHEST_FILE)[0] == 0


def test_answers_after_the_outcome_are_refused(client: TestClient, tokens: dict[str, str]) -> None:
    h = bearer(tokens["call"])
    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    r = client.post(f"/v1/calls/{call['id']}/answers", json={"answers": {"has_angina": True}}, headers=h)
    assert r.status_code == 409 and "sealed" in r.json()["message"]
    r = client.post(
        f"/v1/calls/{call['id']}/retract", json={"question": "unconscious", "reason": "x"}, headers=h
    )
    assert r.status_code == 409


# ---------------------------------------------------------------------- override, escalation
def test_override_rules_and_record(client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    h = bearer(tokens["review"])
    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    cid = call["id"]
    body = {"disposition": "routine_chest_pain", "by": "rn-7"}
    r = client.post(f"/v1/calls/{cid}/override", json=body, headers=h)
    assert r.status_code == 422 and "reason" in r.json()["message"]  # a downgrade needs a reason
    r = client.post(f"/v1/calls/{cid}/override", json={**body, "disposition": "nope"}, headers=h)
    assert r.status_code == 422 and "nope" in r.json()["message"]
    r = client.post(f"/v1/calls/{cid}/override", json={**body, "reason": "seen by GP an hour ago"}, headers=h)
    assert r.status_code == 200
    assert r.json()["protocols"][0]["disposition"] == "routine_chest_pain"
    assert r.json()["escalation"][0]["next"]["kind"] == "notify"  # the new plan starts over
    record = client.post(f"/v1/calls/{cid}/close", headers=bearer(tokens["call"]))
    overrides = record.json()["overrides"]
    assert [(o["by"], o["direction"], o["disposition"]["id"]) for o in overrides] == [
        ("rn-7", "downgrade", "routine_chest_pain")
    ]
    assert verify(record.text, tmp_path, CHEST_FILE)[0] == 0


def test_override_of_an_unfinished_call_seals_it(client: TestClient, tokens: dict[str, str]) -> None:
    h = bearer(tokens["call"])
    call = start(client, tokens["call"])
    r = client.post(
        f"/v1/calls/{call['id']}/override",
        json={"disposition": "call_911", "by": "rn-7", "reason": "caller collapsed"},
        headers=h,
    )
    assert r.status_code == 200
    assert r.json()["sealed"] and r.json()["protocols"][0]["disposition"] == "call_911"
    r = client.post(f"/v1/calls/{call['id']}/answers", json={"answers": {"unconscious": True}}, headers=h)
    assert r.status_code == 409


def test_escalation_events_drive_the_plan(client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    h = bearer(tokens["call"])
    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    cid = call["id"]
    assert call["escalation"][0]["next"]["kind"] == "tell_caller"
    r = client.post(f"/v1/calls/{cid}/escalation/events", json={"kind": "paged"}, headers=h)
    assert r.status_code == 409 and "told_caller" in r.json()["message"]  # does not fit
    steps = []
    for kind in ("told_caller", "paged", "paged", "told_caller"):
        r = client.post(f"/v1/calls/{cid}/escalation/events", json={"kind": kind}, headers=h)
        assert r.status_code == 200, r.text
        steps.append(r.json()["escalation"][0]["next"]["kind"])
    assert steps == ["notify", "notify", "fallback", "done"]
    r = client.post(f"/v1/calls/{cid}/escalation/events", json={"kind": "callback"}, headers=h)
    assert r.status_code == 409  # the run is over
    record = client.post(f"/v1/calls/{cid}/close", headers=h)
    assert [s["event"]["kind"] for s in record.json()["escalation_run"]] == [
        "told_caller",
        "paged",
        "paged",
        "told_caller",
    ]
    assert verify(record.text, tmp_path, CHEST_FILE)[0] == 0


def test_escalation_before_the_outcome_is_409(client: TestClient, tokens: dict[str, str]) -> None:
    call = start(client, tokens["call"])
    r = client.post(
        f"/v1/calls/{call['id']}/escalation/events", json={"kind": "paged"}, headers=bearer(tokens["call"])
    )
    assert r.status_code == 409


def test_escalation_after_close_extends_the_stored_record(
    app: Any, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    h = bearer(tokens["call"])
    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    first = client.post(f"/v1/calls/{call['id']}/close", headers=h)
    r = client.post(f"/v1/calls/{call['id']}/escalation/events", json={"kind": "told_caller"}, headers=h)
    assert r.status_code == 200
    latest = client.get(f"/v1/calls/{call['id']}/record", headers=h)
    assert len(latest.json()["escalation_run"]) == 1
    assert verify(latest.text, tmp_path, CHEST_FILE)[0] == 0
    with app.state.db.engine.connect() as conn:
        query = select(records.c.body).where(records.c.call_id == call["id"]).order_by(records.c.id)
        bodies = [row.body for row in conn.execute(query)]
    assert bodies == [first.text, latest.text]  # the first record is kept as it was


# ---------------------------------------------------------------------- close, record, note, fhir
def test_close_an_unfinished_call(client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    h = bearer(tokens["call"])
    call = start(client, tokens["call"])
    client.post(f"/v1/calls/{call['id']}/answers", json={"answers": {"unconscious": False}}, headers=h)
    r = client.post(f"/v1/calls/{call['id']}/close", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "needs_answers"
    assert verify(r.text, tmp_path, CHEST_FILE)[0] == 0
    assert client.post(f"/v1/calls/{call['id']}/close", headers=h).status_code == 409


def test_record_before_the_outcome_is_409(client: TestClient, tokens: dict[str, str]) -> None:
    call = start(client, tokens["call"])
    r = client.get(f"/v1/calls/{call['id']}/record", headers=bearer(tokens["review"]))
    assert r.status_code == 409


@pytest.mark.parametrize("path", ["", "/record", "/note", "/fhir"])
def test_unknown_call_is_404(client: TestClient, tokens: dict[str, str], path: str) -> None:
    r = client.get(f"/v1/calls/00000000-0000-0000-0000-000000000000{path}", headers=bearer(tokens["admin"]))
    assert r.status_code == 404 and r.json()["error"] == "not_found"


@pytest.mark.parametrize(("fmt", "heading"), [("text", "TRIAGE NOTE"), ("markdown", "# ")])
def test_note(client: TestClient, tokens: dict[str, str], fmt: str, heading: str) -> None:
    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    r = client.get(f"/v1/calls/{call['id']}/note", params={"format": fmt}, headers=bearer(tokens["review"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert (heading in r.text and "Call 911" in r.text) or "call_911" in r.text


def test_reads_of_records_are_audited(app: Any, client: TestClient, tokens: dict[str, str]) -> None:
    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    cid = call["id"]
    client.post(f"/v1/calls/{cid}/close", headers=bearer(tokens["call"]))
    client.get(f"/v1/calls/{cid}/record", headers=bearer(tokens["review"]))
    client.get(f"/v1/calls/{cid}/note", headers=bearer(tokens["admin"]))
    rows = [(r["token_name"], r["action"]) for r in audit_rows(app.state.db, cid)]
    assert rows == [("call-1", "close"), ("review-1", "read_record"), ("admin-1", "read_note")]
    assert all(r["at"] is not None for r in audit_rows(app.state.db, cid))


def test_questionnaire_is_a_fhir_questionnaire(client: TestClient, tokens: dict[str, str]) -> None:
    from fhir.resources.R4B.questionnaire import Questionnaire

    r = client.get(f"/v1/protocols/{CHEST}/questionnaire", headers=bearer(tokens["review"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    questionnaire = Questionnaire.model_validate_json(r.text)
    assert "unconscious" in [item.linkId for item in questionnaire.item or []]


def test_fhir_bundle_of_a_closed_call(client: TestClient, tokens: dict[str, str]) -> None:
    from fhir.resources.R4B.bundle import Bundle

    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    r = client.get(f"/v1/calls/{call['id']}/fhir", headers=bearer(tokens["review"]))
    assert r.status_code == 409 and r.json()["error"] == "conflict"  # not closed yet
    assert "still open: close it first" in r.json()["message"]
    record = client.post(f"/v1/calls/{call['id']}/close", headers=bearer(tokens["call"])).json()
    r = client.get(f"/v1/calls/{call['id']}/fhir", headers=bearer(tokens["review"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(r.text)
    assert bundle.type == "transaction"
    kinds = {entry.resource.__resource_type__ for entry in bundle.entry or []}
    assert {"QuestionnaireResponse", "Provenance"} <= kinds
    assert record["seal"]["head"] in r.text  # the Provenance carries the seal's head


# ---------------------------------------------------------------------- several protocols
def test_a_call_of_two_protocols_gives_a_call_record(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    h = bearer(tokens["call"])
    call = start(client, tokens["call"], CHEST, "qsofa")
    call = interview(
        client, tokens["call"], call, {**CHEST_EMERGENCY, "resp_rate": 24, "altered_mentation": True}
    )
    assert call["sealed"] and [p["status"] for p in call["protocols"]] == ["complete", "complete"]
    record = client.post(f"/v1/calls/{call['id']}/close", headers=h)
    assert record.json()["kind"] == "call" and record.json()["protocol"] == CHEST
    code, output = verify(record.text, tmp_path, CHEST_FILE, ROOT / "protocols/rules/qsofa.triage")
    assert code == 0, output


# ---------------------------------------------------------------------- durability, versions
def test_a_call_continues_on_another_process(
    protocol_dir: Path, database: str, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    call = start(client, tokens["call"])
    for question in ("unconscious", "not_breathing_or_gasping"):
        client.post(
            f"/v1/calls/{call['id']}/answers",
            json={"answers": {question: False}},
            headers=bearer(tokens["call"]),
        )
    other = make_app(protocol_dir, database, tmp_path / "other")  # its own cache and data folder
    try:
        second = TestClient(other)
        state = second.get(f"/v1/calls/{call['id']}", headers=bearer(tokens["call"])).json()
        assert state["next_question"]["id"] == "confused_or_hard_to_wake"
        state = interview(second, tokens["call"], state, CHEST_EMERGENCY)
        assert client.get(f"/v1/calls/{call['id']}", headers=bearer(tokens["call"])).json() == state
        record = second.post(f"/v1/calls/{call['id']}/close", headers=bearer(tokens["call"]))
        assert verify(record.text, tmp_path, CHEST_FILE)[0] == 0
    finally:
        other.state.db.dispose()


def test_a_changed_protocol_is_a_new_version_and_a_call_keeps_its_own(
    own_protocol_dir: Path, database: str, tmp_path: Path
) -> None:
    protocol_dir = own_protocol_dir
    app = make_app(protocol_dir, database, tmp_path, rescan_seconds=0)
    try:
        from triage_dsl.store.tokens import create_token

        token = create_token(app.state.db, "call", "c", app.state.calls.now())
        client = TestClient(app)
        h = bearer(token)
        path = protocol_dir / "telephone/chest_pain_adult.triage"
        original = tmp_path / "chest_pain_original"
        shutil.copytree(protocol_dir / "telephone", original)
        old = start(client, token)
        before = {p["id"]: p for p in client.get("/v1/protocols", headers=h).json()["protocols"]}[CHEST]
        text = path.read_text()
        path.write_text(text.replace('version "2.0.0"', 'version "2.0.1"', 1))
        after = {p["id"]: p for p in client.get("/v1/protocols", headers=h).json()["protocols"]}[CHEST]
        assert after["version"] == "2.0.1" and after["content_sha256"] != before["content_sha256"]
        new = start(client, token)
        assert new["protocols"][0]["version"] == "2.0.1"
        # the old call stays on its version, also in a process that never compiled it
        path.write_text(text.replace('version "2.0.0"', 'version "2.0.2"', 1))
        other = make_app(protocol_dir, database, tmp_path / "other")
        try:
            second = TestClient(other)
            state = second.get(f"/v1/calls/{old['id']}", headers=h).json()
            assert state["protocols"][0]["version"] == "2.0.0"
            state = interview(second, token, state, CHEST_EMERGENCY)
            record = second.post(f"/v1/calls/{old['id']}/close", headers=h)
            assert verify(record.text, tmp_path, original / "chest_pain_adult.triage")[0] == 0
        finally:
            other.state.db.dispose()
        # a file that stops compiling keeps its last good version in service
        path.write_text(text + "\nthis is not a protocol\n")
        listed = client.get("/v1/protocols", headers=h).json()
        assert {p["id"]: p["version"] for p in listed["protocols"]}[CHEST] == "2.0.1"  # this process's last
        assert any("chest_pain_adult" in name for name in listed["problems"])
    finally:
        app.state.db.dispose()


# ---------------------------------------------------------------------- logs, metrics, openapi
def test_logs_hold_no_answers_or_free_text(
    client: TestClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    secrets = ["SECRET-COMPLAINT", "SECRET-REASON", "SECRET-OVERRIDE", "SECRET-DETAIL", "SECRET-AGENT"]
    h = bearer(tokens["call"])
    caller = {"caller": "patient", "agent_id": "SECRET-AGENT", "chief_complaint": "SECRET-COMPLAINT"}
    with caplog.at_level(logging.DEBUG):
        call = start(client, tokens["call"], caller=caller)
        cid = call["id"]
        client.post(
            f"/v1/calls/{cid}/answers", json={"answers": {"unconscious": "SECRET-INVALID"}}, headers=h
        )
        client.post(f"/v1/calls/{cid}/answers", json={"answers": {"has_angina": True}}, headers=h)
        r = client.post(
            f"/v1/calls/{cid}/retract", json={"question": "has_angina", "reason": "SECRET-REASON"}, headers=h
        )
        assert r.status_code == 200
        call = interview(
            client, tokens["call"], client.get(f"/v1/calls/{cid}", headers=h).json(), CHEST_EMERGENCY
        )
        client.post(
            f"/v1/calls/{cid}/escalation/events",
            json={"kind": "told_caller", "detail": "SECRET-DETAIL"},
            headers=h,
        )
        client.post(
            f"/v1/calls/{cid}/override",
            json={"disposition": "routine_chest_pain", "by": "rn", "reason": "SECRET-OVERRIDE"},
            headers=h,
        )
        client.post(f"/v1/calls/{cid}/close", headers=h)
        client.get(f"/v1/calls/{cid}/note", headers=h)
    assert any(cid in message for message in caplog.messages)  # the service does log
    for secret in [*secrets, "SECRET-INVALID"]:
        assert secret not in caplog.text


def metric(client: TestClient, token: str, prefix: str) -> float:
    r = client.get("/metrics", headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return sum(float(line.rsplit(" ", 1)[1]) for line in r.text.splitlines() if line.startswith(prefix))


def test_metrics_in_prometheus_text_format(client: TestClient, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    answered = 'triage_http_requests_total{method="POST",route="/v1/calls/{call_id}/answers",status="200"'
    before = [
        metric(client, admin, name)
        for name in ("triage_answers_stored_total", "triage_calls_started_total", answered)
    ]
    call = start(client, tokens["call"])
    client.post(
        f"/v1/calls/{call['id']}/answers",
        json={"answers": {"unconscious": False, "not_breathing_or_gasping": False}},
        headers=bearer(tokens["call"]),
    )
    after = [
        metric(client, admin, name)
        for name in ("triage_answers_stored_total", "triage_calls_started_total", answered)
    ]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 1]
    text = client.get("/metrics", headers=bearer(admin)).text.splitlines()
    assert "# TYPE triage_http_request_seconds histogram" in text
    assert any(
        line.startswith('triage_http_request_seconds_bucket{le="+Inf"') or 'le="+Inf"' in line
        for line in text
    )


def test_metrics_count_the_database_whichever_process_answers(
    protocol_dir: Path, database: str, app: Any, client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    """A scrape reaches one worker: what the database holds is the same from each, and the
    per-process counters say which process they are (label pid)."""
    other = make_app(protocol_dir, database, tmp_path / "other")  # another worker: its own counters
    try:
        second = TestClient(other)
        admin = bearer(tokens["admin"])
        call = start(second, tokens["call"])  # started and answered on the other worker
        second.post(
            f"/v1/calls/{call['id']}/answers", json={"answers": {"unconscious": False}}, headers=admin
        )
        second.post(f"/v1/calls/{call['id']}/close", headers=admin)
        with app.state.db.engine.connect() as conn:
            expected = {
                "triage_calls_stored": conn.execute(
                    select(func.count()).select_from(call_table)
                ).scalar_one(),
                "triage_records_stored": conn.execute(select(func.count()).select_from(records)).scalar_one(),
                "triage_answers_stored": conn.execute(
                    select(func.count()).select_from(answer_events).where(answer_events.c.kind == "answer")
                ).scalar_one(),
                "triage_calls_closed_stored": conn.execute(
                    select(func.count()).select_from(answer_events).where(answer_events.c.kind == "close")
                ).scalar_one(),
            }
        assert expected["triage_calls_stored"] >= 1 and expected["triage_records_stored"] >= 1
        scrapes = [c.get("/metrics", headers=admin).text.splitlines() for c in (client, second)]
        for lines in scrapes:
            gauges = {
                line.split(" ")[0]: int(line.split(" ")[1])
                for line in lines
                if line.split(" ")[0] in expected
            }
            assert gauges == expected
            assert "# TYPE triage_calls_stored gauge" in lines
        # per-process counters: the other process counts the call it started, labelled with its pid
        started = [line for line in scrapes[1] if line.startswith("triage_calls_started_total")]
        assert started and all('pid="' in line for line in started)
    finally:
        other.state.db.dispose()


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    expected = {(m, p.replace(CALL, "{call_id}").replace(CHEST, "{protocol_id}")) for m, p, _ in ENDPOINTS}
    assert expected | {("GET", "/healthz")} <= paths
    answers = doc["paths"]["/v1/calls/{call_id}/answers"]["post"]
    assert {"200", "401", "403", "404", "409", "422"} <= set(answers["responses"])
    fhir = doc["paths"]["/v1/calls/{call_id}/fhir"]["get"]["responses"]
    assert "close it first" in fhir["409"]["description"]
    assert "HTTPBearer" in doc["components"]["securitySchemes"]


def test_openapi_documents_503_and_415_where_they_can_be_answered(client: TestClient) -> None:
    """Every route that reads the database (each checks a token) may answer 503 busy or
    unavailable, with Retry-After; every POST may answer 415 (a body not sent as JSON):
    each documented with the error body's schema."""
    doc = client.get("/openapi.json").json()
    error_schema = {"$ref": "#/components/schemas/ErrorOut"}
    routes = [
        (method, path, op)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if path.startswith("/v1/") or path == "/metrics"
    ]
    assert len(routes) >= 14
    for method, path, op in routes:
        busy = op["responses"].get("503")
        assert busy is not None, (method, path)
        assert busy["content"]["application/json"]["schema"] == error_schema, (method, path)
        assert busy["headers"]["Retry-After"]["schema"] == {"type": "integer"}, (method, path)
        assert "Idempotency-Key" in busy["description"]
        if method == "post":
            not_json = op["responses"].get("415")
            assert not_json is not None, (method, path)
            assert not_json["content"]["application/json"]["schema"] == error_schema, (method, path)
            assert "application/json" in not_json["description"]


def _closes(app: Any, call_id: str) -> list[Any]:
    with app.state.db.engine.connect() as conn:
        q = select(answer_events.c.at).where(
            answer_events.c.call_id == call_id, answer_events.c.kind == "close"
        )
        return [row.at for row in conn.execute(q)]


def test_a_close_and_its_audit_row_are_stored_together_or_not_at_all(
    app: Any, client: TestClient, tokens: dict[str, str]
) -> None:
    call = interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)
    cid = call["id"]
    db = app.state.db
    with db.engine.begin() as conn:  # the audit table refuses every row from now on
        conn.exec_driver_sql("ALTER TABLE audit RENAME TO audit_kept")
    try:
        try:
            status = client.post(f"/v1/calls/{cid}/close", headers=bearer(tokens["call"])).status_code
        except Exception:  # the test client raises what the service let through as a 500
            status = 500
        assert status >= 500
        assert _closes(app, cid) == []  # the close is not stored without its audit row
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_kept RENAME TO audit")
    r = client.post(f"/v1/calls/{cid}/close", headers=bearer(tokens["call"]))
    assert r.status_code == 200
    closes = _closes(app, cid)
    rows = [r for r in audit_rows(db, cid) if r["action"] == "close"]
    assert len(closes) == len(rows) == 1 and rows[0]["token_name"] == "call-1"
    assert rows[0]["at"] == closes[0]
