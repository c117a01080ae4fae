"""Safe retries with ``Idempotency-Key``: a request sent again with its key applies nothing
twice and answers with the call as it is now; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from service_helpers import (
    CHEST,
    CHEST_EMERGENCY,
    ROOT,
    START,
    Served,
    bearer,
    cli_token,
    interview,
    make_app,
    start,
)
from sqlalchemy import func, select

from triage_dsl.clock import FixedClock
from triage_dsl.service import views
from triage_dsl.service.app import create_app
from triage_dsl.store import open_database
from triage_dsl.store.calls import Conflict, NewCall, StoredEvent, append_events, create_call, load_call
from triage_dsl.store.idempotency import RequestKey, StoredKey, find_key
from triage_dsl.store.tables import answer_events, idempotency_keys, records
from triage_dsl.store.tables import calls as call_table
from triage_dsl.store.tokens import create_token
from triage_dsl.store.writer import Append, Writer

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
POSTS = [
    "/v1/calls",
    "/v1/calls/{call_id}/answers",
    "/v1/calls/{call_id}/retract",
    "/v1/calls/{call_id}/override",
    "/v1/calls/{call_id}/escalation/events",
    "/v1/calls/{call_id}/close",
]


def new_key() -> str:
    return f"key-{secrets.token_hex(16)}"


def count(app: Any, table: Any, call_id: str | None = None) -> int:
    query = select(func.count()).select_from(table)
    if call_id is not None:
        column = table.c.id if table is call_table else table.c.call_id
        query = query.where(column == call_id)
    with app.state.db.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def stored(app: Any, call_id: str) -> tuple[int, int, int]:
    """What the database holds for a call: events, records, keys."""
    return tuple(count(app, t, call_id) for t in (answer_events, records, idempotency_keys))  # type: ignore[return-value]


# the call each endpoint is tried on
def started(client: TestClient, tokens: dict[str, str]) -> str:
    return str(start(client, tokens["call"])["id"])


def answered(client: TestClient, tokens: dict[str, str]) -> str:
    call_id = started(client, tokens)
    r = client.post(
        f"/v1/calls/{call_id}/answers",
        json={"answers": {"unconscious": False}},
        headers=bearer(tokens["call"]),
    )
    assert r.status_code == 200, r.text
    return call_id


def sealed(client: TestClient, tokens: dict[str, str]) -> str:
    return str(interview(client, tokens["call"], start(client, tokens["call"]), CHEST_EMERGENCY)["id"])


Setup = Callable[[TestClient, dict[str, str]], str]
# endpoint, body, the call it needs, the role, the status code of the first response
CASES: list[tuple[str, dict[str, Any] | None, Setup | None, str, int]] = [
    ("/v1/calls", {"protocols": [CHEST]}, None, "call", 201),
    ("answers", {"answers": {"unconscious": False}}, started, "call", 200),
    ("answers", {"answers": {"pain_minutes": 30}}, lambda c, t: _one_short(c, t), "call", 200),  # seals
    ("retract", {"question": "unconscious", "reason": "misheard"}, answered, "call", 200),
    (
        "override",
        {"disposition": "call_911", "by": "rn-7", "reason": "caller collapsed"},
        started,
        "review",
        200,
    ),
    ("escalation/events", {"kind": "told_caller"}, sealed, "call", 200),
    ("close", None, answered, "call", 200),
    ("close", None, sealed, "call", 200),
]


def _one_short(client: TestClient, tokens: dict[str, str]) -> str:
    """A call one answer (pain_minutes) before its outcome."""
    answers = {k: v for k, v in CHEST_EMERGENCY.items() if k != "pain_minutes"}
    call = start(client, tokens["call"])
    h = bearer(tokens["call"])
    while call["next_question"]["id"] != "pain_minutes":
        question = call["next_question"]["id"]
        r = client.post(
            f"/v1/calls/{call['id']}/answers", json={"answers": {question: answers[question]}}, headers=h
        )
        call = r.json()
    return str(call["id"])


def url(endpoint: str, call_id: str | None) -> str:
    return endpoint if endpoint.startswith("/") else f"/v1/calls/{call_id}/{endpoint}"


@pytest.mark.parametrize(("endpoint", "body", "setup", "role", "status"), CASES)
def test_a_request_sent_again_with_its_key_is_applied_once(
    app: Any,
    client: TestClient,
    tokens: dict[str, str],
    endpoint: str,
    body: dict[str, Any] | None,
    setup: Setup | None,
    role: str,
    status: int,
) -> None:
    call_id = setup(client, tokens) if setup else None
    headers = {**bearer(tokens[role]), KEY: new_key()}
    first = client.post(url(endpoint, call_id), json=body, headers=headers)
    assert first.status_code == status, first.text
    assert REPLAYED not in first.headers
    call_id = call_id or first.json()["id"]
    before = stored(app, call_id)
    assert before[2] == 1  # the key, stored with what it produced
    calls_before = count(app, call_table)
    again = client.post(url(endpoint, call_id), json=body, headers=headers)
    assert again.status_code == status, again.text
    assert again.headers[REPLAYED] == "true"
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.content == first.content  # nothing happened since: the same answer, byte for byte
    assert stored(app, call_id) == before and count(app, call_table) == calls_before


def test_a_replay_answers_with_the_call_as_it_is_now(
    app: Any, client: TestClient, tokens: dict[str, str]
) -> None:
    h = bearer(tokens["call"])
    call_id = started(client, tokens)
    keyed = {**h, KEY: new_key()}
    body = {"answers": {"unconscious": False}}
    first = client.post(f"/v1/calls/{call_id}/answers", json=body, headers=keyed)
    asked = first.json()["next_question"]["id"]
    later = client.post(f"/v1/calls/{call_id}/answers", json={"answers": {asked: False}}, headers=h)
    assert later.status_code == 200
    again = client.post(f"/v1/calls/{call_id}/answers", json=body, headers=keyed)
    assert again.status_code == 200 and again.headers[REPLAYED] == "true"
    now = client.get(f"/v1/calls/{call_id}", headers=h).json()
    assert again.json() == now, (again.json(), now)
    assert now == later.json()
    assert now != first.json()
    assert stored(app, call_id) == (2, 0, 1)


@pytest.mark.parametrize(
    ("second_url", "second_body"),
    [
        ("answers", {"answers": {"unconscious": True}}),  # another body
        ("answers", {"answers": {"unconscious": False}, "reason": "misheard"}),  # one more field
        ("retract", {"question": "unconscious", "reason": "misheard"}),  # another endpoint
    ],
)
def test_a_key_sent_with_another_request_is_refused(
    app: Any, client: TestClient, tokens: dict[str, str], second_url: str, second_body: dict[str, Any]
) -> None:
    call_id = started(client, tokens)
    headers = {**bearer(tokens["call"]), KEY: new_key()}
    first = client.post(
        f"/v1/calls/{call_id}/answers", json={"answers": {"unconscious": False}}, headers=headers
    )
    assert first.status_code == 200
    before = stored(app, call_id)
    r = client.post(f"/v1/calls/{call_id}/{second_url}", json=second_body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "idempotency_key_reused"
    assert "Idempotency-Key" in r.json()["message"] and "new key" in r.json()["message"]
    assert stored(app, call_id) == before


def test_a_start_key_sent_with_another_request_is_refused(
    app: Any, client: TestClient, tokens: dict[str, str]
) -> None:
    headers = {**bearer(tokens["call"]), KEY: new_key()}
    assert client.post("/v1/calls", json={"protocols": [CHEST]}, headers=headers).status_code == 201
    calls_before = count(app, call_table)
    r = client.post("/v1/calls", json={"protocols": ["head_injury"]}, headers=headers)
    assert r.status_code == 422 and r.json()["error"] == "idempotency_key_reused"
    assert count(app, call_table) == calls_before


def test_a_key_belongs_to_its_call_and_a_start_key_to_its_token(
    app: Any, client: TestClient, tokens: dict[str, str]
) -> None:
    key = new_key()
    body = {"answers": {"unconscious": False}}
    one, two = started(client, tokens), started(client, tokens)
    for call_id in (one, two):
        r = client.post(
            f"/v1/calls/{call_id}/answers", json=body, headers={**bearer(tokens["call"]), KEY: key}
        )
        assert r.status_code == 200 and REPLAYED not in r.headers
        assert stored(app, call_id) == (1, 0, 1)
    # two tokens starting a call with the same key start two calls
    ids = []
    for role in ("call", "admin"):
        r = client.post("/v1/calls", json={"protocols": [CHEST]}, headers={**bearer(tokens[role]), KEY: key})
        assert r.status_code == 201 and REPLAYED not in r.headers
        ids.append(r.json()["id"])
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (b"", "0 characters"),
        (b"x" * 201, "201 characters"),
        ("clé".encode(), "0xC3, 0xA9"),
        (b"a\x7fb", "0x7F"),
    ],
)
def test_an_invalid_key_is_refused_and_says_how_to_fix_it(
    app: Any, client: TestClient, tokens: dict[str, str], value: bytes, says: str
) -> None:
    call_id = started(client, tokens)
    before = stored(app, call_id)
    headers: dict[str, Any] = {**bearer(tokens["call"]), KEY: value}
    for path, body in [
        (f"/v1/calls/{call_id}/answers", {"answers": {"unconscious": False}}),
        ("/v1/calls", {"protocols": [CHEST]}),
    ]:
        calls_before = count(app, call_table)
        r = client.post(path, json=body, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_idempotency_key"
        message = r.json()["message"]
        assert (
            message.startswith("Idempotency-Key:")
            and "1 to 200 printable ASCII" in message
            and says in message
        )
        assert count(app, call_table) == calls_before
    assert stored(app, call_id) == before


def test_without_a_key_a_request_sent_twice_is_applied_twice(
    app: Any, client: TestClient, tokens: dict[str, str]
) -> None:
    call_id = started(client, tokens)
    h = bearer(tokens["call"])
    for _ in range(2):
        r = client.post(f"/v1/calls/{call_id}/answers", json={"answers": {"unconscious": False}}, headers=h)
        assert r.status_code == 200 and REPLAYED not in r.headers
    assert stored(app, call_id) == (2, 0, 0)  # an answer and its (identical) correction


def test_a_response_lost_after_the_commit_is_recovered_by_sending_again(
    app: Any, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is stored, then the response is lost (here: the route fails after the
    commit, as a dropped connection would lose it): sending the request again with its key
    gets the call as stored, and the answer is stored once."""
    client = TestClient(app, raise_server_exceptions=False)
    h = bearer(tokens["call"])
    call_id = started(client, tokens)
    answer = {"answers": {"unconscious": False}}
    keyed = {**h, KEY: new_key()}
    call_out = views.call_out

    def lost(*args: Any) -> Any:
        raise ConnectionResetError("the response never reached the client")

    making = views.CallBytes.__call__
    monkeypatch.setattr(views, "call_out", lost)
    monkeypatch.setattr(views.CallBytes, "__call__", lost)  # the answer route's kept bytes too
    assert client.post(f"/v1/calls/{call_id}/answers", json=answer, headers=keyed).status_code == 500
    monkeypatch.setattr(views, "call_out", call_out)
    monkeypatch.setattr(views.CallBytes, "__call__", making)
    assert stored(app, call_id) == (1, 0, 1)  # committed before the response was lost
    again = client.post(f"/v1/calls/{call_id}/answers", json=answer, headers=keyed)
    assert again.status_code == 200 and again.headers[REPLAYED] == "true"
    assert again.json() == client.get(f"/v1/calls/{call_id}", headers=h).json()
    assert again.json()["next_question"]["id"] != "unconscious"
    assert stored(app, call_id) == (1, 0, 1)
    metrics = client.get("/metrics", headers=bearer(tokens["admin"])).text
    assert any(line.startswith("triage_replays_total{") for line in metrics.splitlines())


