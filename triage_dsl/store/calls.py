"""Calls and their event logs; sealed records (append-only).

Appending events is optimistic: the ``(call_id, seq)`` primary key makes two processes
that append to one call at once collide, and the loser gets :class:`Conflict` (the
service then rebuilds the call and tries again). Events and the record a close or an
extension produces are written in one transaction, with the request's idempotency key
when it has one (:mod:`.idempotency`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from triage_dsl.store.audit import audit_row
from triage_dsl.store.database import Database
from triage_dsl.store.idempotency import RequestKey, insert_keys, key_row
from triage_dsl.store.tables import answer_events, audit, calls, records


class Conflict(Exception):
    """Another process appended to the call first."""


@dataclass(frozen=True)
class StoredCall:
    id: str
    created_at: datetime
    protocol_version_ids: list[int]
    caller: dict[str, Any] | None


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    kind: str
    at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class NewRecord:
    head: str
    body: str


@dataclass(frozen=True)
class NewCall:
    """A call to store (its row of ``calls``), with the request that started it."""

    created_at: datetime
    protocol_version_ids: Sequence[int]
    caller: dict[str, Any] | None


def create_call(
    db: Database,
    call_id: str,
    created_at: datetime,
    version_ids: Sequence[int],
    caller: dict[str, Any] | None,
    token_id: int | None,
    key: RequestKey | None = None,
) -> None:
    """Store a new call (and the key of the request that started it, in one transaction);
    :class:`Conflict` when another request stored that key first."""
    try:
        with db.engine.begin() as conn:
            new = NewCall(created_at, version_ids, caller)
            insert_many(conn, [(call_id, (), token_id, None, created_at, key, None, new)])
    except IntegrityError as exc:
        raise Conflict(call_id) from exc


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite drops the zone


# built once (the service runs them on every request)
_EVENTS_AFTER = (
    select(answer_events.c.seq, answer_events.c.kind, answer_events.c.at, answer_events.c.payload)
    .where(answer_events.c.call_id == bindparam("call_id"), answer_events.c.seq > bindparam("after"))
    .order_by(answer_events.c.seq)
)
_INSERT_CALL = insert(calls)
_INSERT_EVENTS = insert(answer_events)
_INSERT_RECORD = insert(records)
_INSERT_AUDIT = insert(audit)


def _events_after(conn: Connection, call_id: str, after: int) -> list[StoredEvent]:
    rows = conn.execute(_EVENTS_AFTER, {"call_id": call_id, "after": after}).all()
    return [StoredEvent(r.seq, r.kind, _aware(r.at), dict(r.payload)) for r in rows]


def load_call(db: Database, call_id: str, after: int = 0) -> tuple[StoredCall, list[StoredEvent]] | None:
    """The call and its events with ``seq > after``, in order; None when there is no such call."""
    with db.engine.connect() as conn:
        row = conn.execute(select(calls).where(calls.c.id == call_id)).first()
        if row is None:
            return None
        events = _events_after(conn, call_id, after)
    call = StoredCall(row.id, _aware(row.created_at), list(row.protocol_version_ids), row.caller)
    return call, events


def load_events(db: Database, call_id: str, after: int) -> list[StoredEvent]:
    """The call's events with ``seq > after``, in order (for a call known to exist: one query)."""
    with db.engine.connect() as conn:
        return _events_after(conn, call_id, after)


def append_events(
    db: Database,
    call_id: str,
    events: Sequence[StoredEvent],
    token_id: int | None,
    record: NewRecord | None = None,
    now: datetime | None = None,
    key: RequestKey | None = None,
) -> None:
    """Store ``events`` (and the record they produce, and the request's key) in one
    transaction, or raise :class:`Conflict` when another process took one of their
    sequence numbers, or the key, first."""
    try:
        with db.engine.begin() as conn:
            insert_events(conn, call_id, events, token_id, record, now, key)
    except IntegrityError as exc:
        raise Conflict(call_id) from exc


