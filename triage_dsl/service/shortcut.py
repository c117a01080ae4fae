"""The answer route served below FastAPI's per-request machinery.

``POST /v1/calls/{call_id}/answers`` is nearly every request of a call, and once the
interpreter and the store were made cheap, most of its time went to the framework:
Starlette's routing through every route, the exception and exit-stack layers, FastAPI's
dependency solving, and the response checked against its model once more. This ASGI
layer, inside the metrics and the strict-body layers (so a request is counted and its
body refused exactly as any other), answers that route itself with the same parts the
FastAPI route uses, in the same order:

1. the body read as FastAPI reads it (JSON only with a JSON ``Content-Type``; a body
   that cannot be read: 400), taken as the strict-body layer outside read and parsed it;
2. the bearer token (the ``call`` or ``admin`` role), checked by the same function as
   the route's dependency (401, 403);
3. the ``Idempotency-Key`` header, by the same function (400);
4. the body validated by the route's own model field (422 with FastAPI's errors);
5. the answer (:func:`AnswerRoute.answer`, which the FastAPI route calls too);
6. the response serialised by the route's own response field, the replay header after;
   for the state nearly every answer leaves (no outcome yet), its bytes are kept per
   protocols and next question and only the call's id is put in per request
   (:class:`~triage_dsl.service.views.CallBytes`, made by the same serialiser).

An error goes to the application's own exception handlers, so every refusal has the
bytes the FastAPI route gives (tests/service/test_service_shortcut.py sends the same
requests both ways and compares status, headers and bodies). The FastAPI route stays
declared: the OpenAPI document is unchanged, and ``TRIAGE_SERVE_SHORTCUT=0`` (or
``create_app(..., answer_shortcut=False)``) serves the answers through it, to compare.
"""

from __future__ import annotations

import email.message
import inspect
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from triage_dsl.service.auth import RUN, bearer, require
from triage_dsl.service.bodies import BODY, PARSED
from triage_dsl.service.idempotency import HEADER, REPLAYED, header_key
from triage_dsl.service.models import AnswersIn, CallOut
from triage_dsl.service.state import CallState
from triage_dsl.service.views import CallBytes
from triage_dsl.store.tokens import TokenHolder

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATH = "/v1/calls/{call_id}/answers"
_MATCH = re.compile(r"/v1/calls/([^/]+)/answers")  # Starlette's {name}: one segment, not empty
_HEADER = HEADER.lower()
_REPLAYED = (REPLAYED.lower().encode("latin-1"), b"true")
_NOTHING = object()  # no body (FastAPI's Undefined): the model reports it missing

# what the route does once its request is read: (call_id, body, who, key, request, view)
# -> the view of the call (its model, or its response's bytes) and whether the request
# was a replay
View = Callable[[CallState], CallOut | bytes]
Answer = Callable[
    [str, AnswersIn, TokenHolder, str | None, Request, View], Awaitable[tuple[CallOut | bytes, bool]]
]
Handler = Callable[..., Any]  # an exception handler: (request, exc) -> a response (or awaits one)


class AnswerRoute:
    """ASGI middleware: ``POST /v1/calls/{call_id}/answers`` answered here, every other
    request passed on. ``answer`` is what the FastAPI route calls too; ``route`` is that
    route (its body and response fields, and the route the metrics name)."""

    def __init__(
        self,
        app: Any,
        answer: Answer,
        route: APIRoute,
        handlers: dict[Any, Handler],
        enabled: bool = True,
    ) -> None:
        self.app = app
        self.answer = answer
        self.route = route
        self.handlers = handlers  # the application's, as Starlette keeps them
        self.enabled = enabled
        self._check = require(RUN)
        assert route.response_field is not None
        self._bytes = CallBytes(route.response_field.serialize_json)  # the route's own serialiser

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.enabled
            or scope["type"] != "http"
            or scope["method"] != "POST"
            or scope.get("root_path")
            or (found := _MATCH.fullmatch(scope["path"])) is None
        ):
            await self.app(scope, receive, send)
            return
        route = self.route
        scope["route"] = route  # as the router sets them: the metrics name the route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {"call_id": found[1]}
        request = Request(scope, receive)
        try:
            response = await self._serve(request, route, found[1])
        except Exception as exc:
            response = await self._handled(request, exc)
        await response(scope, receive, send)

    async def _serve(self, request: Request, route: APIRoute, call_id: str) -> Response:
        body = await _read_body(request)
        who = await self._check(request, await bearer(request))
        key = await header_key(request.headers.get(_HEADER))
        field = route.body_field
        assert field is not None
        if body is _NOTHING:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
            )
        value, errors = field.validate(body, {}, loc=("body",))
        if errors:
            raise RequestValidationError(errors, body=body)
        out, replayed = await self.answer(call_id, value, who, key, request, self._bytes)
        if not isinstance(out, bytes):
            assert route.response_field is not None
            out = route.response_field.serialize_json(out)
        response = Response(out, media_type="application/json")
        if replayed:
            response.headers.raw.append(_REPLAYED)
        return response

    async def _handled(self, request: Request, exc: Exception) -> Response:
        """The response the application's exception handlers make of ``exc`` (as
        Starlette picks them: by status for an HTTP error, else by the exception's
        classes); re-raised when none handles it (a 500, as for any route)."""
        handlers = self.handlers
        handler = handlers.get(exc.status_code) if isinstance(exc, HTTPException) else None
        if handler is None:
            handler = next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), None)
        if handler is None:
            raise exc
        response = handler(request, exc)
        if inspect.isawaitable(response):  # the service's are all async
            response = await response
        assert isinstance(response, Response)
        return response


async def _read_body(request: Request) -> Any:
    """The body as FastAPI's route reads it: JSON when the ``Content-Type`` says JSON,
    else the bytes (which the model then refuses); :data:`_NOTHING` when empty."""
    raw = request.scope.get(BODY)  # as the strict-body layer read it
    if raw is None:
        raw = await request.body()
    if not raw:
        return _NOTHING
    content_type = request.headers.get("content-type")
    if not content_type:
        return raw
    if content_type != "application/json":
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() != "application" or not (
            subtype == "json" or subtype.endswith("+json")
        ):
            return raw
    if PARSED in request.scope:  # the strict reader's value: Python's for any body it accepts
        return request.scope[PARSED]
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestValidationError([error], body=exc.doc) from exc
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