def counter(client: TestClient, admin: str, name: str) -> float:
    """The sum of a counter's series in this process's /metrics (0 when it has none)."""
    text = client.get("/metrics", headers=bearer(admin)).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


@pytest.mark.parametrize(("endpoint", "body", "setup", "role", "status"), CASES)
def test_a_replay_is_counted_as_a_replay_not_as_a_conflict(
    database: str,
    tmp_path: Path,
    endpoint: str,
    body: dict[str, Any] | None,
    setup: Setup | None,
    role: str,
    status: int,
) -> None:
    app = make_app(ROOT / "protocols", database, tmp_path)  # its own counters
    try:
        client = TestClient(app)
        now = app.state.calls.now()
        tokens = {r: create_token(app.state.db, r, f"{r}-m", now) for r in ("call", "review", "admin")}
        call_id = setup(client, tokens) if setup else None
        headers = {**bearer(tokens[role]), KEY: new_key()}
        assert client.post(url(endpoint, call_id), json=body, headers=headers).status_code == status
        again = client.post(url(endpoint, call_id or "-"), json=body, headers=headers)
        assert again.headers[REPLAYED] == "true"
        assert counter(client, tokens["admin"], "triage_replays_total") == 1
        assert counter(client, tokens["admin"], "triage_conflicts_total") == 0
    finally:
        app.state.db.dispose()


