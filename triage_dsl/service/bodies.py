"""Request bodies read as strictly as the command line reads its files.

Every body is evidence of what the caller said, so the service reads it through the same
reader as ``triage eval --answers`` (:mod:`triage_dsl.io.strict_json`) before any route
sees it: a key given twice in one object (``{"fever": true, "fever": false}``, where
Python's reader would silently keep the second answer and lose the first), ``NaN`` or
``Infinity``, nesting deeper than 64, invalid UTF-8 or lone surrogates are refused with
400 ``invalid_json`` and the place (line and column). A body larger than
:data:`MAX_BODY_BYTES` is refused with 413 ``too_large`` before it is read whole (by its
``Content-Length``, or as soon as the streamed bytes pass the limit), so a client cannot
make a worker hold an unbounded body in memory. The rest of a refused body is read and
dropped (up to :data:`DRAIN_BYTES`) before the 413 is sent: a connection closed with
bytes still unread is reset by the system, and the client, still sending, could lose
the 413 and send the request again. A body that is not declared JSON
(``Content-Type`` other than ``application/json`` or ``application/...+json``, or none)
is refused with 415 ``unsupported_media_type`` naming ``application/json``: form data or
text is never guessed at (a request without a body, as ``close``, needs no type).
Nothing is stored in any of these cases.

Plain ASGI (as :class:`triage_dsl.service.metrics.Measure`): the body, once read and
checked, is handed to the application as one message; later ``receive`` calls (a client
that disconnects) go to the server as before. The body and its value are also left in
the scope (:data:`BODY`, :data:`PARSED`), so the answer route does not read or parse
them again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import JSONResponse

from triage_dsl.io.files import InputError
from triage_dsl.io.strict_json import MAX_ANSWERS_BYTES, loads
from triage_dsl.service.models import ErrorOut

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY_BYTES = MAX_ANSWERS_BYTES
"""The largest request body accepted: the limit of an answers file (1,000,000 bytes)."""

DRAIN_BYTES = 16 * MAX_BODY_BYTES
"""How much of a refused body is read and dropped so that its 413 arrives; a larger one
is answered at once, and its connection closed."""

BODY = "triage.body"
"""The scope's key for the body as read here (the answer route takes it from there)."""
PARSED = "triage.json"
"""The scope's key for the body's value as the strict reader read it (a body that is not
empty): the same value Python's reader gives for any body the strict reader accepts."""


def error_body(code: str, message: str) -> dict[str, Any]:
    """The service's error shape, from its one model (:class:`ErrorOut`)."""
    return ErrorOut(error=code, message=message).model_dump(mode="json")


class StrictBodies:
    """ASGI middleware: refuse a request body that is too large (413) or not strict JSON
    (400), naming the problem; pass every other request on with its body unchanged."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            drained = declared <= DRAIN_BYTES and await _drain(receive, 0)
            await self._too_large(scope, receive, send, drained)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to answer
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                drained = not message.get("more_body", False) or await _drain(receive, size)
                await self._too_large(scope, receive, send, drained)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope[BODY] = body
        if body and not _declared_json(scope):
            await self._not_json(scope, receive, send)
            return
        if body:
            try:
                scope[PARSED] = loads(body, path="the request body")
            except InputError as exc:
                where = f" at line {exc.line}, column {exc.column}" if exc.line and exc.column else ""
                text = f"the request body is not strict JSON{where}: {exc.problem}; nothing was stored"
                response = JSONResponse(status_code=400, content=error_body("invalid_json", text))
                await response(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, drained: bool) -> None:
        message = f"the request body is larger than the limit of {self.limit:,} bytes; nothing was stored"
        response = JSONResponse(status_code=413, content=error_body("too_large", message))
        if not drained:
            response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)

    async def _not_json(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = _header(scope, b"content-type")
        got = f"got {given.decode('latin-1')[:80]!r}" if given is not None else "no Content-Type was given"
        message = (
            f"the request body must be JSON sent with 'Content-Type: application/json' ({got}); "
            "nothing was stored"
        )
        response = JSONResponse(status_code=415, content=error_body("unsupported_media_type", message))
        await response(scope, receive, send)


JSON_MEDIA_TYPE = "application/json"


def _declared_json(scope: Scope) -> bool:
    """Whether the request says its body is JSON: ``application/json`` or a ``+json`` type
    (``application/merge-patch+json``), parameters (``; charset=utf-8``) aside; the types
    FastAPI itself reads as JSON."""
    given = _header(scope, b"content-type")
    if given is None:
        return False
    kind = given.decode("latin-1").split(";", 1)[0].strip().lower()
    main, _, sub = kind.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value)
    return None


async def _drain(receive: Receive, size: int) -> bool:
    """Read and drop the rest of a body (``size`` bytes read so far) up to
    :data:`DRAIN_BYTES`; whether it was read to its end."""
    while size <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return False
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return True
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
