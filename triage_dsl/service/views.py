"""From the call state to the API's bodies, and from requests to the events they add."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from triage_dsl.errors import SessionError, TriageError
from triage_dsl.model.result import QuestionInfo
from triage_dsl.protocol import Protocol
from triage_dsl.service.calls import Change
from triage_dsl.service.catalog import Catalog
from triage_dsl.service.models import (
    AnswersIn,
    CallOut,
    DispositionSummary,
    EscalationNext,
    OverrideIn,
    ProtocolList,
    ProtocolState,
    ProtocolSummary,
    Question,
)
from triage_dsl.service.state import CallState, Part, effective_disposition


class NotAvailable(TriageError):
    """A feature this installation does not have (501)."""


def protocol_list(catalog: Catalog) -> ProtocolList:
    return ProtocolList(
        protocols=[
            ProtocolSummary(
                id=item.protocol.id,
                title=item.protocol.title,
                version=item.protocol.version,
                status=item.protocol.status,
                content_sha256=item.protocol.content_sha256,
                version_id=item.version_id,
                dispositions=[
                    DispositionSummary(id=d.id, label=d.label, tier=d.tier.id, rank=d.tier.rank)
                    for d in item.protocol.plan.dispositions.values()
                ],
            )
            for item in catalog.current()
        ],
        problems={str(k): v for k, v in sorted(catalog.problems.items())},
    )


def _part_view(part: Part, sealed: bool) -> tuple[str, QuestionInfo | None, str | None]:
    """A protocol's status, next question and disposition. While the interview goes on
    they come from the session's incremental walk (no result is built: a result with its
    trace is built once the outcome is reached, and for the record)."""
    if part.record is None and not sealed and part.session.status == "needs_answers":
        return "needs_answers", part.session.next_question(), None  # no disposition before the outcome
    result = part.record or part.session.result()
    return result.status, result.next_question, effective_disposition(result)


def call_out(state: CallState) -> CallOut:
    views = [_part_view(part, state.sealed) for part in state.parts]
    statuses = {status for status, _, _ in views}
    status = "error" if "error" in statuses else "complete" if statuses == {"complete"} else "needs_answers"
    question = None
    for part, (_, next_question, _) in zip(state.parts, views, strict=True):
        if next_question is not None and not state.sealed:
            question = Question.of(part.protocol.id, next_question)
            break
    if state.sealed:
        result: Any = state.record()
    else:
        result = state.results()[0] if status == "complete" else None
    return CallOut(
        id=state.call_id,
        status=status,
        sealed=state.sealed,
        closed=state.closed,
        protocols=[
            ProtocolState(
                id=part.protocol.id,
                version=part.protocol.version,
                content_sha256=part.protocol.content_sha256,
                status=part_status,
                disposition=disposition,
            )
            for part, (part_status, _, disposition) in zip(state.parts, views, strict=True)
        ],
        next_question=question,
        result=result,
        escalation=[EscalationNext(protocol=e["protocol"], next=e["next"]) for e in state.escalation_next()],
    )


_PLAIN_ID = re.compile(r"[0-9A-Za-z-]+")  # a call id JSON writes as it is (the service's are UUIDs)
KEPT_RESPONSES = 4096


class CallBytes:
    """:func:`call_out` as the response's bytes (``serialize``: the route's own), kept
    for the state nearly every answer leaves: no protocol sealed or at its outcome, so
    the bytes depend only on the call's protocols, the question asked next, whether the
    call is closed, and the call's id. They are made once by :func:`call_out` and
    ``serialize`` for each of those (the id cut out), and the id put back per request;
    any other state is :func:`call_out` itself (the route serialises it)."""

    def __init__(self, serialize: Callable[[CallOut], bytes], size: int = KEPT_RESPONSES) -> None:
        self._serialize = serialize
        self._size = size
        # key -> (before the id, after the id, the objects the key names by identity:
        # kept alive, so their ids are not reused while the entry is)
        self._kept: dict[tuple[Any, ...], tuple[bytes, bytes, tuple[object, ...]]] = {}

    def __call__(self, state: CallState) -> CallOut | bytes:
        if state.sealed or not _PLAIN_ID.fullmatch(state.call_id):
            return call_out(state)
        asked: tuple[int, QuestionInfo] | None = None
        for n, part in enumerate(state.parts):
            if part.record is not None or part.session.status != "needs_answers":
                return call_out(state)
            if asked is None:
                question = part.session.next_question()
                if question is not None:
                    asked = (n, question)
        named: tuple[object, ...] = (*(part.protocol for part in state.parts), asked[1] if asked else None)
        key = (*(id(thing) for thing in named), asked[0] if asked else -1, state.closed)
        kept = self._kept.get(key)
        if kept is None:
            out = call_out(state)
            whole = self._serialize(out)
            quoted = b'"' + state.call_id.encode() + b'"'
            if whole.count(quoted) != 1:  # the id written elsewhere too: not kept
                return out
            before, _, after = whole.partition(quoted)
            if len(self._kept) >= self._size:
                self._kept.clear()
            self._kept[key] = kept = (before, after, named)
            return whole
        return b"".join((kept[0], b'"', state.call_id.encode(), b'"', kept[1]))


def answer_events(body: AnswersIn) -> list[Change]:
    return [
        ("answer", {"question": q, "value": v, **({"reason": body.reason} if body.reason else {})})
        for q, v in body.answers.items()
    ]


def override_events(state: CallState, body: OverrideIn) -> list[Change]:
    events: list[Change] = [] if state.sealed else [("seal", {})]
    return [*events, ("override", body.model_dump(exclude_none=True))]


def close_events(state: CallState) -> list[Change]:
    return [*([] if state.sealed else [("seal", {})]), ("close", {})]


def _fhir() -> Any:
    try:
        module = importlib.import_module("triage_dsl.fhir")
        module.to_json  # noqa: B018  (loads the FHIR models: fails when they are not installed)
    except ImportError:
        raise NotAvailable("FHIR export needs the fhir.resources package (pip install triage-dsl)") from None
    return module


def questionnaire(protocol: Protocol) -> str:
    """The protocol as a FHIR Questionnaire (JSON text)."""
    fhir = _fhir()
    return str(fhir.to_json(fhir.questionnaire(protocol)))


def fhir_bundle(state: CallState) -> str:
    """The closed call as a FHIR transaction Bundle (JSON text)."""
    if not state.closed:
        raise SessionError(
            f"call {state.call_id} is still open: close it first (POST /v1/calls/{state.call_id}/close); "
            "the FHIR Bundle carries the closed call's sealed record"
        )
    record = state.record()
    fhir = _fhir()
    protocol = state.parts[0].protocol if len(state.parts) == 1 else None
    return str(fhir.to_json(fhir.bundle(record, protocol)))
