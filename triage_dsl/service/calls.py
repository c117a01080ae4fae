"""The call service: start a call, add events, read it; the database is the truth.

A read brings the call up to date (this process's cache plus the events other processes
added since, one query; or rebuilt from the whole log). A change applies its new events
to the cached state and, only when they all fit, stores them in one transaction under
the next sequence numbers before answering; when another process appended to the call
first, the ``(call, seq)`` key refuses them, and the change is made again on the call
rebuilt from the log. Every stored event is committed before the response.

A request with an idempotency key (:mod:`triage_dsl.service.idempotency`) stores the key
with its events; when the key is already stored for the same request, nothing is applied
and the call is answered as it is now (a replay).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from triage_dsl.clock import Clock, utc
from triage_dsl.errors import AnswerError, TriageError
from triage_dsl.model.caller import CallInfo
from triage_dsl.record.keys import RecordKey
from triage_dsl.service.catalog import Catalog, UnknownProtocol
from triage_dsl.service.idempotency import KeyReused
from triage_dsl.service.state import CallState, record_head
from triage_dsl.store import Database
from triage_dsl.store.calls import (
    AuditEntry,
    Conflict,
    NewCall,
    NewRecord,
    StoredEvent,
    load_call,
    load_events,
)
from triage_dsl.store.idempotency import RequestKey, StoredKey, find_key
from triage_dsl.store.tokens import TokenHolder
from triage_dsl.store.writer import Writer

V = TypeVar("V")  # what a request makes of the call (its response), made under the call's lock

log = logging.getLogger("triage_dsl.service")

CACHE_SIZE = 2000
# Closed calls kept in memory, the most recent: a closed call still takes escalation
# events and reads, mostly just after its close, but holds its sealed record (with the
# trace, some 500 objects) that every full pass of the garbage collector walks. Kept by
# the thousand, those passes paused the event loop for up to 0.45 s (docs/performance.md).
CLOSED_CACHE_SIZE = 64
ATTEMPTS = 5

Change = tuple[str, dict[str, Any]]


class CallNotFound(TriageError):
    pass


class Busy(TriageError):
    """Other requests changed the call at each attempt (or stored this request's key and
    then could not be found): nothing of this request was stored. Answered 503 with
    ``Retry-After``; sent again with its ``Idempotency-Key`` it is applied once."""


class InvalidAnswers(TriageError):
    """One or more answers were refused (nothing was stored)."""

    def __init__(self, problems: list[AnswerError]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class CallService:
    def __init__(
        self,
        db: Database,
        catalog: Catalog,
        clock: Clock,
        key: RecordKey | None,
        on_conflict: Callable[[], None] | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.cache_size = cache_size  # calls kept in memory; 0: every request rebuilds from the log
        self.on_conflict = on_conflict
        self.db = db
        self.catalog = catalog
        self.clock = clock
        self.key = key
        self._cache: OrderedDict[str, CallState] = OrderedDict()  # open calls
        self._closed: OrderedDict[str, CallState] = OrderedDict()  # closed calls, the most recent
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.writer = Writer(db)  # group commit: concurrent answers share one transaction

    def now(self) -> datetime:
        return utc(self.clock.now())

    def _lock(self, call_id: str) -> threading.Lock:
        """The lock one change of the call holds at a time in this process."""
        with self._guard:
            lock = self._locks.setdefault(call_id, threading.Lock())
            if len(self._locks) > 4 * max(self.cache_size, CACHE_SIZE):
                self._locks = {k: v for k, v in self._locks.items() if v.locked() or k == call_id}
        return lock

    @contextmanager
    def _locked(self, call_id: str) -> Iterator[None]:
        with self._lock(call_id):
            yield

    # ------------------------------------------------------------------ operations
    async def start_or_replay_async(
        self,
        protocol_ids: list[str],
        caller: CallInfo | None,
        who: TokenHolder | None,
        key: RequestKey | None,
        view: Callable[[CallState], V],
    ) -> tuple[V, bool]:
        """Start a call (stored with the request's key, when it has one) and return
        ``view`` of it; or, when the key already started one, ``view`` of that call as it
        is now and True (nothing is started).

        On the event loop: the call is stored through the group commit with the answers
        of other calls (one transaction for many requests, no thread held). The key is
        not looked up first: a request sent again collides with its key, and only then
        is the call it started read, in a worker thread (as is the folder of protocols,
        when it is time to look at it again)."""
        if self.catalog.due():
            await run_in_threadpool(self.catalog.refresh)
        try:
            loaded = [self.catalog.loaded(pid) for pid in protocol_ids]
        except UnknownProtocol:
            # a request sent again after its protocol left the folder: the call it started
            # is answered as any replay is; a new request is refused
            replayed = None if key is None else await run_in_threadpool(self._replay, key, view)
            if replayed is None:
                raise
            return replayed, True
        call_id = str(uuid.uuid4())
        at = self.now()
        state = CallState.start(
            call_id, at, caller, [(item.version_id, item.protocol) for item in loaded], self.key
        )
        new = NewCall(
            at, [item.version_id for item in loaded], caller.model_dump(mode="json") if caller else None
        )
        try:
            await self.writer.append_async(call_id, (), _id(who), None, at, key, call=new)
        except Conflict:  # the key is stored: the request was sent again
            assert key is not None
            return await run_in_threadpool(self._started_before, key, view)
        log.info("call %s started on %s", call_id, ", ".join(protocol_ids))
        made = view(state)  # before any other request can reach the call
        self._remember(state)
        return made, False

    def _started_before(self, key: RequestKey, view: Callable[[CallState], V]) -> tuple[V, bool]:
        """``view`` of the call the start request with ``key`` started, and True."""
        replayed = self._replay(key, view)
        if replayed is None:  # the key collided, yet is not stored: never seen; not a 500
            raise Busy(
                "another request with this Idempotency-Key is being stored: nothing was "
                "started; send the request again with the same key"
            ) from None
        return replayed, True

    def _replay(self, key: RequestKey, view: Callable[[CallState], V]) -> V | None:
        """``view`` of the call ``key`` started, as it is now; None when the key is new."""
        stored = self._stored_key(key)
        if stored is None:
            return None
        with self._locked(stored.call_id):
            return view(self._current(stored.call_id))

    def _stored_key(self, key: RequestKey) -> StoredKey | None:
        """The stored request of ``key``, None when the key is new; :class:`KeyReused` when
        the key was stored with another request."""
        stored = find_key(self.db, key.scope, key.key)
        if stored is None:
            return None
        if stored.request_sha256 != key.request_sha256:
            raise KeyReused(
                "Idempotency-Key: this key was already used for another request: use a new key "
                "for a new request (the same key only to send the same request again)"
            )
        log.info("call %s: a request sent again was already stored; nothing applied", stored.call_id)
        return stored

    def read(self, call_id: str, view: Callable[[CallState], V]) -> V:
        """``view`` of the call as it is now, made while no request changes it (a
        response is never built from a state half-way through an answer)."""
        with self._locked(call_id):
            return view(self._current(call_id))

    def change_or_replay(
        self,
        call_id: str,
        changes: Callable[[CallState], list[Change]],
        who: TokenHolder | None,
        key: RequestKey | None,
        view: Callable[[CallState], V],
        audit: str | None = None,
    ) -> tuple[V, bool]:
        """Apply the events ``changes`` makes for the call's current state, then store
        them (with the record, when the call is closed or a closed call is extended, and
        an ``audit`` row of that action by ``who``, in the same transaction), and return
        ``view`` of the call, made before the call's lock is let go.

        The first attempt works on this process's cached state without reading the log:
        the events are stored under the sequence numbers that follow the cached ones, so
        when another process appended in between, the database's ``(call, seq)`` key
        refuses them (:class:`Conflict`) and the call is rebuilt from the log and tried
        again. A change the cached state refuses is tried again on the log too, so a
        refusal is never decided on a state that was behind.

        With a ``key`` (scoped to the call), the key is stored with the events, and
        looked up in each attempt on the call read from the log, just after that read
        (not before: see :meth:`_change`): when it is stored,
        nothing is applied and the call is returned as it is now, with True. The first
        attempt on the cached state does not read it: a request sent again either is
        refused by the state (it was applied: the outcome sealed, the call closed) or makes
        events whose key the ``(scope, key)`` primary key refuses with them, and both are
        tried again on the log, where the key is found. So is a request with a key that
        another process stored first."""
        now = self.now()
        return self._change(call_id, changes, who, key, view, now, fresh=False, collided=False, audit=audit)

    async def change_or_replay_async(
        self,
        call_id: str,
        changes: Callable[[CallState], list[Change]],
        who: TokenHolder | None,
        key: RequestKey | None,
        view: Callable[[CallState], V],
        audit: str | None = None,
    ) -> tuple[V, bool]:
        """:meth:`change_or_replay` for a coroutine on the event loop (``changes``, and
        ``view`` of a change stored on the first attempt, must do no I/O). The first
        attempt, on this process's cached state, runs on the loop and awaits the group
        commit without holding a thread; anything that needs the log (a
        call not cached, a refusal to decide again on the log, another process's events, a
        request sent again) or another request of the same call in progress goes on in a
        worker thread as :meth:`change_or_replay` does. Nothing is answered before it is
        committed either way."""
        now = self.now()
        fresh = collided = False
        lock = self._lock(call_id)
        if lock.acquire(blocking=False):  # free; when busy (another request of this call): a thread, below
            try:
                state = self._cached(call_id)
                if state is not None:
                    fresh = True  # whatever happens now, the next attempt reads the log
                    try:
                        events, record, at = self._make(state, changes, now)
                    except Exception:
                        self._forget(call_id)  # decided again on the log
                        events = []
                    if events:
                        entry = AuditEntry(audit, who.name if who else None) if audit else None
                        try:
                            await self.writer.append_async(call_id, events, _id(who), record, at, key, entry)
                        except Conflict:  # counted on the next attempt, once known not to be a replay
                            self._forget(call_id)
                            collided = True
                        except BaseException:  # refused, the database failed, or the request was cancelled
                            self._forget(call_id)
                            raise
                        else:
                            self._remember(state)
                            self._stored(call_id, events)
                            return view(state), False
            finally:
                lock.release()
        return await run_in_threadpool(
            self._change, call_id, changes, who, key, view, now, fresh=fresh, collided=collided, audit=audit
        )

    def _change(
        self,
        call_id: str,
        changes: Callable[[CallState], list[Change]],
        who: TokenHolder | None,
        key: RequestKey | None,
        view: Callable[[CallState], V],
        now: datetime,  # the request's time, read once whatever the attempts
        *,
        fresh: bool,  # the cached state is not to be trusted: read the log
        collided: bool,  # the last attempt's insert was refused: another process's event, or a replay
        audit: str | None = None,  # the action to audit with the events, when stored
    ) -> tuple[V, bool]:
        for _ in range(ATTEMPTS):
            with self._locked(call_id):
                state = None if fresh else self._cached(call_id)
                if state is None:
                    # the call first, then the key: a key stored after this lookup was
                    # stored after this read too, so the change is decided on a call
                    # without it and collides with it (and the next attempt finds the
                    # key). Looked up the other way round, another process's commit in
                    # between would have this request refused (closed, sealed) on the call
                    # its twin changed, where it must be answered as a replay.
                    state = self._current(call_id)
                    if key is not None and self._stored_key(key) is not None:
                        return view(self._current(call_id)), True  # a replay, not a conflict
                    if collided:
                        collided = False
                        self._conflicted(call_id)
                    fresh = True
                try:
                    events, record, at = self._make(state, changes, now)
                except Exception:
                    self._forget(call_id)
                    if not fresh:
                        fresh = True
                        continue
                    raise
                if not events:
                    if not fresh:
                        fresh = True
                        continue
                    return view(state), False
                try:
                    entry = AuditEntry(audit, who.name if who else None) if audit else None
                    self.writer.append(call_id, events, _id(who), record, at, key, entry)
                except Conflict:  # counted on the next attempt, once it is known not to be a replay
                    self._forget(call_id)
                    fresh = collided = True
                    continue
                except Exception:
                    self._forget(call_id)
                    raise
                self._remember(state)
                self._stored(call_id, events)
                return view(state), False
        if collided:
            self._conflicted(call_id)
        raise Busy(
            f"call {call_id}: other requests changed it at each of {ATTEMPTS} attempts: nothing "
            "was stored; send the request again (with the same Idempotency-Key it is applied once)"
        )

    def _make(
        self, state: CallState, changes: Callable[[CallState], list[Change]], now: datetime
    ) -> tuple[list[StoredEvent], NewRecord | None, datetime]:
        """Apply the events ``changes`` makes to ``state`` (in place): the new events, the
        record to store with them (a closed call, or a closed call extended) and their
        time. Raises when one does not fit (every invalid answer at once); the caller then
        throws ``state`` away."""
        at = now
        if state.last_at is not None and at < state.last_at:
            at = state.last_at  # a clock behind another process's: keep events in order
        events: list[StoredEvent] = []
        refused: list[AnswerError] = []
        for kind, payload in changes(state):
            event = StoredEvent(state.seq + 1, kind, at, payload)
            try:
                state.apply(event)
            except AnswerError as exc:  # report every invalid answer at once
                refused.append(exc)
                continue
            events.append(event)
            if kind == "answer" and not state.sealed and state.complete:
                seal_event = StoredEvent(state.seq + 1, "seal", at, {})
                state.apply(seal_event)
                events.append(seal_event)
        if refused:
            raise InvalidAnswers(refused)
        record = None
        if events and state.closed:
            body = state.record()
            assert body is not None
            record = NewRecord(record_head(body), body.model_dump_json(indent=2) + "\n")
            state.stored_record = (state.seq, record.body)
        return events, record, at

    def _stored(self, call_id: str, events: list[StoredEvent]) -> None:
        log.info("call %s: stored %s", call_id, ", ".join(f"{e.kind} {e.seq}" for e in events))

    def _conflicted(self, call_id: str) -> None:
        """Another process appended to the call first: counted, and the change made again."""
        if self.on_conflict is not None:
            self.on_conflict()
        log.info("call %s: another process appended first; trying again", call_id)

    # ------------------------------------------------------------------ rebuilding
    def _cached(self, call_id: str) -> CallState | None:
        with self._guard:
            return self._cache.get(call_id) or self._closed.get(call_id)

    def _current(self, call_id: str) -> CallState:
        """The call as the log has it now: the cached state and the events other processes
        added since (one query), or rebuilt from the whole log."""
        state = self._cached(call_id)
        if state is not None:
            events = load_events(self.db, call_id, after=state.seq)
        else:
            found = load_call(self.db, call_id)
            if found is None:
                raise CallNotFound(f"no call '{call_id}'")
            stored, events = found
            versions = [(vid, self.catalog.version(vid)) for vid in stored.protocol_version_ids]
            caller = CallInfo.model_validate(stored.caller) if stored.caller else None
            state = CallState.start(call_id, stored.created_at, caller, versions, self.key)
        try:
            for event in events:
                state.apply(event)
        except Exception:
            self._forget(call_id)
            raise
        self._remember(state)
        return state

    def _remember(self, state: CallState) -> None:
        if self.cache_size <= 0:
            return
        with self._guard:
            if state.closed:
                self._cache.pop(state.call_id, None)
                kept, size = self._closed, min(self.cache_size, CLOSED_CACHE_SIZE)
            else:
                kept, size = self._cache, self.cache_size
            kept[state.call_id] = state
            kept.move_to_end(state.call_id)
            while len(kept) > size:
                kept.popitem(last=False)

    def _forget(self, call_id: str) -> None:
        with self._guard:
            self._cache.pop(call_id, None)
            self._closed.pop(call_id, None)


def _id(who: TokenHolder | None) -> int | None:
    return who.id if who is not None else None
