"""The on-call roster in the service: who a call's next notification reaches, and the
coverage gaps a reviewer needs to see.

``triage serve --roster FILE --contacts FILE`` loads a
:class:`~triage_dsl.roster.directory.Directory`. Each ``paged`` escalation event is
resolved when it arrives (the holder at that minute, the channel and the contact) and
the resolution is stored with the event, so the record rebuilt on any process names the
same person even after the roster file changes. Without a roster these routes answer 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from triage_dsl.model.result import StepResolution
from triage_dsl.record.escalation import escalation_next
from triage_dsl.roster.directory import Directory
from triage_dsl.roster.times import TimeTextError, parse_instant
from triage_dsl.service.auth import Reader, require
from triage_dsl.service.models import RETRY_LATER, ErrorOut
from triage_dsl.service.state import CallState
from triage_dsl.store.tokens import TokenHolder

Reviewer = Annotated[TokenHolder, Depends(require(("review", "admin")))]
MAX_WINDOW = timedelta(days=366)
ROSTER_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "a time that names no single instant, or a window too long"},
    401: {"model": ErrorOut, "description": "no valid bearer token"},
    403: {"model": ErrorOut, "description": "the token's role may not do this"},
    404: {"model": ErrorOut, "description": "no such call"},
    422: {"model": ErrorOut, "description": "the request does not follow this document"},
    501: {
        "model": ErrorOut,
        "description": "no roster is loaded (triage serve --roster FILE --contacts FILE)",
    },
    503: RETRY_LATER,
}


def _directory(request: Request) -> Directory:
    found: Directory | None = getattr(request.app.state, "directory", None)
    if found is None:
        raise HTTPException(404, "no roster is loaded: start the service with --roster FILE --contacts FILE")
    return found


def resolve_paged(
    directory: Directory | None, state: CallState, payload: dict[str, Any], now: datetime
) -> None:
    """Add to a ``paged`` event's payload who its notification is for (stored with it)."""
    if directory is None or payload.get("kind") != "paged":
        return
    part = state.part_for(payload.get("protocol"))
    nxt = escalation_next(part.record) if part.record is not None else None
    if nxt is not None and nxt.kind == "notify" and nxt.role and nxt.channel:
        payload["resolved"] = directory.resolve(nxt.role, nxt.channel, now).model_dump(mode="json")


def _instant(text: str | None, directory: Directory, default: datetime) -> datetime:
    if text is None:
        return default
    return parse_instant(text, directory.roster.zone)  # TimeTextError: 400 with the reason


def router() -> APIRouter:
    api = APIRouter(tags=["roster"])

    @api.get(
        "/v1/calls/{call_id}/escalation/who",
        responses=ROSTER_ERRORS,
        summary="who the next notification reaches now",
    )
    def call_who(call_id: str, request: Request, who: Reader) -> list[StepResolution]:
        directory = _directory(request)
        service = request.app.state.calls
        now = service.now()
        steps = service.read(call_id, lambda state: [item["next"] for item in state.escalation_next()])
        return [
            directory.resolve(step.role, step.channel, now)
            for step in steps
            if step.kind == "notify" and step.role and step.channel
        ]

    @api.get("/v1/roster/who", responses=ROSTER_ERRORS, summary="who holds a role, and the backups")
    def roster_who(
        request: Request, who: Reader, role: Annotated[str, Query(max_length=200)], at: str | None = None
    ) -> dict[str, Any]:
        from triage_dsl.roster.resolve import chain

        directory = _directory(request)
        when = _instant(at, directory, request.app.state.calls.now())
        holders = chain(directory.roster, role, when, directory.contacts)
        return {
            "role": role,
            "at": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "chain": [
                {"rank": h.rank, "person": h.person, "priority": h.priority, "shift": h.shift.uid}
                for h in holders
            ],
        }

    @api.get(
        "/v1/roster/gaps", responses=ROSTER_ERRORS, summary="coverage gaps of the roles the plans notify"
    )
    def roster_gaps(
        request: Request,
        who: Reviewer,
        start: Annotated[str | None, Query(alias="from")] = None,
        end: Annotated[str | None, Query(alias="to")] = None,
    ) -> dict[str, Any]:
        from triage_dsl.graph.plan import escalation_roles
        from triage_dsl.roster.coverage import check, needs_of, report_json

        directory = _directory(request)
        now = request.app.state.calls.now()
        begin = _instant(start, directory, now)
        finish = _instant(end, directory, begin + timedelta(days=7))
        if not begin < finish <= begin + MAX_WINDOW:
            raise TimeTextError("'to' must come after 'from', at most 366 days later")
        protocols = [loaded.protocol for loaded in request.app.state.catalog.current()]
        needs = needs_of((p.id, escalation_roles(p.plan)) for p in protocols)
        report = check(directory.roster, needs, begin, finish, directory.contacts)
        # the file's name only: a reviewer needs to know which roster, not the server's folders
        return report_json(report, PurePath(directory.roster.path).name, directory.roster.zone)

    return api
