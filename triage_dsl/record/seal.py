"""Sealing: a result becomes a record (session id, times, versions, chained hashes).

The interpreter knows nothing of records; sealing happens after evaluation, so a result
from ``evaluate`` or ``Session.result()`` is sealed the same way. Appending (overrides,
escalation steps) extends the chain from the seal's head.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from triage_dsl.errors import RecordError
from triage_dsl.explain.note import render_note
from triage_dsl.model.result import EscalationStepRun, Override, Seal, TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.record.canonical import CHAIN_VERSION, chain, link_hash
from triage_dsl.record.clock import SYSTEM_CLOCK, Clock, utc

log = logging.getLogger("triage_dsl.record")


def _version() -> str:
    from triage_dsl import __version__

    return __version__


def seal(
    result: TriageResult,
    *,
    protocol: Protocol | None = None,
    session_id: str | None = None,
    clock: Clock | None = None,
    started_at: datetime | str | None = None,
    note: bool = True,
) -> TriageResult:
    """The record of ``result``: deterministic given the clock and the session id.

    ``protocol`` (the one evaluated) adds the SHA-256 of every file it was compiled from;
    ``started_at`` is when the call began (default: the clock's reading at sealing);
    ``note`` renders the triage note into the record before it is hashed.

    >>> from triage_dsl import evaluate, load
    >>> from triage_dsl.record.clock import FixedClock
    >>> p = load("protocols/rules/qsofa.triage")
    >>> r = seal(evaluate(p, {"resp_rate": 24, "altered_mentation": True}),
    ...          session_id="call-1", clock=FixedClock("2026-03-01T02:14:00Z"))
    >>> r.session_id, r.sealed_at.isoformat(), r.seal.head == r.seal.outcome
    ('call-1', '2026-03-01T02:14:00+00:00', True)
    """
    if result.seal is not None:
        raise RecordError("the result is already sealed")
    now = (clock or SYSTEM_CLOCK).now()
    record = result.model_copy(
        update={
            "schema_version": CHAIN_VERSION,
            "interpreter_version": _version(),
            "session_id": session_id or str(uuid.uuid4()),
            "started_at": utc(started_at) if started_at is not None else utc(now),
            "sealed_at": utc(now),
            "protocol_files": dict(protocol.files) if protocol is not None else None,
            "note": None,
            "overrides": [],
            "escalation_run": [],
            "redacted": False,
        }
    )
    if note:
        record = record.model_copy(update={"note": render_note(record)})
    sealed = rehash(record)
    log.info(
        "sealed record of protocol %s (status %s), head %s",
        sealed.protocol.id,
        sealed.status,
        sealed.seal.head[:16] if sealed.seal else "-",
    )
    return sealed


def rehash(record: TriageResult) -> TriageResult:
    """Compute every hash of the record from its content (the whole chain, from scratch)."""
    raw = record.model_dump(mode="json")
    raw["seal"] = None
    hashes = chain(raw)
    trace = iter(h for link, h in hashes if link.kind == "trace")
    for entry in raw["trace"]:
        entry["hash"] = next(trace)
    by_kind = {link.kind: h for link, h in hashes if link.kind in ("header", "outcome")}
    appended = [h for link, h in hashes if link.kind in ("override", "escalation")]
    raw["seal"] = {
        "chain_version": CHAIN_VERSION,
        "header": by_kind["header"],
        "outcome": by_kind["outcome"],
        "head": hashes[-1][1],
    }
    for item in [*raw["overrides"], *raw["escalation_run"]]:
        item["hash"] = appended[item["seq"] - 1]
    return TriageResult.model_validate(raw)


def next_seq(record: TriageResult) -> int:
    return len(record.overrides) + len(record.escalation_run) + 1


def append(
    record: TriageResult, kind: Literal["override", "escalation"], item: Override | EscalationStepRun
) -> TriageResult:
    """Append one override or escalation step, chained to the seal's head."""
    if record.seal is None:
        raise RecordError("the record is not sealed: seal the result first")
    if record.redacted:
        raise RecordError("a redacted copy cannot be extended; extend the original record")
    content: Mapping[str, Any] = {k: v for k, v in item.model_dump(mode="json").items() if k != "hash"}
    digest = link_hash(kind, record.seal.head, content)
    item = item.model_copy(update={"hash": digest})
    update: dict[str, Any] = {"seal": Seal(**{**record.seal.model_dump(), "head": digest})}
    if kind == "override":
        assert isinstance(item, Override)
        update["overrides"] = [*record.overrides, item]
    else:
        assert isinstance(item, EscalationStepRun)
        update["escalation_run"] = [*record.escalation_run, item]
    log.info("appended %s %d to record, head %s", kind, item.seq, digest[:16])
    return record.model_copy(update=update)
