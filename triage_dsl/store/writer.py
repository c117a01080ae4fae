"""Group commit: the appends that wait together share one transaction, so one commit (one
fsync with SQLite ``synchronous=full``) stores the answers of many calls at once.

Each request hands its events to :meth:`Writer.append` (a thread) or awaits
:meth:`Writer.append_async` (the event loop) until they are committed (or refused):
nothing is answered before it is on disk, as with a transaction per request.
One thread per process writes: it takes every append waiting, stores them
in one transaction and wakes their requests. When one of them collides with an event
another process stored first (the ``(call_id, seq)`` key, or an idempotency key another
request stored), the transaction is rolled back
and each append of the batch is stored on its own, so only the one that collided gets
:class:`~triage_dsl.store.calls.Conflict`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from triage_dsl.store.calls import AuditEntry, Conflict, NewCall, NewRecord, StoredEvent, insert_many
from triage_dsl.store.database import Database
from triage_dsl.store.idempotency import RequestKey

log = logging.getLogger("triage_dsl.store")

MAX_BATCH = 256
# the writer keeps its connection while batches follow each other; after a pause it takes
# one from the pool again, which checks it (a database restarted meanwhile costs nothing)
IDLE_SECONDS = 1.0


@dataclass
class Append:
    call_id: str
    events: Sequence[StoredEvent]
    token_id: int | None
    record: NewRecord | None
    now: datetime | None
    key: RequestKey | None = None  # the request's idempotency key, stored with its events
    audit: AuditEntry | None = None  # an audit row, stored with its events
    call: NewCall | None = None  # the call itself, when the request starts it
    wake: Callable[[], None] = field(default=lambda: None)  # called once stored or refused
    error: BaseException | None = None
    # or, for a coroutine: its future, settled on its loop once stored or refused (the
    # futures of one batch all by one call from the writer thread, not one call each)
    stored: asyncio.Future[None] | None = None


class Writer:
    """The process's writer thread (started on first use)."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        db.on_dispose(self.close)
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Append] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.batches = 0  # transactions committed (for the metrics)
        self._lock = threading.Lock()  # one batch at a time on the writer's connection
        self._conn: Connection | None = None
        self._used = 0.0  # when the connection last stored a batch (time.monotonic)

    def append(
        self,
        call_id: str,
        events: Sequence[StoredEvent],
        token_id: int | None,
        record: NewRecord | None = None,
        now: datetime | None = None,
        key: RequestKey | None = None,
        audit: AuditEntry | None = None,
        call: NewCall | None = None,
    ) -> None:
        """Store the events (and the record, the request's key and its audit row; the
        call first when the request starts it) and return once committed; raises
        :class:`Conflict` when another process took one of their numbers (or the key)
        first, or the database's error."""
        done = threading.Event()
        item = self._submit(Append(call_id, events, token_id, record, now, key, audit, call, done.set))
        done.wait()
        if item.error is not None:
            raise item.error

    async def append_async(
        self,
        call_id: str,
        events: Sequence[StoredEvent],
        token_id: int | None,
        record: NewRecord | None = None,
        now: datetime | None = None,
        key: RequestKey | None = None,
        audit: AuditEntry | None = None,
        call: NewCall | None = None,
    ) -> None:
        """:meth:`append` for a coroutine on an event loop: awaits the commit without
        holding a thread (the writer thread wakes the loop)."""
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        item = self._submit(Append(call_id, events, token_id, record, now, key, audit, call, stored=stored))
        await stored
        if item.error is not None:
            raise item.error

    def _submit(self, item: Append) -> Append:
        """Hand ``item`` to the writer thread (started on first use); it wakes the item's
        request once stored or refused."""
        if self._thread is None or not self._thread.is_alive():
            with self._start:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="triage-writer", daemon=True)
                    self._thread.start()
        self._queue.put(item)
        return item

    def close(self) -> None:
        """Give the connection kept between batches back (the database's dispose closes
        it); a later batch takes another. The thread itself stays, waiting for work."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):  # already broken
                    conn.close()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self.store(batch)

    def store(self, batch: list[Append]) -> None:
        """Store a batch in one transaction (every append then succeeds), else each on its
        own; wakes every append's request either way."""
        try:
            with self._lock:
                if len(batch) == 1:
                    self._alone(batch[0])
                    return
                try:
                    self._insert(batch)
                except IntegrityError:  # one collided: store each on its own to find which
                    log.info("a batch of %d appends collided; storing them one by one", len(batch))
                    for item in batch:
                        self._alone(item)
                except Exception as exc:  # the database failed: nothing of the batch is stored
                    for item in batch:
                        item.error = exc
        finally:
            waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for item in batch:
                if item.stored is None:
                    item.wake()
                else:
                    waiting.setdefault(item.stored.get_loop(), []).append(item.stored)
            for loop, futures in waiting.items():
                with contextlib.suppress(RuntimeError):  # the loop was closed: nobody waits any more
                    loop.call_soon_threadsafe(_settle, futures)

    def _alone(self, item: Append) -> None:
        try:
            self._insert([item])
        except IntegrityError as exc:
            item.error = Conflict(item.call_id)
            item.error.__cause__ = exc
        except Exception as exc:  # the database failed
            item.error = exc

    def _insert(self, batch: list[Append]) -> None:
        """One transaction for the batch, on the writer's own connection (kept while
        batches follow each other: no pool checkout, and with PostgreSQL no ping, per
        batch), the rows of each table in one statement."""
        now = time.monotonic()
        if self._conn is not None and now - self._used > IDLE_SECONDS:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):  # back to the pool, which checks it again
                conn.close()
        if self._conn is None:
            self._conn = self.db.engine.connect()
        self._used = now
        try:
            with self._conn.begin():
                insert_many(
                    self._conn,
                    [
                        (i.call_id, i.events, i.token_id, i.record, i.now, i.key, i.audit, i.call)
                        for i in batch
                    ],
                )
        except IntegrityError:
            raise  # rolled back; the connection is fine
        except Exception:  # the connection may be broken: open another next time
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                conn.close()
            raise
        self.batches += 1


def _settle(futures: list[asyncio.Future[None]]) -> None:
    for stored in futures:
        if not stored.done():  # not when the waiting request was cancelled
            stored.set_result(None)
