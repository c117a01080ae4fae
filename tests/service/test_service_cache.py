"""The per-process call cache changes nothing a call produces: the same requests give the
same responses and seal the same record, byte for byte, whether every request rebuilds its
call from the log (no cache) or works on the state this process keeps; and a cached state
that another process has overtaken is never the one a change is decided on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pgserver import Server
from service_helpers import CHEST, CHEST_EMERGENCY, ROOT, START, bearer, make_app, verify

from triage_dsl.clock import FixedClock
from triage_dsl.store.tokens import create_token

CHEST_FILE = ROOT / "protocols/telephone/chest_pain_adult.triage"
CALLER = {"caller": "spouse_or_partner", "agent_id": "agent-17", "chief_complaint": "tight chest"}
CALL_ID = uuid.UUID("00000000-0000-4000-8000-00000000c0de")

# A call with every kind of event: answers (one invalid, one batch), a correction, a
# retraction, an override, escalation steps before and after the close.
SCRIPT: list[tuple[str, str, Any]] = [
    ("POST", "/v1/calls", {"protocols": [CHEST], "caller": CALLER}),
    ("POST", "answers", {"answers": {"has_angina": True}}),
    ("POST", "answers", {"answers": {"has_angina": False}, "reason": "misheard"}),
    ("POST", "retract", {"question": "has_angina", "reason": "unsure"}),
    ("POST", "answers", {"answers": {"unconscious": False}}),
    ("POST", "answers", {"answers": {"not_breathing_or_gasping": "maybe"}}),  # 422, nothing stored
    ("POST", "answers", {"answers": {"not_breathing_or_gasping": False, "confused_or_hard_to_wake": False}}),
    ("GET", "", None),
    ("POST", "answers", {"answers": {"stroke_signs": False}}),
    ("POST", "answers", {"answers": {"non_blanching_rash": False, "skin_blue_grey_blotchy": False}}),
    ("POST", "answers", {"answers": {"cp_pain_now": True}}),
    ("POST", "retract", {"question": "cp_pain_now", "reason": "caller corrected herself"}),
    ("POST", "answers", {"answers": {"cp_pain_now": True}}),
    ("POST", "answers", {"answers": {"pain_minutes": 30}}),  # the outcome: sealed
    ("POST", "answers", {"answers": {"has_angina": True}}),  # 409: sealed
    ("POST", "override", {"disposition": "call_911", "by": "rn-jones", "reason": "confirmed"}),
    ("POST", "escalation/events", {"kind": "told_caller"}),
    ("POST", "close", None),
    ("POST", "escalation/events", {"kind": "paged"}),
    ("GET", "record", None),
]


@pytest.fixture
def two_databases(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """Two fresh, empty databases of the kind of ``database``."""
    if database.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    server: Server = request.getfixturevalue("postgres")
    yield tuple(server.create_database(f"triage_cache_{uuid.uuid4().hex[:12]}_{n}") for n in "ab")  # type: ignore[misc]


def run_script(app: Any) -> list[tuple[int, str]]:
    token = create_token(app.state.db, "call", "rn", FixedClock(START).now())
    client = TestClient(app)
    out = []
    for method, path, body in SCRIPT:
        url = path if path.startswith("/") else f"/v1/calls/{CALL_ID}/{path}".rstrip("/")
        r = client.request(method, url, json=body, headers=bearer(token))
        out.append((r.status_code, r.text))
    return out


def test_the_record_is_the_same_with_and_without_the_cache(
    two_databases: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("triage_dsl.service.calls.uuid.uuid4", lambda: CALL_ID)
    runs = []
    for url, cache_size in zip(two_databases, (0, 100), strict=True):
        app = make_app(ROOT / "protocols", url, tmp_path / f"data-{cache_size}", cache_size=cache_size)
        try:
            runs.append(run_script(app))
        finally:
            app.state.db.dispose()
    uncached, cached = runs
    statuses = [status for status, _ in cached]
    expected = [201, 200, 200, 200, 200, 422, *[200] * 8, 409, *[200] * 5]
    assert statuses == expected
    assert cached == uncached  # every response, byte for byte (the close's record among them)
    record = cached[-1][1]
    assert verify(record, tmp_path, CHEST_FILE)[0] == 0


def test_a_change_on_an_overtaken_cache_is_made_on_the_log(database: str, tmp_path: Path) -> None:
    """Process A caches the call; process B answers it; A's next change must not be decided
    on its cached state (a retraction of B's answer is allowed, an answer B already gave
    is asked no more) and A must not overwrite B's event."""
    apps = [make_app(ROOT / "protocols", database, tmp_path / name) for name in ("a", "b")]
    try:
        token = create_token(apps[0].state.db, "call", "rn", FixedClock(START).now())
        a, b = (TestClient(app) for app in apps)
        h = bearer(token)
        cid = a.post("/v1/calls", json={"protocols": [CHEST]}, headers=h).json()["id"]
        assert (
            a.post(
                f"/v1/calls/{cid}/answers", json={"answers": {"unconscious": False}}, headers=h
            ).status_code
            == 200
        )
        r = b.post(
            f"/v1/calls/{cid}/answers", json={"answers": {"not_breathing_or_gasping": False}}, headers=h
        )
        assert r.status_code == 200
        # A's cache does not know B's answer: the retraction is decided on the log
        r = a.post(
            f"/v1/calls/{cid}/retract",
            json={"question": "not_breathing_or_gasping", "reason": "x"},
            headers=h,
        )
        assert r.status_code == 200, r.text
        assert r.json()["next_question"]["id"] == "not_breathing_or_gasping"
        r = b.post(
            f"/v1/calls/{cid}/answers", json={"answers": {"not_breathing_or_gasping": False}}, headers=h
        )
        assert r.status_code == 200
        call = a.post(
            f"/v1/calls/{cid}/answers", json={"answers": {"confused_or_hard_to_wake": False}}, headers=h
        ).json()
        assert call["next_question"]["id"] == "stroke_signs"
        for client in (a, b):
            state = client.get(f"/v1/calls/{cid}", headers=h).json()
            assert state == call
        answers = dict(CHEST_EMERGENCY)
        while call["next_question"] is not None:
            q = call["next_question"]["id"]
            call = b.post(f"/v1/calls/{cid}/answers", json={"answers": {q: answers[q]}}, headers=h).json()
        record_a = a.post(f"/v1/calls/{cid}/close", headers=h)
        assert record_a.status_code == 200
        assert b.get(f"/v1/calls/{cid}/record", headers=h).text == record_a.text
        log = [(e["kind"], e["question"]) for e in record_a.json()["answer_log"]][:4]
        assert log == [
            ("answer", "unconscious"),
            ("answer", "not_breathing_or_gasping"),
            ("retraction", "not_breathing_or_gasping"),
            ("answer", "not_breathing_or_gasping"),
        ]
    finally:
        for app in apps:
            app.state.db.dispose()