def test_a_change_another_process_overtook_is_counted_as_a_conflict(database: str, tmp_path: Path) -> None:
    apps = [make_app(ROOT / "protocols", database, tmp_path / name) for name in ("a", "b")]
    try:
        now = apps[0].state.calls.now()
        token = create_token(apps[0].state.db, "call", "rn", now)
        admin = create_token(apps[0].state.db, "admin", "ops", now)
        a, b = (TestClient(app) for app in apps)
        h = bearer(token)
        call_id = a.post("/v1/calls", json={"protocols": [CHEST]}, headers=h).json()["id"]
        answer = {"answers": {"unconscious": False}}
        assert a.post(f"/v1/calls/{call_id}/answers", json=answer, headers=h).status_code == 200
        answer = {"answers": {"not_breathing_or_gasping": False}}
        assert b.post(f"/v1/calls/{call_id}/answers", json=answer, headers=h).status_code == 200
        # A's cached call is one event behind: its insert collides, the change is made again
        answer = {"answers": {"confused_or_hard_to_wake": False}}
        r = a.post(f"/v1/calls/{call_id}/answers", json=answer, headers={**h, KEY: new_key()})
        assert r.status_code == 200 and REPLAYED not in r.headers
        assert counter(a, admin, "triage_conflicts_total") == 1
        assert counter(a, admin, "triage_replays_total") == 0
        assert counter(b, admin, "triage_conflicts_total") == 0
    finally:
        for app in apps:
            app.state.db.dispose()