def insert_events(
    conn: Connection,
    call_id: str,
    events: Sequence[StoredEvent],
    token_id: int | None,
    record: NewRecord | None = None,
    now: datetime | None = None,
    key: RequestKey | None = None,
) -> None:
    """Insert ``events`` (and the record, and the key) in the transaction of ``conn``."""
    insert_many(conn, [(call_id, events, token_id, record, now, key, None, None)])


@dataclass(frozen=True)
class AuditEntry:
    """An audit row stored with a request's events, in their transaction (so the row and
    what it records are stored together or not at all)."""

    action: str
    token_name: str | None


NewEvents = tuple[
    str,
    Sequence[StoredEvent],
    int | None,
    NewRecord | None,
    datetime | None,
    RequestKey | None,
    AuditEntry | None,
    NewCall | None,
]
"""What one request appends: call id, events, token id, record, time, key, audit row,
and the call itself when the request starts it (stored first)."""


def insert_many(conn: Connection, appends: Sequence[NewEvents]) -> None:
    """Insert what several requests append in the transaction of ``conn``: the rows of
    each table in one statement (one ``executemany``, which psycopg pipelines), not
    two or three statements a request."""
    event_rows: list[dict[str, Any]] = []
    record_rows: list[dict[str, Any]] = []
    key_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []
    call_rows: list[dict[str, Any]] = []
    for call_id, events, token_id, record, now, key, audited, new in appends:
        if new is not None:
            call_rows.append(
                {
                    "id": call_id,
                    "created_at": new.created_at,
                    "protocol_version_ids": list(new.protocol_version_ids),
                    "caller": new.caller,
                    "created_by": token_id,
                }
            )
        event_rows += [
            {
                "call_id": call_id,
                "seq": e.seq,
                "kind": e.kind,
                "at": e.at,
                "payload": e.payload,
                "token_id": token_id,
            }
            for e in events
        ]
        at = now or events[-1].at  # a request with no events (a start) gives its time
        if record is not None:
            record_rows.append(
                {
                    "call_id": call_id,
                    "event_seq": events[-1].seq,
                    "head": record.head,
                    "body": record.body,
                    "created_at": at,
                }
            )
        if key is not None:
            first, last = (events[0].seq, events[-1].seq) if events else (None, None)
            key_rows.append(key_row(key, call_id, first, last, token_id, at))
        if audited is not None:
            audit_rows.append(audit_row(at, token_id, audited.token_name, audited.action, call_id))
    if call_rows:
        conn.execute(_INSERT_CALL, call_rows)
    if event_rows:
        conn.execute(_INSERT_EVENTS, event_rows)
    if record_rows:
        conn.execute(_INSERT_RECORD, record_rows)
    if key_rows:
        insert_keys(conn, key_rows)
    if audit_rows:
        conn.execute(_INSERT_AUDIT, audit_rows)


def latest_record(db: Database, call_id: str) -> tuple[int, str, str] | None:
    """The newest stored record of the call: (event seq, head, JSON), or None."""
    with db.engine.connect() as conn:
        row = conn.execute(
            select(records.c.event_seq, records.c.head, records.c.body)
            .where(records.c.call_id == call_id)
            .order_by(records.c.event_seq.desc())
            .limit(1)
        ).first()
    return None if row is None else (row.event_seq, row.head, row.body)


def count_records(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(records)).scalar_one())


def store_counts(db: Database) -> dict[str, int]:
    """What the database holds, whichever process stored it: calls, calls closed, answers
    (answer events, corrections included), records (one per close and per extension)."""
    closes = select(func.count()).select_from(answer_events).where(answer_events.c.kind == "close")
    answers = select(func.count()).select_from(answer_events).where(answer_events.c.kind == "answer")
    with db.engine.connect() as conn:
        return {
            "calls": int(conn.execute(select(func.count()).select_from(calls)).scalar_one()),
            "calls_closed": int(conn.execute(closes).scalar_one()),
            "answers": int(conn.execute(answers).scalar_one()),
            "records": int(conn.execute(select(func.count()).select_from(records)).scalar_one()),
        }
