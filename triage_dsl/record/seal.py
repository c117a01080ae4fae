"""Sealing: a result becomes a record (session id, times, versions, chained hashes).

The interpreter knows nothing of records; sealing happens after evaluation, so a result
from ``evaluate`` or ``Session.result()`` is sealed the same way. Appending (overrides,
escalation steps) extends the chain from the seal's head.

:func:`seal_plain` seals a plain result (:mod:`triage_dsl.model.plain`, ``triage eval``
of one case) into the record's JSON with the same steps and the same hashes, without
pydantic; this module imports the models only where a function needs them.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from triage_dsl.clock import SYSTEM_CLOCK, Clock, utc
from triage_dsl.errors import RecordError
from triage_dsl.explain.note import render_note
from triage_dsl.record.canonical import CHAIN_VERSION, chain, escalation_content, link_hash
from triage_dsl.record.keys import RecordKey

if TYPE_CHECKING:
    from triage_dsl.model.result import EscalationStepRun, KeyedSeal, Override, TriageResult
    from triage_dsl.protocol import Protocol

_Result = TypeVar("_Result")

logger = logging.getLogger("triage_dsl.record")


def _version() -> str:
    from triage_dsl.version import __version__

    return __version__


def seal(
    result: TriageResult,
    *,
    protocol: Protocol | None = None,
    session_id: str | None = None,
    clock: Clock | None = None,
    started_at: datetime | str | None = None,
    note: bool = True,
    key: RecordKey | None = None,
) -> TriageResult:
    """The record of ``result``: deterministic given the clock and the session id.

    ``protocol`` (the one evaluated) adds the SHA-256 of every file it was compiled from,
    by path relative to the protocol's root folder; ``started_at`` is when the call
    began (default: the clock's reading at sealing); answers of the log without a time
    (given together, as in a batch) take it. ``note`` renders the triage note into the
    record before it is hashed; ``key`` adds the keyed seal (HMAC-SHA-256 of the head).

    >>> from triage_dsl import evaluate, load
    >>> from triage_dsl.record.clock import FixedClock
    >>> p = load("protocols/rules/qsofa.triage")
    >>> r = seal(evaluate(p, {"resp_rate": 24, "altered_mentation": True}),
    ...          session_id="call-1", clock=FixedClock("2026-03-01T02:14:00Z"))
    >>> r.session_id, r.sealed_at.isoformat(), r.seal.head == r.seal.outcome
    ('call-1', '2026-03-01T02:14:00+00:00', True)
    """
    record = _unhashed(
        result, protocol=protocol, session_id=session_id, clock=clock, started_at=started_at, note=note
    )
    sealed = rehash(record, key)
    logger.info(
        "sealed record of protocol %s (status %s), head %s",
        sealed.protocol.id,
        sealed.status,
        sealed.seal.head[:16] if sealed.seal else "-",
    )
    return sealed


def seal_plain(
    result: Any,
    *,
    protocol: Protocol | None = None,
    session_id: str | None = None,
    clock: Clock | None = None,
    started_at: datetime | str | None = None,
    note: bool = True,
    key: RecordKey | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The record of a plain result (:mod:`triage_dsl.model.plain`) as JSON data: what
    ``seal(...).model_dump(mode="json")`` gives for the same result, clock and session
    id, the same hashes included, without pydantic; and beside it the record as a plain
    object before its hashes (every field but the hashes and the seal: its note is the
    sealed record's)."""
    from triage_dsl.model.plain import json_of

    record = _unhashed(
        result, protocol=protocol, session_id=session_id, clock=clock, started_at=started_at, note=note
    )
    raw = seal_json(json_of(record), key)
    logger.info(
        "sealed record of protocol %s (status %s), head %s",
        raw["protocol"]["id"],
        raw["status"],
        raw["seal"]["head"][:16],
    )
    return record, raw


def _unhashed(
    result: _Result,
    *,
    protocol: Protocol | None,
    session_id: str | None,
    clock: Clock | None,
    started_at: datetime | str | None,
    note: bool,
) -> _Result:
    """The record's fields filled in (a pydantic or a plain result alike), not yet hashed."""
    current: Any = result
    if current.seal is not None:
        raise RecordError("the result is already sealed")
    now = (clock or SYSTEM_CLOCK).now()
    given = started_at if started_at is not None else current.started_at
    start = utc(given) if given is not None else utc(now)
    log = [e if e.at is not None else e.model_copy(update={"at": start}) for e in current.answer_log]
    record = current.model_copy(
        update={
            "schema_version": CHAIN_VERSION,
            "interpreter_version": _version(),
            "session_id": session_id or str(uuid.uuid4()),
            "started_at": start,
            "sealed_at": utc(now),
            "protocol_files": dict(protocol.portable_files) if protocol is not None else None,
            "answer_log": log,
            "note": None,
            "overrides": [],
            "escalation_run": [],
            "redacted": False,
        }
    )
    if note:
        record = record.model_copy(update={"note": render_note(record)})
    unhashed: _Result = record
    return unhashed


def keyed_seal(head: str, key: RecordKey | None) -> KeyedSeal | None:
    from triage_dsl.model.result import KeyedSeal

    return KeyedSeal(key_id=key.key_id, head=head, mac=key.seal_mac(head)) if key is not None else None


def _keyed_json(head: str, key: RecordKey | None) -> dict[str, str] | None:
    """``keyed_seal(head, key).model_dump()``, without the model."""
    if key is None:
        return None
    return {"algorithm": "hmac-sha256", "key_id": key.key_id, "head": head, "mac": key.seal_mac(head)}


def rehash(record: TriageResult, key: RecordKey | None = None) -> TriageResult:
    """Compute every hash of the record from its content (the whole chain, from scratch).

    Anyone can do this to an edited record (the chain is unkeyed): only the keyed seal,
    which needs ``key``, or a head kept elsewhere, tells such a record from the original
    (docs/record.md, threat model)."""
    from triage_dsl.model.result import TriageResult

    return TriageResult.model_validate(seal_json(record.model_dump(mode="json"), key))


def seal_json(raw: dict[str, Any], key: RecordKey | None = None) -> dict[str, Any]:
    """Every hash of a record's JSON data computed from its content, in place: the trace
    entries', the appended links' and the seal (its fields in the model's order)."""
    raw["seal"] = None
    hashes = chain(raw)
    trace = iter(h for link, h in hashes if link.kind == "trace")
    for entry in raw["trace"]:
        entry["hash"] = next(trace)
    by_kind = {link.kind: h for link, h in hashes if link.kind in ("header", "outcome")}
    appended = [h for link, h in hashes if link.kind in ("override", "escalation")]
    raw["seal"] = {
        "algorithm": "sha256",
        "encoding": "json-c14n-1",
        "chain_version": CHAIN_VERSION,
        "header": by_kind["header"],
        "outcome": by_kind["outcome"],
        "head": hashes[-1][1],
        "keyed": _keyed_json(hashes[-1][1], key),
    }
    for item in [*raw["overrides"], *raw["escalation_run"]]:
        item["hash"] = appended[item["seq"] - 1]
    return raw


def next_seq(record: TriageResult) -> int:
    return len(record.overrides) + len(record.escalation_run) + 1


def append(
    record: TriageResult,
    kind: Literal["override", "escalation"],
    item: Override | EscalationStepRun,
    key: RecordKey | None = None,
) -> TriageResult:
    """Append one override or escalation step, chained to the seal's head; a record with
    a keyed seal is extended only with its key (the keyed seal then covers the new head)."""
    if record.seal is None:
        raise RecordError("the record is not sealed: seal the result first")
    if record.redacted:
        raise RecordError("a redacted copy cannot be extended; extend the original record")
    if record.seal.keyed is not None:
        if key is None:
            raise RecordError("the record has a keyed seal: give its key to extend it")
        if key.key_id != record.seal.keyed.key_id:
            raise RecordError("the key given is not the key the record was sealed with")
    dumped = item.model_dump(mode="json")
    content: Mapping[str, Any] = (
        {k: v for k, v in dumped.items() if k != "hash"} if kind == "override" else escalation_content(dumped)
    )
    from triage_dsl.model.result import EscalationStepRun, Override, Seal

    digest = link_hash(kind, record.seal.head, content)
    item = item.model_copy(update={"hash": digest})
    update: dict[str, Any] = {
        "seal": Seal(**{**record.seal.model_dump(), "head": digest, "keyed": keyed_seal(digest, key)})
    }
    if kind == "override":
        assert isinstance(item, Override)
        update["overrides"] = [*record.overrides, item]
    else:
        assert isinstance(item, EscalationStepRun)
        update["escalation_run"] = [*record.escalation_run, item]
    logger.info("appended %s %d to record, head %s", kind, item.seq, digest[:16])
    return record.model_copy(update=update)