def test_every_response_is_made_while_the_call_is_held(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A response is made of the call under the call's lock, on the event loop's path and
    the thread's alike: never from a state another request is changing at that moment."""
    from triage_dsl.service import views

    app = make_app(ROOT / "protocols", database, tmp_path)
    service = app.state.calls
    held: list[tuple[str, bool]] = []

    def watched(name: str, real: Any) -> Any:
        def view(state: Any, *args: Any) -> Any:
            held.append((name, service._lock(state.call_id).locked()))
            return real(state, *args)

        return view

    monkeypatch.setattr(views, "call_out", watched("call", views.call_out))
    monkeypatch.setattr(views, "fhir_bundle", watched("fhir", views.fhir_bundle))
    try:
        token = create_token(app.state.db, "call", "rn", FixedClock(START).now())
        client = TestClient(app)
        auth = bearer(token)
        call = client.post("/v1/calls", json={"protocols": [CHEST]}, headers=auth).json()
        path = f"/v1/calls/{call['id']}"
        held.clear()  # a new call's response is made before any other request can reach it
        steps = [
            ("POST", "/answers", {"answers": {"unconscious": False}}),
            ("GET", "", None),
            ("POST", "/retract", {"question": "unconscious", "reason": "unsure"}),
        ]
        for method, tail, body in steps:
            r = client.request(method, path + tail, json=body, headers=auth)
            assert r.status_code == 200, (tail, r.text)
        now = r.json()
        while not now["sealed"]:
            question = now["next_question"]["id"]
            r = client.post(
                path + "/answers", json={"answers": {question: CHEST_EMERGENCY[question]}}, headers=auth
            )
            assert r.status_code == 200, r.text
            now = r.json()
        answered = len(held) - 3
        for method, tail in (("POST", "/escalation/events"), ("POST", "/close"), ("GET", "/fhir")):
            body = {"kind": "told_caller"} if tail == "/escalation/events" else None
            r = client.request(method, path + tail, json=body, headers=auth)
            assert r.status_code == 200, (tail, r.text)
        assert answered > 0 and [name for name, _ in held] == ["call"] * (4 + answered) + ["fhir"]
        assert all(locked for _, locked in held), held
    finally:
        app.state.db.dispose()


def test_closed_calls_leave_the_cache_but_not_the_service(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closed call's state (its sealed record and trace) is kept only among the most
    recently closed, so the memory the collector walks does not grow with every call
    served; a call closed earlier is rebuilt from the log for its escalation events and
    reads, and its record is the same bytes."""
    monkeypatch.setattr("triage_dsl.service.calls.CLOSED_CACHE_SIZE", 2)
    app = make_app(ROOT / "protocols", database, tmp_path)
    try:
        token = create_token(app.state.db, "call", "rn", FixedClock(START).now())
        client, h = TestClient(app), bearer(token)
        service = app.state.calls
        closed: list[tuple[str, str]] = []
        for _ in range(4):
            call = client.post("/v1/calls", json={"protocols": [CHEST]}, headers=h).json()
            cid = call["id"]
            while call["next_question"] is not None:
                q = call["next_question"]["id"]
                call = client.post(
                    f"/v1/calls/{cid}/answers", json={"answers": {q: CHEST_EMERGENCY[q]}}, headers=h
                ).json()
            record = client.post(f"/v1/calls/{cid}/close", headers=h)
            assert record.status_code == 200
            closed.append((cid, record.text))
        still_open = client.post("/v1/calls", json={"protocols": [CHEST]}, headers=h).json()["id"]
        kept = set(service._cache) | set(service._closed)
        assert kept == {still_open, closed[2][0], closed[3][0]}
        first, first_record = closed[0]
        assert client.get(f"/v1/calls/{first}/record", headers=h).text == first_record
        r = client.post(f"/v1/calls/{first}/escalation/events", json={"kind": "told_caller"}, headers=h)
        assert r.status_code == 200, r.text
        record = client.get(f"/v1/calls/{first}/record", headers=h)
        assert record.text != first_record and "told_caller" in record.text
        assert verify(record.text, tmp_path, CHEST_FILE)[0] == 0
        assert len(service._closed) == 2 and first in service._closed and still_open in service._cache
    finally:
        app.state.db.dispose()