def at_once(clients: list[Any], path: str, body: Any, headers: dict[str, str]) -> list[Any]:
    """The same POST sent by every client at the same moment (one thread each)."""
    barrier = threading.Barrier(len(clients))
    responses: list[Any] = [None] * len(clients)

    def send(n: int) -> None:
        barrier.wait()
        responses[n] = clients[n].post(path, json=body, headers=headers)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_one_key_sent_to_two_processes_at_once_is_applied_once(
    database: str, app: Any, tokens: dict[str, str], tmp_path: Path
) -> None:
    """Two services on one database (each its own cache and writer, as two processes), the
    same request with the same key to both at once, again and again: each time exactly one
    applies it and the other answers with the call as stored."""
    other = make_app(ROOT / "protocols", database, tmp_path)
    try:
        clients = [TestClient(app), TestClient(other)]
        h = bearer(tokens["call"])
        call = start(clients[0], tokens["call"])
        call_id = call["id"]
        clients[1].get(f"/v1/calls/{call_id}", headers=h)  # both processes hold the call
        rounds = 0
        while not call["sealed"]:
            question = call["next_question"]["id"]
            body = {"answers": {question: CHEST_EMERGENCY[question]}}
            headers = {**h, KEY: new_key()}
            responses = at_once(clients, f"/v1/calls/{call_id}/answers", body, headers)
            assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
            assert sorted(r.headers.get(REPLAYED, "") for r in responses) == ["", "true"]
            assert responses[0].json() == responses[1].json()
            call = responses[0].json()
            rounds += 1
            events, _, keys = stored(app, call_id)
            assert keys == rounds and events == rounds + (1 if call["sealed"] else 0)  # + the seal
        assert rounds >= 4
    finally:
        other.state.db.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_one_key_sent_to_two_served_processes_at_once_is_applied_once(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The same, with two ``triage serve`` processes on one database."""
    if kind == "sqlite":
        database = f"sqlite:///{tmp_path / 'triage.db'}"
    else:
        database = request.getfixturevalue("postgres").create_database(f"triage_keys_{secrets.token_hex(6)}")
    token = cli_token(database, tmp_path)
    servers = [Served(ROOT / "protocols", database, tmp_path / name) for name in ("one", "two")]
    try:
        with servers[0].client(token) as a, servers[1].client(token) as b:
            headers = {KEY: new_key()}
            started = at_once([a, b], "/v1/calls", {"protocols": [CHEST]}, headers)
            assert [r.status_code for r in started] == [201, 201]
            assert sorted(r.headers.get(REPLAYED, "") for r in started) == ["", "true"]
            call = started[0].json()
            assert started[1].json() == call
            while not call["sealed"]:
                question = call["next_question"]["id"]
                body = {"answers": {question: CHEST_EMERGENCY[question]}}
                responses = at_once([a, b], f"/v1/calls/{call['id']}/answers", body, {KEY: new_key()})
                assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
                assert sorted(r.headers.get(REPLAYED, "") for r in responses) == ["", "true"]
                assert responses[0].json() == responses[1].json()
                call = responses[0].json()
            closed = at_once([a, b], f"/v1/calls/{call['id']}/close", None, {KEY: new_key()})
            assert [r.status_code for r in closed] == [200, 200] and closed[0].text == closed[1].text
            answers = [e for e in closed[0].json()["answer_log"] if e["kind"] == "answer"]
            assert len(answers) == len({e["question"] for e in answers})  # each answer stored once
    finally:
        for server in servers:
            server.stop()


def test_keys_stay_out_of_logs_and_records(
    client: TestClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    key = f"secret-{uuid.uuid4()}"
    h = {**bearer(tokens["call"]), KEY: key}
    caplog.set_level(logging.DEBUG)
    call_id = answered(client, tokens)
    r = client.post(f"/v1/calls/{call_id}/close", headers=h)
    assert client.post(f"/v1/calls/{call_id}/close", headers=h).headers[REPLAYED] == "true"
    assert key not in r.text and key not in caplog.text
    plain = client.post(f"/v1/calls/{answered(client, tokens)}/close", headers=bearer(tokens["call"]))
    assert r.json().keys() == plain.json().keys()


def fresh_database(database: str, tmp_path: Path, name: str, request: pytest.FixtureRequest) -> str:
    if database.startswith("sqlite"):
        return f"sqlite:///{tmp_path / name}.db"
    return str(request.getfixturevalue("postgres").create_database(f"triage_keys_{secrets.token_hex(6)}"))


def test_a_call_with_a_key_on_every_post_gives_the_same_bytes(
    database: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The script of every kind of event (tests/service/test_service_cache.py), once with
    no key and once with a key on every POST and each POST sent twice: the same responses,
    byte for byte (the record among them), each sent-again POST a replay."""
    from test_service_cache import CALL_ID, SCRIPT

    monkeypatch.setattr("triage_dsl.service.calls.uuid.uuid4", lambda: CALL_ID)
    runs: list[list[tuple[int, str]]] = []
    for keyed in (False, True):
        url = fresh_database(database, tmp_path, str(keyed), request)
        # a clock that stands still: the replays read it too, and the runs must get the same times
        app = create_app(ROOT / "protocols", url, clock=FixedClock(START), data_folder=tmp_path / str(keyed))
        try:
            client = TestClient(app)
            h = bearer(create_token(app.state.db, "call", "rn", FixedClock(START).now()))
            out = []
            for method, path, body in SCRIPT:
                target = path if path.startswith("/") else f"/v1/calls/{CALL_ID}/{path}".rstrip("/")
                headers = {**h, KEY: new_key()} if keyed and method == "POST" else h
                r = client.request(method, target, json=body, headers=headers)
                out.append((r.status_code, r.text))
                if headers is not h:
                    again = client.request(method, target, json=body, headers=headers)
                    assert again.status_code == r.status_code and again.text == r.text
                    # what was stored is replayed; what was refused (nothing stored) is refused again
                    assert (again.headers.get(REPLAYED) == "true") == (r.status_code < 300), (path, r.text)
            runs.append(out)
            if keyed:
                applied = [
                    s for (m, _, _), (s, _) in zip(SCRIPT, out, strict=True) if m == "POST" and s < 300
                ]
                assert stored(app, str(CALL_ID))[2] == len(applied) >= 15
        finally:
            app.state.db.dispose()
    plain, keyed_run = runs
    assert keyed_run == plain


def test_openapi_documents_the_header_on_every_post(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path in POSTS:
        parameters = doc["paths"][path]["post"].get("parameters", [])
        header = [p for p in parameters if p["in"] == "header" and p["name"] == KEY]
        assert len(header) == 1, path
        assert not header[0].get("required", False)
        assert header[0]["schema"]["maxLength"] == 200
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            names = [p["name"] for p in op.get("parameters", [])]
            assert (KEY in names) == (method == "post" and path in POSTS), (method, path)


def test_openapi_documents_the_replay_header_on_every_post_success(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                headers = response.get("headers", {})
                success = method == "post" and path in POSTS and status in ("200", "201")
                assert (REPLAYED in headers) == success, (method, path, status)
                if success:
                    assert headers[REPLAYED]["schema"] == {"type": "string", "enum": ["true"]}
                    assert not headers[REPLAYED].get("required", False)


# ---------------------------------------------------------------------- the store
def test_a_key_is_committed_with_its_events_or_not_at_all(database: str, app: Any) -> None:
    db = open_database(database)
    now = app.state.calls.now()
    try:
        one, two, three = (str(uuid.uuid4()) for _ in range(3))
        for call_id in (one, two, three):
            create_call(db, call_id, now, [], None, None)

        def event(seq: int) -> list[StoredEvent]:
            return [StoredEvent(seq, "answer", now, {"n": seq})]

        def seqs(call_id: str) -> list[int]:
            return [e.seq for e in load_call(db, call_id)[1]]  # type: ignore[index]

        append_events(db, one, event(1), None, key=RequestKey(one, "k", "sha-a"))
        assert find_key(db, one, "k") == StoredKey(one, "sha-a", 1, 1)
        with pytest.raises(Conflict):  # the key is taken: its events are not stored
            append_events(db, one, event(2), None, key=RequestKey(one, "k", "sha-b"))
        with pytest.raises(Conflict):  # the events collide: the key is not stored
            append_events(db, one, event(1), None, key=RequestKey(one, "k2", "sha-c"))
        assert seqs(one) == [1] and find_key(db, one, "k2") is None and find_key(db, one, "k") is not None
        # in a group commit, only the append whose key is taken is refused
        batch = [
            Append(two, event(1), None, None, now, RequestKey(two, "k", "sha-a")),
            Append(one, event(2), None, None, now, RequestKey(one, "k", "sha-d")),
            Append(three, event(1), None, None, now, RequestKey(three, "k", "sha-a")),
        ]
        Writer(db).store(batch)
        assert [type(item.error) for item in batch] == [type(None), Conflict, type(None)]
        assert (seqs(one), seqs(two), seqs(three)) == ([1], [1], [1])
        assert find_key(db, one, "k") == StoredKey(one, "sha-a", 1, 1)
        assert find_key(db, three, "k") == StoredKey(three, "sha-a", 1, 1)
        # a start: the call and its key together
        scope = f"start:{uuid.uuid4()}"
        first, second = str(uuid.uuid4()), str(uuid.uuid4())
        create_call(db, first, now, [], None, None, RequestKey(scope, "s", "sha-s"))
        with pytest.raises(Conflict):
            create_call(db, second, now, [], None, None, RequestKey(scope, "s", "sha-s"))
        assert load_call(db, second) is None and find_key(db, scope, "s") == StoredKey(
            first, "sha-s", None, None
        )
        # starts in a group commit, beside answers: only the start whose key is taken is refused
        third, fourth = str(uuid.uuid4()), str(uuid.uuid4())
        batch = [
            Append(third, (), None, None, now, RequestKey(scope, "t", "sha-t"), None, NewCall(now, [], None)),
            Append(
                fourth, (), None, None, now, RequestKey(scope, "s", "sha-s"), None, NewCall(now, [], None)
            ),
            Append(two, event(2), None, None, now),
        ]
        Writer(db).store(batch)
        assert [type(item.error) for item in batch] == [type(None), Conflict, type(None)]
        assert load_call(db, third) is not None and load_call(db, fourth) is None and seqs(two) == [1, 2]
        assert find_key(db, scope, "t") == StoredKey(third, "sha-t", None, None)
    finally:
        db.dispose()


def test_calls_started_together_share_their_transactions(database: str, app: Any) -> None:
    """Starts go through the group commit as answers do: many calls (each with its key)
    stored by fewer transactions than requests, each readable afterwards."""
    import asyncio

    service = app.state.calls
    scope = f"start:{uuid.uuid4()}"
    keys = [RequestKey(scope, f"k{n}", f"sha-{n}") for n in range(20)]
    before = service.writer.batches

    async def start_all() -> list[tuple[str, bool]]:
        made = [
            service.start_or_replay_async(["chest_pain_adult"], None, None, key, lambda s: s.call_id)
            for key in keys
        ]
        return list(await asyncio.gather(*made))

    started = asyncio.run(start_all())
    assert [replayed for _, replayed in started] == [False] * 20
    assert 0 < service.writer.batches - before < 20
    assert [find_key(service.db, scope, key.key) for key in keys] == [
        StoredKey(call_id, key.request_sha256, None, None)
        for (call_id, _), key in zip(started, keys, strict=True)
    ]
    again = asyncio.run(
        service.start_or_replay_async(["chest_pain_adult"], None, None, keys[3], lambda s: s.call_id)
    )
    assert again == (started[3][0], True)  # the same request sent again: the call it started


@given(
    path=st.text(
        alphabet=st.sampled_from(list("/abc-_.~:@!$&'()*+,;= %?#\\\t\r\n\x00\x7féü中")), max_size=30
    ).map(lambda p: "/" + p),
    host=st.sampled_from([None, b"127.0.0.1:8000", b"example.org", b"[::1]:80", b"bad host/x?#"]),
    query=st.sampled_from([b"", b"a=1", b"x?#"]),
)
@example(path="//", host=None, query=b"")  # Starlette writes it /%2F when no host is named
@example(path="/v1/calls/a%3Fb/answers", host=b"127.0.0.1:8000", query=b"")
def test_the_key_hash_reads_the_same_path_as_the_url_does(
    path: str, host: bytes | None, query: bytes
) -> None:
    """The request's hash reads the path without building its URL: the same text as
    ``request.url.path`` for every path (stored keys keep matching their retries)."""
    from starlette.requests import Request

    from triage_dsl.service.idempotency import url_path

    headers = [] if host is None else [(b"host", host)]
    for server in (("127.0.0.1", 8000), None):
        scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": query}
        scope |= {"scheme": "http", "server": server}
        assert url_path(Request(scope)) == Request(scope).url.path


# ------------------------------------------------------------- races between processes
def test_a_key_stored_by_another_process_after_the_lookup_is_a_replay(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Process B looks the key up (not stored yet), then process A stores the same
    request with the same key, then B reads the call: B answers with the replay, not with
    a refusal decided on the call A changed (here: 'already closed', a 409). The worst
    moment for B, made deterministic: A's request runs inside B's key lookup, right after
    it found nothing."""
    from triage_dsl.service import calls as service_calls

    apps = [make_app(ROOT / "protocols", database, tmp_path / name) for name in ("a", "b")]
    try:
        a, b = (app.state.calls for app in apps)
        who = None
        token = create_token(apps[0].state.db, "call", "rn", a.now())
        call_id = started(TestClient(apps[0]), {"call": token})  # cached in A only
        key = RequestKey(call_id, new_key(), "sha-close")
        found_by_a: list[tuple[Any, bool]] = []
        find = service_calls.find_key

        def then_a_stores_it(db: Any, scope: str, name: str) -> StoredKey | None:
            stored_key = find(db, scope, name)
            if db is b.db and not found_by_a:
                found_by_a.append(a.change_or_replay(call_id, views.close_events, who, key, views.call_out))
            return stored_key

        monkeypatch.setattr(service_calls, "find_key", then_a_stores_it)
        out, replayed = b.change_or_replay(call_id, views.close_events, who, key, views.call_out)
        assert found_by_a and found_by_a[0][1] is False  # A applied it
        assert replayed is True
        assert out == found_by_a[0][0] and out.closed
        closes = [e for e in load_call(a.db, call_id)[1] if e.kind == "close"]  # type: ignore[index]
        assert len(closes) == 1
    finally:
        for app in apps:
            app.state.db.dispose()


def test_a_request_that_loses_every_race_is_a_503_to_send_again(
    app: Any, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process appends first at every attempt: 503 with Retry-After, nothing
    stored, and the same request sent again with its key is then applied once."""
    from triage_dsl.service import calls as service_calls

    client = TestClient(app, raise_server_exceptions=False)
    call_id = answered(client, tokens)
    headers = {**bearer(tokens["call"]), KEY: new_key()}
    writer = app.state.calls.writer

    def overtaken(call: str, *args: Any, **kwargs: Any) -> None:
        raise service_calls.Conflict(call)

    async def overtaken_async(call: str, *args: Any, **kwargs: Any) -> None:
        overtaken(call)

    before = stored(app, call_id)
    monkeypatch.setattr(writer, "append", overtaken)
    monkeypatch.setattr(writer, "append_async", overtaken_async)  # the first attempt, on the loop
    r = client.post(f"/v1/calls/{call_id}/close", headers=headers)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1" and r.json()["error"] == "busy"
    assert "send the request again" in r.json()["message"] and "Traceback" not in r.text
    assert stored(app, call_id) == before
    monkeypatch.undo()
    again = client.post(f"/v1/calls/{call_id}/close", headers=headers)
    assert again.status_code == 200 and REPLAYED not in again.headers
    assert client.post(f"/v1/calls/{call_id}/close", headers=headers).headers[REPLAYED] == "true"


@pytest.mark.parametrize("endpoint", ["answers", "close"])
def test_a_database_that_stays_locked_is_a_503_not_a_500(
    app: Any, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    """SQLite locked beyond busy_timeout (or a PostgreSQL connection lost): the driver's
    OperationalError is answered 503 with Retry-After, on the answer route's own layer
    too, with no traceback."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    client = TestClient(app, raise_server_exceptions=False)
    call_id = started(client, tokens)

    def locked(*args: Any, **kwargs: Any) -> None:
        locked_out = sqlite3.OperationalError("database is locked")
        raise OperationalError("INSERT INTO answer_events", {}, locked_out)

    async def locked_async(*args: Any, **kwargs: Any) -> None:
        locked()

    monkeypatch.setattr(app.state.calls.writer, "append", locked)
    monkeypatch.setattr(app.state.calls.writer, "append_async", locked_async)
    body = {"answers": {"unconscious": False}} if endpoint == "answers" else None
    r = client.post(url(endpoint, call_id), json=body, headers={**bearer(tokens["call"]), KEY: new_key()})
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1" and r.json()["error"] == "unavailable"
    assert "Idempotency-Key" in r.json()["message"] and "INSERT" not in r.text
    assert stored(app, call_id) == (0, 0, 0)


def test_a_start_sent_again_after_its_protocol_left_the_folder_is_a_replay(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The key is not looked up before the protocols are: a start sent again once its
    protocol was taken out of the folder still gets the call it started (201, replayed),
    and only a new request is refused (404)."""
    import shutil

    folder = tmp_path / "protocols"
    shutil.copytree(ROOT / "protocols" / "rules", folder)
    app = make_app(folder, fresh_database(database, tmp_path, "gone", request), tmp_path, rescan_seconds=0)
    try:
        client = TestClient(app)
        token = create_token(app.state.db, "call", "nurse", FixedClock(START).now())
        headers = {**bearer(token), KEY: new_key()}
        first = client.post("/v1/calls", json={"protocols": ["qsofa"]}, headers=headers)
        assert first.status_code == 201
        (folder / "qsofa.triage").unlink()
        again = client.post("/v1/calls", json={"protocols": ["qsofa"]}, headers=headers)
        assert again.status_code == 201 and again.headers[REPLAYED] == "true"
        assert again.json()["id"] == first.json()["id"]
        new = client.post(
            "/v1/calls", json={"protocols": ["qsofa"]}, headers={**bearer(token), KEY: new_key()}
        )
        assert new.status_code == 404 and "no protocol 'qsofa'" in new.json()["message"]
        assert count(app, call_table) == 1
    finally:
        app.state.db.dispose()


def test_a_close_sent_again_hands_out_the_record_and_is_audited(app: Any, tokens: dict[str, str]) -> None:
    """A close sent again with its key returns the record once more, also to another
    token that sends the same key: each such hand-out is an audit row of who got it."""
    from triage_dsl.store.audit import audit_rows

    client = TestClient(app)
    call_id = answered(client, tokens)
    key = new_key()
    first = client.post(f"/v1/calls/{call_id}/close", headers={**bearer(tokens["call"]), KEY: key})
    again = client.post(f"/v1/calls/{call_id}/close", headers={**bearer(tokens["admin"]), KEY: key})
    assert first.status_code == again.status_code == 200 and again.headers[REPLAYED] == "true"
    assert again.content == first.content
    rows = [(r["token_name"], r["action"]) for r in audit_rows(app.state.db, call_id)]
    assert rows == [("call-1", "close"), ("admin-1", "close_replayed")]
