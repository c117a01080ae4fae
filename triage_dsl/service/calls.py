"""The call service: start a call, add events, read it; the database is the truth.

Each operation rebuilds the call (from this process's cache plus the events other
processes added since, or from scratch), applies the new events to it, and only when
they all fit stores them in one transaction before answering. When another process
appended to the call at the same moment, the operation rebuilds and tries again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from triage_dsl.clock import Clock, utc
from triage_dsl.errors import AnswerError, TriageError
from triage_dsl.model.caller import CallInfo
from triage_dsl.record.keys import RecordKey
from triage_dsl.service.catalog import Catalog
from triage_dsl.service.state import CallState, record_head
from triage_dsl.store import Database
from triage_dsl.store.calls import Conflict, NewRecord, StoredEvent, append_events, create_call, load_call
from triage_dsl.store.tokens import TokenHolder

log = logging.getLogger("triage_dsl.service")

CACHE_SIZE = 2000
ATTEMPTS = 5

Change = tuple[str, dict[str, Any]]


class CallNotFound(TriageError):
    pass


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
    ) -> None:
        self.on_conflict = on_conflict
        self.db = db
        self.catalog = catalog
        self.clock = clock
        self.key = key
        self._cache: OrderedDict[str, CallState] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def now(self) -> datetime:
        return utc(self.clock.now())

    @contextmanager
    def _locked(self, call_id: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(call_id, threading.Lock())
            if len(self._locks) > 4 * CACHE_SIZE:
                self._locks = {k: v for k, v in self._locks.items() if v.locked() or k == call_id}
        with lock:
            yield

    # ------------------------------------------------------------------ operations
    def start(self, protocol_ids: list[str], caller: CallInfo | None, who: TokenHolder | None) -> CallState:
        loaded = [self.catalog.get(pid) for pid in protocol_ids]
        call_id = str(uuid.uuid4())
        at = self.now()
        state = CallState.start(
            call_id, at, caller, [(item.version_id, item.protocol) for item in loaded], self.key
        )
        create_call(
            self.db,
            call_id,
            at,
            [item.version_id for item in loaded],
            caller.model_dump(mode="json") if caller else None,
            who.id if who else None,
        )
        log.info("call %s started on %s", call_id, ", ".join(protocol_ids))
        self._remember(state)
        return state

    def get(self, call_id: str) -> CallState:
        with self._locked(call_id):
            return self._current(call_id)

    def change(
        self, call_id: str, changes: Callable[[CallState], list[Change]], who: TokenHolder | None
    ) -> CallState:
        """Apply the events ``changes`` makes for the call's current state, then store
        them (with the record, when the call is closed or a closed call is extended)."""
        for _ in range(ATTEMPTS):
            with self._locked(call_id):
                state = self._current(call_id)
                at = self.now()
                if state.last_at is not None and at < state.last_at:
                    at = state.last_at  # a clock behind another process's: keep events in order
                events: list[StoredEvent] = []
                refused: list[AnswerError] = []
                try:
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
                except Exception:
                    self._forget(call_id)
                    raise
                if not events:
                    return state
                record = None
                if state.closed:
                    body = state.record()
                    assert body is not None
                    record = NewRecord(record_head(body), body.model_dump_json(indent=2) + "\n")
                try:
                    append_events(self.db, call_id, events, who.id if who else None, record, at)
                except Conflict:
                    self._forget(call_id)
                    if self.on_conflict is not None:
                        self.on_conflict()
                    log.info("call %s: another process appended first; trying again", call_id)
                    continue
                except Exception:
                    self._forget(call_id)
                    raise
                log.info("call %s: stored %s", call_id, ", ".join(f"{e.kind} {e.seq}" for e in events))
                return state
        raise TriageError(f"call {call_id}: too many concurrent changes; try again")

    # ------------------------------------------------------------------ rebuilding
    def _current(self, call_id: str) -> CallState:
        cached = self._cache.get(call_id)
        found = load_call(self.db, call_id, after=cached.seq if cached else 0)
        if found is None:
            raise CallNotFound(f"no call '{call_id}'")
        stored, events = found
        state = cached
        if state is None:
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
        with self._guard:
            self._cache[state.call_id] = state
            self._cache.move_to_end(state.call_id)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def _forget(self, call_id: str) -> None:
        with self._guard:
            self._cache.pop(call_id, None)
