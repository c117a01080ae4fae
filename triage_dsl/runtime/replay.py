"""A session rebuilt from what the caller said: a saved record's answer log replayed, each
event at the time it was said (``triage run --resume`` after a crash or a lost terminal).

The rebuilt session must say exactly what the record says: its log, replayed, has to be
the record's log event for event (times, values, reasons, prompts), or the replay is
refused. A log that does not replay on the protocol (another version, a hand-edited
file) is never turned into a different call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from triage_dsl.clock import Clock
from triage_dsl.errors import AnswerError, SessionError
from triage_dsl.model.caller import CallInfo
from triage_dsl.model.result import AnswerEvent
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.session import Session


class _Said:
    """The replay's clock: the time of the event being replayed."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def replayed(
    protocol: Protocol,
    log: list[AnswerEvent],
    *,
    call: CallInfo | None,
    started_at: datetime,
    clock: Clock,
) -> Session:
    """The session that ``log`` describes, continued with ``clock`` from here on; raises
    :class:`SessionError` naming the first event that does not replay."""
    said = _Said(started_at)
    session = Session(protocol, call=call, clock=said, now=started_at)
    for event in log:
        said.at = event.at or started_at
        try:
            _apply(session, event)
        except (AnswerError, SessionError) as exc:
            raise SessionError(
                f"event {event.seq} ({event.kind}) of the saved log does not replay: {exc}"
            ) from None
        again = session.log[-1] if session.log else None
        if again is None or _fields(again) != _fields(event):
            raise SessionError(
                f"event {event.seq} ({event.kind}) of the saved log replays differently on protocol "
                f"'{protocol.id}' {protocol.version}: the record was not made by this protocol's interview"
            )
    if len(session.log) != len(log):  # pragma: no cover - each event adds one
        raise SessionError("the saved log does not replay event for event")
    session.clock = clock
    return session


def _apply(session: Session, event: AnswerEvent) -> None:
    question = event.question
    if event.kind == "note":
        session.note(event.text or "")
    elif question is None:
        raise SessionError("the event names no question")
    elif event.kind in ("answer", "correction"):
        session.answer(question, event.value, reason=event.reason)
    elif session.done:  # taken back after the outcome: only the last answer can be
        session.undo(event.reason or "")
    else:
        session.retract(question, event.reason or "")


def _fields(event: AnswerEvent) -> dict[str, Any]:
    return event.model_dump(mode="json")
