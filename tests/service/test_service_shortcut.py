"""The answer route below FastAPI (service/shortcut.py) answers every request exactly as
the FastAPI route does: the same requests sent to an app with it and to one without it
(each on a fresh database, the same clock and call ids) give the same status, headers
and body bytes, the same metrics and the same stored events."""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pgserver import Server
from service_helpers import CHEST, CHEST_EMERGENCY, ROOT, START, bearer, make_app
from sqlalchemy import select

from triage_dsl.clock import FixedClock
from triage_dsl.service import calls as calls_module
from triage_dsl.store.tables import answer_events
from triage_dsl.store.tokens import create_token

_names = itertools.count(1)
ANSWERS = "/v1/calls/{}/answers"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh, empty databases of one kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fast.db'}", f"sqlite:///{tmp_path / 'slow.db'}"
        return
    server: Server = request.getfixturevalue("postgres")
    yield tuple(server.create_database(f"triage_shortcut_{next(_names)}") for _ in "ab")  # type: ignore[misc]


def _bodies() -> list[Any]:
    """Request bodies, valid and not: what a confused or hostile client sends (a seeded
    mix, the same every run)."""
    rng = random.Random(12)
    scalars: list[Any] = [None, True, False, 0, -1, 3.5, 1e300, "", "yes", "unknown", [], {}, [1, "a"]]
    bodies: list[Any] = [
        None,
        [],
        {},
        "answers",
        17,
        {"answers": None},
        {"answers": []},
        {"answers": {}},
        {"answers": "yes"},
        {"answers": {"no_such_question": True}},
        {"answers": {"chest_pain": "perhaps"}},
        {"answers": {"chest_pain": True}, "extra": 1},
        {"answers": {"chest_pain": True}, "reason": 5},
        {"answers": {"chest_pain": True}, "reason": "x" * 2001},
        {"answers": {f"q{i}": True for i in range(201)}},
        {"Answers": {"chest_pain": True}},
    ]
    for _ in range(40):
        answers = {rng.choice(["chest_pain", "age", "pain_minutes", "nope", ""]): rng.choice(scalars)}
        body: dict[str, Any] = {"answers": answers if rng.random() < 0.8 else rng.choice(scalars)}
        if rng.random() < 0.3:
            body["reason"] = rng.choice(scalars)
        if rng.random() < 0.1:
            body[rng.choice(["x", "answer", "reasons"])] = rng.choice(scalars)
        bodies.append(body)
    return bodies


def _exchange(client: TestClient, secrets: dict[str, str]) -> list[tuple[Any, ...]]:
    """The same sequence of requests, each answer request with a few variants; every
    response as (what was sent, status, headers, body bytes)."""
    seen: list[tuple[Any, ...]] = []

    def post(label: str, path: str, method: str = "POST", **kwargs: Any) -> Any:
        r = client.request(method, path, **kwargs)
        seen.append((label, r.status_code, r.headers.multi_items(), r.content))
        return r

    call_token = bearer(secrets["call"])
    call = client.post("/v1/calls", json={"protocols": [CHEST]}, headers=call_token).json()
    path = ANSWERS.format(call["id"])
    first = call["next_question"]["id"]
    good = {"answers": {first: CHEST_EMERGENCY[first]}}
    # who may answer
    post("no token", path, json=good)
    post("empty bearer", path, json=good, headers={"Authorization": "Bearer "})
    post("basic", path, json=good, headers={"Authorization": "Basic dXNlcjpwdw=="})
    post("unknown token", path, json=good, headers=bearer("trg_nope"))
    post("review role", path, json=good, headers=bearer(secrets["review"]))
    post("bad token, bad body", path, content=b"[1]", headers={**JSON, **bearer("trg_nope")})
    # the key header
    for key in ["", " x", "k" * 201, "caf\u00e9".encode(), "a\tb"]:
        post(f"key {key!r}", path, json=good, headers={**call_token, "Idempotency-Key": key})
    post("bad key, bad body", path, content=b"{}", headers={**JSON, **call_token, "Idempotency-Key": ""})
    # bodies that are not an answers object, or not JSON, or not said to be JSON
    for i, body in enumerate(_bodies()):
        post(f"body {i}: {body!r}"[:80], path, json=body, headers=call_token)
    for content, content_type in [
        (b"", "application/json"),
        (b"", None),
        (json.dumps(good).encode(), None),
        (json.dumps(good).encode(), "text/plain"),
        (json.dumps(good).encode(), "application/merge-patch+json; charset=utf-8"),
        (json.dumps(good).encode(), "application/json; charset=utf-8"),
        (b"{not json", "application/json"),
        (b'{"answers": {"a": 1, "a": 2}}', "application/json"),
        (b"\xff\xfe", "application/json"),
        ('{"answers": {"chest_pain": "\u00e9"}}'.encode("utf-16"), "application/json"),
    ]:
        headers = {**call_token, **({"Content-Type": content_type} if content_type else {})}
        post(f"content {content[:20]!r} as {content_type}", path, content=content, headers=headers)
    # no such call, and paths next to the route's
    post("unknown call", ANSWERS.format("no-such-call"), json=good, headers=call_token)
    post("trailing slash", path + "/", json=good, headers=call_token)
    post("below", path + "/x", json=good, headers=call_token)
    post("put", path, "PUT", json=good, headers=call_token)
    # the answer, sent again with its key, and the key with another request
    once = {**call_token, "Idempotency-Key": "answer-1"}
    post("answer", path, json=good, headers=once)
    post("replay", path, json=good, headers=once)
    post(
        "replay, keys reordered", path, content=json.dumps(good, indent=3).encode(), headers={**once, **JSON}
    )
    post("key reused", path, json={"answers": {first: "unknown"}}, headers=once)
    post("answered again", path, json=good, headers=call_token)
    # the rest of the interview, then answers to a closed call
    state = client.get(f"/v1/calls/{call['id']}", headers=call_token).json()
    while state["next_question"] is not None and not state["sealed"]:
        question = state["next_question"]["id"]
        state = post(
            f"interview {question}",
            path,
            json={"answers": {question: CHEST_EMERGENCY[question]}},
            headers=call_token,
        ).json()
    post("after the outcome", path, json=good, headers=call_token)
    client.post(f"/v1/calls/{call['id']}/close", headers=call_token)
    post("closed", path, json=good, headers=call_token)
    post("closed, replay", path, json=good, headers=once)
    admin = bearer(secrets["admin"])
    metrics = client.get("/metrics", headers=admin).text
    seen.append(("metrics", [line for line in metrics.splitlines() if "_seconds" not in line]))
    return seen


