"""Idempotency keys: which request (by its hash) a client's key already stored.

A key is written in the transaction that stores what its request produced (the call for
a start, the events otherwise), so the key and the change are committed together or not
at all. The ``(scope, key)`` primary key refuses a second request with the same key:
two processes that apply one key at once collide like two appends to one call, and the
loser finds the key stored when it tries again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from triage_dsl.store.database import Database
from triage_dsl.store.tables import idempotency_keys


@dataclass(frozen=True)
class RequestKey:
    """A client's key for one request: ``scope`` is the call's id (or ``start:TOKEN`` for
    a start), ``request_sha256`` the hash of the request it came with."""

    scope: str
    key: str
    request_sha256: str


@dataclass(frozen=True)
class StoredKey:
    call_id: str
    request_sha256: str
    first_seq: int | None
    last_seq: int | None


_FIND = select(
    idempotency_keys.c.call_id,
    idempotency_keys.c.request_sha256,
    idempotency_keys.c.first_seq,
    idempotency_keys.c.last_seq,
).where(idempotency_keys.c.scope == bindparam("scope"), idempotency_keys.c.key == bindparam("key"))


def find_key(db: Database, scope: str, key: str) -> StoredKey | None:
    """The stored request of ``key`` in ``scope``, or None."""
    with db.engine.connect() as conn:
        row = conn.execute(_FIND, {"scope": scope, "key": key}).first()
    return None if row is None else StoredKey(row.call_id, row.request_sha256, row.first_seq, row.last_seq)


def key_row(
    key: RequestKey,
    call_id: str,
    first_seq: int | None,
    last_seq: int | None,
    token_id: int | None,
    at: datetime,
) -> dict[str, Any]:
    """The row that remembers ``key`` (for :func:`insert_keys`)."""
    return {
        "scope": key.scope,
        "key": key.key,
        "call_id": call_id,
        "request_sha256": key.request_sha256,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "token_id": token_id,
        "created_at": at,
    }


def insert_keys(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Remember keys (:func:`key_row`) in the transaction of ``conn``, in one statement
    (IntegrityError when one is taken)."""
    conn.execute(_INSERT, rows)


# built once: every request with a key runs it (building ``insert().values(...)`` each
# time cost more than running it)
_INSERT = insert(idempotency_keys)
