"""The FastAPI application: routes turn HTTP into calls of the call service and the
facade (sessions, records, notes); no protocol logic here.

``create_app(protocol_dir, database_url, clock=...)`` builds it; ``triage serve`` runs it
on uvicorn (``app_from_env`` is the factory its worker processes use).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from triage_dsl.clock import SYSTEM_CLOCK, Clock
from triage_dsl.errors import RecordError, SessionError, TriageError
from triage_dsl.explain.note import render_note
from triage_dsl.io.heap import settle_heap
from triage_dsl.record.escalation import EscalationError
from triage_dsl.record.keys import RecordKey, load_key
from triage_dsl.roster.directory import Directory
from triage_dsl.service import page, roster, shortcut, views
from triage_dsl.service.auth import AuthError, Operator, Overrider, Reader, Runner
from triage_dsl.service.bodies import StrictBodies
from triage_dsl.service.calls import (
    CACHE_SIZE,
    Busy,
    CallNotFound,
    CallService,
    Change,
    InvalidAnswers,
)
from triage_dsl.service.catalog import Catalog, UnknownProtocol
from triage_dsl.service.idempotency import (
    REPLAYED,
    IdempotencyKey,
    InvalidKey,
    KeyReused,
    request_key,
    start_scope,
)
from triage_dsl.service.metrics import Measure, Metrics
from triage_dsl.service.models import (
    NOT_JSON,
    RETRY_LATER,
    AnswersIn,
    CallOut,
    ErrorItem,
    ErrorOut,
    EscalationIn,
    OverrideIn,
    ProtocolList,
    RetractIn,
    StartCall,
)
from triage_dsl.service.shared import SharedRead
from triage_dsl.service.state import CallState, Refused
from triage_dsl.store import StoreError, open_database
from triage_dsl.store.audit import write_audit
from triage_dsl.store.calls import latest_record, store_counts
from triage_dsl.store.database import data_dir
from triage_dsl.store.tokens import TokenCache, TokenHolder
from triage_dsl.version import __version__

log = logging.getLogger("triage_dsl.service")

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorOut,
        "description": "the request cannot be read or acted on (e.g. a body that is not JSON)",
    },
    401: {"model": ErrorOut, "description": "no valid bearer token"},
    403: {"model": ErrorOut, "description": "the token's role may not do this"},
    413: {"model": ErrorOut, "description": "the body is larger than 1,000,000 bytes (nothing is stored)"},
    422: {
        "model": ErrorOut,
        "description": "the request does not follow this document (each error names the field)",
    },
    503: RETRY_LATER,
}
CALL_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: {"model": ErrorOut, "description": "no such call"},
    409: {"model": ErrorOut, "description": "the call's state does not allow it (sealed, closed, ...)"},
}
# Every POST: a body is read only when it is said to be JSON (service/bodies.py).
POST_ERRORS: dict[int | str, dict[str, Any]] = {**CALL_ERRORS, 415: NOT_JSON}
FHIR_JSON = "application/fhir+json"
# Every POST's success response: a request sent again with its Idempotency-Key says so.
REPLAYED_HEADER = {
    REPLAYED: {
        "description": "`true` when this request was sent before with the same `Idempotency-Key` and "
        "stored then: nothing was applied again, the body is the call as it is now (absent otherwise)",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
RECORD = {"description": "the sealed record (the JSON of `triage eval`; a call record for several protocols)"}

V = TypeVar("V")  # a response made of a call under its lock (CallService.read)


def _replayable(status: int) -> dict[int | str, dict[str, Any]]:
    """The success response of a POST, with the header a replay carries."""
    return {status: {"headers": REPLAYED_HEADER}}


def _json_errors(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """The error responses of a route that answers text: documented as the JSON they are
    (with a ``model``, FastAPI would document them in the route's text media type)."""
    body = {"schema": {"$ref": "#/components/schemas/ErrorOut"}}
    return {
        code: {
            "description": r.get("description", "error"),
            "content": {"application/json": body},
            **({"headers": r["headers"]} if "headers" in r else {}),
        }
        for code, r in responses.items()
    }


def _error(status: int, code: str, message: str, items: list[ErrorItem] | None = None) -> JSONResponse:
    body = ErrorOut(error=code, message=message, errors=items or [])
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


RETRY_AFTER_SECONDS = 1


def _retry_later(response: JSONResponse) -> JSONResponse:
    """A 503 the client may send again: when (RFC 9110 ``Retry-After``, in seconds)."""
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def create_app(
    protocol_dir: str | os.PathLike[str],
    database_url: str | None = None,
    clock: Clock | None = None,
    *,
    data_folder: str | os.PathLike[str] | None = None,
    key: RecordKey | None = None,
    key_file: str | None = None,
    rescan_seconds: float = 2.0,
    directory: Directory | None = None,
    sqlite_synchronous: str | None = None,
    cache_size: int = CACHE_SIZE,
    answer_shortcut: bool = True,
) -> FastAPI:
    """The service over the protocols in ``protocol_dir`` and the database at
    ``database_url`` (default: SQLite in the data folder), migrated to head on start.
    ``key`` (or ``key_file``, else the environment as for ``triage eval``) keys the seals;
    ``directory`` (an on-call roster and contacts) resolves escalation roles to people;
    ``sqlite_synchronous`` is ``full`` (default) or ``normal`` (docs/service.md, Durability);
    ``cache_size`` open calls are kept in memory, and the 64 closed most recently (0: every
    request rebuilds its call from the log);
    ``answer_shortcut`` False serves the answers through the FastAPI route rather than
    below it (the same bytes, more CPU: :mod:`triage_dsl.service.shortcut`)."""
    clock = clock or SYSTEM_CLOCK
    folder = data_dir(data_folder)
    db = open_database(database_url, folder, sqlite_synchronous)
    key = key if key is not None else load_key(key_file)
    catalog = Catalog(protocol_dir, db, folder, clock.now, rescan_seconds)
    metrics = Metrics()
    service = CallService(
        db, catalog, clock, key, lambda: metrics.count("triage_conflicts_total"), cache_size=cache_size
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settle_heap()
        yield
        db.dispose()  # the pool's connections and those kept outside it (tokens, writer)

    app = FastAPI(
        lifespan=lifespan,
        title="triage-dsl",
        version=__version__,
        description="Telephone-triage protocols as a service: calls, answers, sealed records. "
        "Every answer is stored before the response. See docs/service.md.",
    )
    app.state.db = db
    app.state.catalog = catalog
    app.state.calls = service
    app.state.metrics = metrics
    app.state.directory = directory
    app.state.tokens = tokens = TokenCache(db)  # the tokens this process has seen, while none is revoked
    app.state.token_generation = SharedRead(tokens.generation, in_thread=tokens.remote)
    app.state.token_touched = {}  # token id -> when this process last stored its use
    app.include_router(page.router)
    app.include_router(roster.router())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        items = [
            ErrorItem(
                code=str(e.get("type", "invalid")),
                message=f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg', '')}",
            )
            for e in exc.errors()
        ]
        return _error(422, "invalid_request", "the request does not follow the API's schema", items)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        response = _error(exc.status_code, code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(TriageError)
    async def triage_error(request: Request, exc: TriageError) -> JSONResponse:
        if isinstance(exc, AuthError):
            response = _error(exc.status, "unauthorized" if exc.status == 401 else "forbidden", str(exc))
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if isinstance(exc, InvalidAnswers):
            items = [
                ErrorItem(question=p.question, code=p.code or "invalid", message=str(p)) for p in exc.problems
            ]
            return _error(422, "invalid_answer", "invalid answer(s): nothing was stored", items)
        if isinstance(exc, views.NotAvailable):
            return _error(501, "not_implemented", str(exc))
        if isinstance(exc, CallNotFound | UnknownProtocol):
            return _error(404, "not_found", str(exc))
        if isinstance(exc, Refused):
            return _error(422, "refused", str(exc))
        if isinstance(exc, KeyReused):
            return _error(422, "idempotency_key_reused", str(exc))
        if isinstance(exc, InvalidKey):
            return _error(400, "invalid_idempotency_key", str(exc))
        if isinstance(exc, SessionError | EscalationError | RecordError):
            return _error(409, "conflict", str(exc))
        if isinstance(exc, Busy):
            log.warning("%s", exc)
            return _retry_later(_error(503, "busy", str(exc)))
        if isinstance(exc, StoreError):
            log.error("database error: %s", type(exc).__name__)
            return _retry_later(
                _error(503, "unavailable", "the database is not available; nothing was stored")
            )
        return _error(400, "bad_request", str(exc))

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> JSONResponse:
        # SQLite locked beyond busy_timeout, a PostgreSQL connection lost or a transaction
        # it cancelled: the transaction was rolled back; the request may be sent again
        log.error("database error on %s %s: %s", request.method, request.url.path, str(exc.orig)[:200])
        message = (
            "the database is busy or not available: the request may not have been stored; "
            "send it again (with the same Idempotency-Key it is applied once)"
        )
        return _retry_later(_error(503, "unavailable", message))

    # ------------------------------------------------------------------ health, metrics
    @app.get("/healthz", tags=["operations"], summary="liveness (no token needed)")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=PlainTextResponse,
        responses=_json_errors(ERRORS),
        summary="Prometheus text format",
    )
    def metrics_text(who: Operator) -> str:
        return metrics.render(store_counts(db))

    # ------------------------------------------------------------------ protocols
    @app.get("/v1/protocols", tags=["protocols"], responses=ERRORS)
    def protocols(who: Reader) -> ProtocolList:
        return views.protocol_list(catalog)

    @app.get(
        "/v1/protocols/{protocol_id}/questionnaire",
        tags=["protocols"],
        responses={
            **ERRORS,
            200: {"content": {FHIR_JSON: {}}, "description": "a FHIR R4 Questionnaire"},
            404: {"model": ErrorOut},
            501: {"model": ErrorOut},
        },
        summary="the protocol as a FHIR R4 Questionnaire",
    )
    def questionnaire(protocol_id: str, who: Reader) -> Response:
        return Response(views.questionnaire(catalog.get(protocol_id).protocol), media_type=FHIR_JSON)

    # ------------------------------------------------------------------ calls
    # Every POST takes an Idempotency-Key: a request sent again with its key is answered
    # with the call as it is now (``Idempotent-Replayed: true``) and applies nothing twice.
    def change(
        call_id: str,
        who: TokenHolder,
        make: Callable[[CallState], list[Change]],
        key: str | None,
        request: Request,
        response: Response,
        body: BaseModel | None,
        view: Callable[[CallState], V],
        audit: str | None = None,
    ) -> tuple[V, bool]:
        """``view`` of the call once ``make``'s events are stored (with an ``audit`` row of
        that action, in their transaction), and whether the request was a replay (then
        marked on the response: ``response``, or ``view``'s own when it makes one, which
        FastAPI sends as it is)."""
        once = request_key(key, request, body, call_id)
        out, replayed = service.change_or_replay(call_id, make, who, once, view, audit)
        if replayed:
            (out if isinstance(out, Response) else response).headers[REPLAYED] = "true"
            metrics.count("triage_replays_total")
        return out, replayed

    @app.post(
        "/v1/calls",
        status_code=201,
        tags=["calls"],
        responses={**ERRORS, 404: {"model": ErrorOut}, 415: NOT_JSON, **_replayable(201)},
    )
    async def start_call(
        body: StartCall, who: Runner, key: IdempotencyKey, request: Request, response: Response
    ) -> CallOut:
        once = request_key(key, request, body, start_scope(who))
        out, replayed = await service.start_or_replay_async(
            body.protocols, body.caller, who, once, views.call_out
        )
        if replayed:
            response.headers[REPLAYED] = "true"
            metrics.count("triage_replays_total")
        else:
            metrics.count("triage_calls_started_total")
        return out

    @app.get("/v1/calls/{call_id}", tags=["calls"], responses=CALL_ERRORS)
    def get_call(call_id: str, who: Reader) -> CallOut:
        out = service.read(call_id, views.call_out)
        write_audit(db, service.now(), who, "read_call", call_id)
        return out

    @app.post(
        "/v1/calls/{call_id}/answers",
        tags=["calls"],
        responses={
            **POST_ERRORS,
            422: {"model": ErrorOut, "description": "an invalid answer; nothing stored"},
            **_replayable(200),
        },
    )
    async def answer(
        call_id: str, body: AnswersIn, who: Runner, key: IdempotencyKey, request: Request, response: Response
    ) -> CallOut:
        # served by the AnswerRoute layer (below) unless it is switched off; declared
        # here for the OpenAPI document, and to compare
        out, replayed = await answer_call(call_id, body, who, key, request, views.call_out)
        if replayed:
            response.headers[REPLAYED] = "true"
        assert isinstance(out, CallOut)
        return out

    async def answer_call(
        call_id: str,
        body: AnswersIn,
        who: TokenHolder,
        key: str | None,
        request: Request,
        view: Callable[[CallState], CallOut | bytes],
    ) -> tuple[CallOut | bytes, bool]:
        """The answers stored (or the request found to be sent again): ``view`` of the
        call (:func:`views.call_out`, or the answer route's :class:`views.CallBytes`), and
        whether it was a replay. The hot path, on the event loop: the interpreter's step
        and the group commit awaited (no thread held); what needs the log goes on in a
        worker thread."""
        once = request_key(key, request, body, call_id)
        out, replayed = await service.change_or_replay_async(
            call_id, lambda s: views.answer_events(body), who, once, view
        )
        if replayed:
            metrics.count("triage_replays_total")
        else:
            metrics.count("triage_answers_stored_total", len(body.answers))
        return out, replayed

    @app.post("/v1/calls/{call_id}/retract", tags=["calls"], responses={**POST_ERRORS, **_replayable(200)})
    def retract(
        call_id: str, body: RetractIn, who: Runner, key: IdempotencyKey, request: Request, response: Response
    ) -> CallOut:
        payload = {"question": body.question, "reason": body.reason}
        return change(
            call_id, who, lambda s: [("retract", payload)], key, request, response, body, views.call_out
        )[0]

    @app.post(
        "/v1/calls/{call_id}/override",
        tags=["calls"],
        responses={
            **POST_ERRORS,
            422: {"model": ErrorOut, "description": "the override is refused"},
            **_replayable(200),
        },
    )
    def override(
        call_id: str,
        body: OverrideIn,
        who: Overrider,
        key: IdempotencyKey,
        request: Request,
        response: Response,
    ) -> CallOut:
        return change(
            call_id,
            who,
            lambda s: views.override_events(s, body),
            key,
            request,
            response,
            body,
            views.call_out,
        )[0]

    @app.post(
        "/v1/calls/{call_id}/escalation/events", tags=["calls"], responses={**POST_ERRORS, **_replayable(200)}
    )
    def escalation(
        call_id: str,
        body: EscalationIn,
        who: Runner,
        key: IdempotencyKey,
        request: Request,
        response: Response,
    ) -> CallOut:
        payload = body.model_dump(exclude_none=True)

        def events(s: CallState) -> list[Change]:
            roster.resolve_paged(directory, s, payload, service.now())
            return [("escalation", payload)]

        return change(call_id, who, events, key, request, response, body, views.call_out)[0]

    @app.post(
        "/v1/calls/{call_id}/close",
        tags=["calls"],
        responses={**POST_ERRORS, 200: {**RECORD, "headers": REPLAYED_HEADER}},
    )
    async def close(call_id: str, who: Runner, key: IdempotencyKey, request: Request) -> Response:
        # on the event loop as the answers are: the record just sealed is sent as stored,
        # without reading it back; anything that needs the log goes on in a worker thread
        once = request_key(key, request, None, call_id)
        answered, replayed = await service.change_or_replay_async(
            call_id,
            views.close_events,
            who,
            once,
            lambda s: record_response(call_id, s),
            audit="close",  # stored with the close: one transaction, never one without the other
        )
        if replayed:
            # the record handed out again, perhaps to another token sending the same key:
            # audited as every read of it is
            await run_in_threadpool(write_audit, db, service.now(), who, "close_replayed", call_id)
            answered.headers[REPLAYED] = "true"
            metrics.count("triage_replays_total")
        else:
            metrics.count("triage_calls_closed_total")
        return answered

    def audited(who: TokenHolder, action: str, view: Callable[[CallState], V]) -> Callable[[CallState], V]:
        """``view``, with the read written to the audit table first (also when the view then
        refuses, e.g. no record yet: the attempt to read is audited)."""

        def read(state: CallState) -> V:
            write_audit(db, service.now(), who, action, state.call_id)
            return view(state)

        return read

    def record_response(call_id: str, state: CallState) -> Response:
        if state.closed:
            if state.stored_record is not None and state.stored_record[0] == state.seq:
                return Response(state.stored_record[1], media_type="application/json")  # as just stored
            stored = latest_record(db, call_id)
            if stored is not None and stored[0] == state.seq:
                return Response(stored[2], media_type="application/json")
        record = state.record()
        if record is None:
            raise SessionError("no record yet: the call still needs answers (close it to seal what was said)")
        return Response(record.model_dump_json(indent=2) + "\n", media_type="application/json")

    @app.get("/v1/calls/{call_id}/record", tags=["records"], responses={**CALL_ERRORS, 200: RECORD})
    def get_record(call_id: str, who: Reader) -> Response:
        return service.read(call_id, audited(who, "read_record", lambda s: record_response(call_id, s)))

    @app.get(
        "/v1/calls/{call_id}/note",
        tags=["records"],
        response_class=PlainTextResponse,
        responses=_json_errors(CALL_ERRORS),
        summary="the triage note (plain text or Markdown)",
    )
    def note(call_id: str, who: Reader, format: Literal["text", "markdown"] = "text") -> str:
        def text(state: CallState) -> str:
            return "\n\n".join(render_note(r, markdown=format == "markdown") for r in state.results())

        return service.read(call_id, audited(who, "read_note", text))

    @app.get(
        "/v1/calls/{call_id}/fhir",
        tags=["records"],
        responses={
            **CALL_ERRORS,
            200: {"content": {FHIR_JSON: {}}, "description": "a FHIR R4 transaction Bundle"},
            409: {"model": ErrorOut, "description": "the call is still open: close it first"},
            501: {"model": ErrorOut},
        },
        summary="the closed call as a FHIR R4 transaction Bundle (409 while the call is open)",
    )
    def fhir(call_id: str, who: Reader) -> Response:
        def bundle(state: CallState) -> Response:
            return Response(views.fhir_bundle(state), media_type=FHIR_JSON)

        return service.read(call_id, audited(who, "read_fhir", bundle))

    answer_route = next(
        r
        for r in app.routes
        if isinstance(r, APIRoute) and r.path == shortcut.PATH and "POST" in (r.methods or ())
    )
    app.add_middleware(
        shortcut.AnswerRoute,
        answer=answer_call,
        route=answer_route,
        handlers=app.exception_handlers,
        enabled=answer_shortcut,
    )
    app.add_middleware(StrictBodies)  # outside the answer route, so its bodies are read strictly too
    app.add_middleware(Measure, metrics=metrics)  # outside both: refused bodies are counted too
    return app


def app_from_env() -> FastAPI:
    """The factory ``triage serve`` hands uvicorn (its settings in TRIAGE_SERVE_* variables)."""
    return create_app(
        Path(os.environ["TRIAGE_SERVE_PROTOCOLS"]),
        os.environ.get("TRIAGE_SERVE_DATABASE") or None,
        data_folder=os.environ.get("TRIAGE_SERVE_DATA") or None,
        key_file=os.environ.get("TRIAGE_SERVE_KEY_FILE") or None,
        rescan_seconds=float(os.environ.get("TRIAGE_SERVE_RESCAN", "2")),
        directory=_directory_from_env(),
        answer_shortcut=os.environ.get("TRIAGE_SERVE_SHORTCUT", "1") != "0",
    )


def _directory_from_env() -> Directory | None:
    roster_file = os.environ.get("TRIAGE_SERVE_ROSTER")
    if not roster_file:
        return None
    return Directory.load(
        roster_file, os.environ["TRIAGE_SERVE_CONTACTS"], os.environ.get("TRIAGE_SERVE_TZ") or None
    )