def _run(database: str, tmp_path: Path, shortcut: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    ids = (uuid.UUID(int=i) for i in itertools.count(1))
    monkeypatch.setattr(calls_module.uuid, "uuid4", lambda: next(ids))
    app = make_app(
        ROOT / "protocols", database, tmp_path / ("fast" if shortcut else "slow"), answer_shortcut=shortcut
    )
    try:
        now = FixedClock(START).now()
        secrets = {
            role: create_token(app.state.db, role, f"{role}-1", now) for role in ("call", "review", "admin")
        }
        with TestClient(app, follow_redirects=False) as client:
            seen = _exchange(client, secrets)
        with app.state.db.engine.connect() as conn:
            stored = [
                tuple(row)
                for row in conn.execute(
                    select(
                        answer_events.c.call_id,
                        answer_events.c.seq,
                        answer_events.c.kind,
                        answer_events.c.payload,
                    ).order_by(answer_events.c.call_id, answer_events.c.seq)
                )
            ]
        return seen, stored
    finally:
        app.state.db.dispose()


def test_the_answer_route_answers_as_the_fastapi_route_does(
    two_databases: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast_db, slow_db = two_databases
    fast, fast_stored = _run(fast_db, tmp_path, True, monkeypatch)
    slow, slow_stored = _run(slow_db, tmp_path, False, monkeypatch)
    assert len(fast) == len(slow) > 90
    for got, expected in zip(fast, slow, strict=True):
        assert got == expected
    statuses = {item[1] for item in fast if len(item) == 4}
    assert {200, 307, 400, 401, 403, 404, 405, 409, 422} <= statuses, statuses  # every kind was reached
    assert any(("idempotent-replayed", "true") in item[2] for item in fast if len(item) == 4)
    assert fast_stored == slow_stored and len(fast_stored) > 5


def _count_calls(route: Any) -> list[str]:
    """The paths of the requests the router hands ``route`` from now on."""
    called: list[str] = []
    served = route.app  # what the router calls for the route: FastAPI's request handler

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        called.append(scope["path"])
        await served(scope, receive, send)

    route.app = counting
    return called


def test_the_answer_route_is_served_below_fastapi(database: str, tmp_path: Path) -> None:
    """With the shortcut, FastAPI's route for the answers is never called (the layer
    answers it); without it, it is."""
    for shortcut in (True, False):
        app = make_app(ROOT / "protocols", database, tmp_path / str(shortcut), answer_shortcut=shortcut)
        try:
            secret = create_token(app.state.db, "call", "c", FixedClock(START).now())
            route = next(r for r in app.routes if getattr(r, "path", "") == ANSWERS.format("{call_id}"))
            called = _count_calls(route)
            with TestClient(app) as client:
                call = client.post("/v1/calls", json={"protocols": [CHEST]}, headers=bearer(secret)).json()
                question = call["next_question"]["id"]
                r = client.post(
                    ANSWERS.format(call["id"]),
                    json={"answers": {question: CHEST_EMERGENCY[question]}},
                    headers=bearer(secret),
                )
                assert r.status_code == 200, r.text
            assert called == ([] if shortcut else [ANSWERS.format(call["id"])])
        finally:
            app.state.db.dispose()
