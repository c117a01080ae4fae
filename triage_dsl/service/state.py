"""A call rebuilt from its event log: one :class:`~triage_dsl.Session` per protocol, the
sealed records once sealed, overrides and escalation events appended to them.

Replaying the same events on the same protocol versions gives the same bytes (the
session's clock reads each event's stored time), so any process can rebuild any call.
Events: ``answer`` and ``retract`` (the interview), ``seal`` (the outcome is reached, or
the call is overridden or closed before it is), ``override``, ``escalation``, ``close``.
Applying an event that does not fit raises the library's error and changes nothing that
is kept: the caller throws the state away.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage_dsl.errors import AnswerError, RecordError, SessionError, TriageError
from triage_dsl.model.call import CallRecord
from triage_dsl.model.caller import CallInfo
from triage_dsl.model.result import StepResolution, TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.record import combine, escalate, escalation_next, override, seal
from triage_dsl.record.clock import FixedClock
from triage_dsl.record.keys import RecordKey
from triage_dsl.record.overrides import in_effect
from triage_dsl.runtime.answers import all_questions
from triage_dsl.runtime.session import Session
from triage_dsl.store.calls import StoredEvent


class Refused(TriageError):
    """A request the rules refuse (an override without a needed reason, an unknown disposition)."""


class EventClock:
    """The session's clock during a replay or an update: the time of the event applied."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class Part:
    """One protocol of the call."""

    version_id: int
    protocol: Protocol
    session: Session
    record: TriageResult | None = None
    questions: frozenset[str] = field(init=False, repr=False)  # every question it may ask

    def __post_init__(self) -> None:
        self.questions = frozenset(all_questions(self.protocol.plan))  # once, not on every answer


