"""Calls with several protocols: each protocol's record, and the most urgent disposition.

The call takes the disposition in effect (after overrides) with the lowest tier rank;
ties go to the protocol run first. While any protocol still needs answers (or failed),
the call has no disposition: a pending protocol could still be the more urgent one.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from triage_dsl.errors import RecordError
from triage_dsl.model.call import CallRecord
from triage_dsl.model.result import TriageResult
from triage_dsl.record.canonical import GENESIS, link_hash
from triage_dsl.record.clock import SYSTEM_CLOCK, Clock, utc
from triage_dsl.record.keys import RecordKey
from triage_dsl.record.overrides import in_effect
from triage_dsl.record.seal import _version, keyed_seal

log = logging.getLogger("triage_dsl.record")


def call_decision(results: Sequence[TriageResult]) -> dict[str, Any]:
    """The call's status, protocol, disposition, urgency, escalation and reason."""
    if not results:
        raise RecordError("a call needs at least one protocol's record")
    pending = [r.protocol.id for r in results if r.status != "complete"]
    if pending:
        status = "error" if any(r.status == "error" for r in results) else "needs_answers"
        return {
            "status": status,
            "reason": "no disposition yet: not complete for " + ", ".join(pending),
        }
    effective = [(r, in_effect(r)) for r in results]
    ranked = [(e.urgency.rank if e.urgency else 10**6, i) for i, (_, e) in enumerate(effective)]
    _, best = min(ranked)
    record, chosen = effective[best]
    assert chosen.disposition is not None and chosen.urgency is not None
    each = "; ".join(
        f"{r.protocol.id} -> {e.disposition.id if e.disposition else '-'}"
        f" (tier {e.urgency.tier if e.urgency else '-'}, rank {e.urgency.rank if e.urgency else '-'}"
        f"{', overridden' if e.source != 'computed' else ''})"
        for r, e in effective
    )
    return {
        "status": "complete",
        "protocol": record.protocol.id,
        "disposition": chosen.disposition,
        "urgency": chosen.urgency,
        "escalation": chosen.escalation,
        "reason": f"the most urgent of {len(results)} protocol(s) (lowest tier rank, first on a tie): {each}",
    }


def call_hash(call: dict[str, Any]) -> str:
    """The call's hash over its JSON: every field but the results, plus each result's seal head."""
    content = {k: v for k, v in call.items() if k not in ("hash", "results", "keyed")}
    content["results"] = [(r.get("seal") or {}).get("head") for r in call.get("results") or []]
    return link_hash("call", GENESIS, content)


def combine(
    records: Sequence[TriageResult],
    *,
    call_id: str | None = None,
    clock: Clock | None = None,
    key: RecordKey | None = None,
) -> CallRecord:
    """One call record from the sealed records of the protocols the call ran (``key``
    adds the keyed seal of the call's hash)."""
    if any(r.seal is None for r in records):
        raise RecordError("seal each protocol's result before combining them into a call")
    call = CallRecord(
        call_id=call_id or str(uuid.uuid4()),
        interpreter_version=_version(),
        sealed_at=utc((clock or SYSTEM_CLOCK).now()),
        results=list(records),
        **call_decision(records),
    )
    digest = call_hash(call.model_dump(mode="json"))
    call = call.model_copy(update={"hash": digest, "keyed": keyed_seal(digest, key)})
    log.info("call record of %d protocol(s), disposition from %s", len(records), call.protocol or "-")
    return call
