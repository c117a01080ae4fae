"""Request bodies: read as strictly as an answers file, and bounded (service/bodies.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from service_helpers import CHEST_EMERGENCY, bearer, events, start

from triage_dsl.service.bodies import DRAIN_BYTES, MAX_BODY_BYTES, StrictBodies


def post(client: TestClient, path: str, body: bytes, token: str) -> Any:
    headers = {**bearer(token), "Content-Type": "application/json"}
    return client.post(path, content=body, headers=headers)


# Bodies Python's own reader accepts, each losing or bending what the caller's software sent.
NOT_STRICT = [
    (b'{"answers": {"unconscious": false, "unconscious": true}}', "given twice", (1, 36)),
    (b'{"answers": {"unconscious": false,\n "chest_pain": NaN}}', "NaN", (2, 16)),
    (b'{"answers": {"unconscious": Infinity}}', "Infinity", (1, 29)),
    (b'{"answers": {"unconscious": 1e999}}', "too large (the largest accepted is about 1.8e308)", (1, 29)),
    (b'{"answers": {"unconscious": 1e400}}', "write the value as measured, e.g. 18", (1, 29)),
    (b'{"answers": {"unconscious": "\\ud800"}}', "surrogate", None),
    (b'{"answers": {"unconscious": "\xff"}}', "UTF-8", None),
    (b"[" * 100 + b"]" * 100, "nested more than 64 deep", (1, 65)),
]


@pytest.mark.parametrize(("body", "problem", "where"), NOT_STRICT)
def test_a_body_that_is_not_strict_json_is_400_naming_the_place_and_nothing_is_stored(
    app: Any,
    client: TestClient,
    tokens: dict[str, str],
    body: bytes,
    problem: str,
    where: tuple[int, int] | None,
) -> None:
    call = start(client, tokens["call"])
    r = post(client, f"/v1/calls/{call['id']}/answers", body, tokens["call"])
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["error"] == "invalid_json" and problem in error["message"], error
    if where is not None:
        assert f"line {where[0]}, column {where[1]}" in error["message"]
    assert "nothing was stored" in error["message"]
    assert events(app, call["id"]) == 0
    assert client.get(f"/v1/calls/{call['id']}", headers=bearer(tokens["call"])).json() == call


def test_a_body_over_the_limit_is_413_before_it_is_read(
    app: Any, client: TestClient, tokens: dict[str, str]
) -> None:
    call = start(client, tokens["call"])
    padding = " " * MAX_BODY_BYTES  # valid JSON, only too large
    body = b'{"answers": {"unconscious": false}' + padding.encode() + b"}"
    r = post(client, f"/v1/calls/{call['id']}/answers", body, tokens["call"])
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large" and "1,000,000 bytes" in r.json()["message"]
    assert events(app, call["id"]) == 0


def test_a_strict_body_at_the_limit_goes_through(
    app: Any, client: TestClient, tokens: dict[str, str]
) -> None:
    call = start(client, tokens["call"])
    head = b'{"answers": {"unconscious": false}'
    body = head + b" " * (MAX_BODY_BYTES - len(head) - 1) + b"}"
    assert len(body) == MAX_BODY_BYTES
    r = post(client, f"/v1/calls/{call['id']}/answers", body, tokens["call"])
    assert r.status_code == 200, r.text
    assert events(app, call["id"]) == 1


# A JSON body is read only when the request says it is JSON: form data or text is never
# guessed at (415, naming application/json); the JSON types FastAPI reads are accepted.
MEDIA_TYPES = [
    ("text/plain", 415, "got 'text/plain'"),
    ("text/plain; charset=utf-8", 415, "got 'text/plain; charset=utf-8'"),
    ("application/x-www-form-urlencoded", 415, "got 'application/x-www-form-urlencoded'"),
    ("multipart/form-data; boundary=x", 415, "got 'multipart/form-data; boundary=x'"),
    ("application/jsonx", 415, "got 'application/jsonx'"),
    (None, 415, "no Content-Type was given"),
    ("application/json", 200, None),
    ("Application/JSON; charset=utf-8", 200, None),
    ("application/merge-patch+json", 200, None),
]


@pytest.mark.parametrize(("content_type", "status", "words"), MEDIA_TYPES)
@pytest.mark.parametrize("route", ["start", "answers", "retract"])
def test_a_body_not_sent_as_json_is_415_naming_application_json_and_nothing_is_stored(
    app: Any,
    client: TestClient,
    tokens: dict[str, str],
    route: str,
    content_type: str | None,
    status: int,
    words: str | None,
) -> None:
    call = start(client, tokens["call"])
    first = call["next_question"]["id"]
    path, body = {
        "start": ("/v1/calls", {"protocols": ["chest_pain_adult"]}),
        "answers": (f"/v1/calls/{call['id']}/answers", {"answers": {first: CHEST_EMERGENCY[first]}}),
        "retract": (f"/v1/calls/{call['id']}/retract", {"question": first, "reason": "misheard"}),
    }[route]
    headers = {**bearer(tokens["call"]), **({"Content-Type": content_type} if content_type else {})}
    r = client.post(path, content=json.dumps(body).encode(), headers=headers)
    if route == "retract" and status == 200:
        status = 409  # read as JSON: then refused by the call (nothing answered to retract)
    if route == "start" and status == 200:
        status = 201
    assert r.status_code == status, r.text
    if words is not None:
        assert r.json() == {
            "error": "unsupported_media_type",
            "message": "the request body must be JSON sent with 'Content-Type: application/json' "
            f"({words}); nothing was stored",
            "errors": [],
        }
        assert events(app, call["id"]) == 0


def test_a_request_without_a_body_needs_no_content_type(client: TestClient, tokens: dict[str, str]) -> None:
    call = start(client, tokens["call"])
    r = client.post(f"/v1/calls/{call['id']}/close", headers=bearer(tokens["call"]))
    assert r.status_code == 200, r.text


def test_the_documented_error_shapes_include_413(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "413" in paths["/v1/calls/{call_id}/answers"]["post"]["responses"]


# ------------------------------------------------------- the middleware alone, streamed bodies
async def _run(middleware: StrictBodies, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> Any:
    """Drive the middleware as a server does: the body in ``chunks``; what the application
    received and what was sent back."""
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    pulled: list[int] = []

    async def receive() -> dict[str, Any]:
        pulled.append(1)
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers, "query_string": b""}
    await middleware(scope, receive, send)
    return sent, len(pulled)


def _echo() -> tuple[Any, list[bytes]]:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        seen.append(message["body"])
        assert message["more_body"] is False
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app, seen


def test_a_streamed_body_is_joined_and_handed_on_once() -> None:
    app, seen = _echo()
    json_type = [(b"content-type", b"application/json")]
    sent, _ = asyncio.run(_run(StrictBodies(app, limit=100), [b'{"a":', b" 1", b"}"], json_type))
    assert seen == [b'{"a": 1}'] and sent[0]["status"] == 200


def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit_and_the_rest_dropped() -> None:
    """Past the limit the body is no longer kept: the rest is read and dropped, so the
    413 reaches a client that is still sending (a connection closed with unread bytes is
    reset, and the response lost), and the connection stays usable."""
    app, seen = _echo()
    chunks = [b"[" + b" " * 40, b" " * 40, b" " * 40, b"]" * 1000]
    sent, pulled = asyncio.run(_run(StrictBodies(app, limit=100), chunks, []))
    assert seen == [] and sent[0]["status"] == 413 and pulled == 4
    assert json.loads(sent[1]["body"])["error"] == "too_large"
    assert (b"connection", b"close") not in sent[0]["headers"]


def test_a_declared_length_over_the_limit_is_refused_and_its_body_dropped() -> None:
    app, seen = _echo()
    sent, pulled = asyncio.run(_run(StrictBodies(app, limit=100), [b"{}"], [(b"content-length", b"101")]))
    assert seen == [] and sent[0]["status"] == 413 and pulled == 1


def test_a_body_too_large_to_drop_is_refused_unread_and_its_connection_closed() -> None:
    app, seen = _echo()
    huge = str(DRAIN_BYTES + 1).encode()
    sent, pulled = asyncio.run(_run(StrictBodies(app, limit=100), [b"{}"], [(b"content-length", huge)]))
    assert seen == [] and sent[0]["status"] == 413 and pulled == 0
    assert (b"connection", b"close") in sent[0]["headers"]
    # streamed past what is dropped: reading stops there too
    chunks = [b" " * (DRAIN_BYTES // 4)] * 6
    sent, pulled = asyncio.run(_run(StrictBodies(app, limit=100), chunks, []))
    assert sent[0]["status"] == 413 and pulled == 5 and (b"connection", b"close") in sent[0]["headers"]


def test_an_empty_body_passes_unread_by_the_json_reader() -> None:
    app, seen = _echo()
    sent, _ = asyncio.run(_run(StrictBodies(app, limit=100), [b""], []))
    assert seen == [b""] and sent[0]["status"] == 200