@dataclass
class CallState:
    call_id: str
    created_at: datetime
    caller: CallInfo | None
    parts: list[Part]
    key: RecordKey | None
    clock: EventClock
    seq: int = 0
    sealed_at: datetime | None = None
    closed_at: datetime | None = None
    last_at: datetime | None = None
    changed_record: bool = field(default=False, repr=False)
    # the record stored with the last change, as stored: (the seq it seals, its JSON);
    # a response for the call at that seq sends these bytes without reading them back
    stored_record: tuple[int, str] | None = field(default=None, repr=False)

    @classmethod
    def start(
        cls,
        call_id: str,
        created_at: datetime,
        caller: CallInfo | None,
        versions: list[tuple[int, Protocol]],
        key: RecordKey | None,
    ) -> CallState:
        clock = EventClock(created_at)
        parts = [
            Part(vid, protocol, Session(protocol, call=caller, clock=clock, now=created_at))
            for vid, protocol in versions
        ]
        return cls(call_id, created_at, caller, parts, key, clock)

    # ------------------------------------------------------------------ reading
    @property
    def sealed(self) -> bool:
        return self.sealed_at is not None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def complete(self) -> bool:
        return all(part.session.done for part in self.parts)

    def results(self) -> list[TriageResult]:
        """Each protocol's sealed record once sealed, else its result so far."""
        return [part.record or part.session.result() for part in self.parts]

    def record(self) -> TriageResult | CallRecord | None:
        """The sealed record (one protocol) or call record (several); None before sealing."""
        if not self.sealed:
            return None
        records = [part.record for part in self.parts if part.record is not None]
        if len(records) == 1:
            return records[0]
        at = self.closed_at or self.last_at or self.created_at
        return combine(records, call_id=self.call_id, clock=FixedClock(at), key=self.key)

    def part_for(self, protocol_id: str | None) -> Part:
        """The protocol an override or escalation event is for: the one named, the only
        one, or the one whose disposition the call takes."""
        if protocol_id is not None:
            for part in self.parts:
                if part.protocol.id == protocol_id:
                    return part
            raise SessionError(f"protocol '{protocol_id}' is not part of this call")
        if len(self.parts) == 1:
            return self.parts[0]
        record = self.record()
        chosen = record.protocol if isinstance(record, CallRecord) else None
        for part in self.parts:
            if part.protocol.id == chosen:
                return part
        raise SessionError("the call runs several protocols and none decides it yet: name the protocol")

    def escalation_next(self) -> list[dict[str, Any]]:
        out = []
        for part in self.parts:
            if part.record is not None:
                step = escalation_next(part.record)
                if step is not None:
                    out.append({"protocol": part.protocol.id, "next": step})
        return out

    # ------------------------------------------------------------------ events
    def apply(self, event: StoredEvent) -> None:
        """Apply one event (replayed or new); raises when it does not fit."""
        self.clock.at = event.at
        p = event.payload
        kind = event.kind
        if kind in ("answer", "retract") and self.sealed:
            raise SessionError(
                "the call is sealed: its outcome was reached, or it was overridden or closed; "
                "answers can no longer change it"
            )
        if kind == "answer":
            self._answer(p["question"], p["value"], p.get("reason"))
        elif kind == "retract":
            targets = [s.session for s in self.parts if p["question"] in s.session.answers]
            if not targets:
                raise SessionError(f"'{p['question']}' has no answer to retract")
            for session in targets:
                session.retract(p["question"], p["reason"])
        elif kind == "seal":
            self._seal(event.at)
        elif kind == "override":
            part = self._sealed_part(p.get("protocol"))
            assert part.record is not None
            try:
                part.record = override(
                    part.record,
                    part.protocol,
                    p["disposition"],
                    by=p["by"],
                    reason=p.get("reason"),
                    at=event.at,
                    key=self.key,
                )
            except RecordError as exc:
                raise Refused(str(exc)) from None
        elif kind == "escalation":
            part = self._sealed_part(p.get("protocol"))
            assert part.record is not None
            part.record = escalate(
                part.record,
                p["kind"],
                at=event.at,
                detail=p.get("detail"),
                key=self.key,
                resolved=StepResolution.model_validate(p["resolved"]) if p.get("resolved") else None,
            )
        elif kind == "close":
            if self.closed:
                raise SessionError("the call is already closed")
            self.closed_at = event.at
        else:
            raise SessionError(f"unknown event kind '{kind}'")
        self.seq = event.seq
        self.last_at = event.at

    def _answer(self, question: str, value: Any, reason: str | None) -> None:
        having = [part for part in self.parts if question in part.questions]
        if not having:
            names = ", ".join(part.protocol.id for part in self.parts)
            raise AnswerError(
                f"'{question}' is not a question of this call's protocols ({names})",
                question=question,
                code="unknown_question",
                value=value,
            )
        open_parts = [part for part in having if not part.session.done]
        if not open_parts:
            raise SessionError(f"cannot answer '{question}': the outcome of its protocol is reached")
        for part in open_parts:
            part.session.answer(question, value, reason=reason)

    def _seal(self, at: datetime) -> None:
        if self.sealed:
            raise SessionError("the call is already sealed")
        several = len(self.parts) > 1
        for part in self.parts:
            part.record = seal(
                part.session.result(),
                protocol=part.protocol,
                session_id=f"{self.call_id}/{part.protocol.id}" if several else self.call_id,
                clock=FixedClock(at),
                started_at=self.created_at,
                key=self.key,
            )
        self.sealed_at = at

    def _sealed_part(self, protocol_id: str | None) -> Part:
        if not self.sealed:
            raise SessionError("the call is not sealed")
        return self.part_for(protocol_id)


def effective_disposition(record: TriageResult) -> str | None:
    d = in_effect(record).disposition
    return d.id if d else None


def record_head(record: TriageResult | CallRecord) -> str:
    """The head that anchors the record: the seal's head, or the call record's hash."""
    if isinstance(record, CallRecord):
        return record.hash or ""
    return record.seal.head if record.seal else ""
