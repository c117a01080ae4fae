"""PHI redaction: a copy of a record fit for logs and analytics.

Kept: the structure (question ids asked and missing, trace steps with their kinds,
nodes, locations and protocol text), the protocol reference and hash, the outcome
(status, disposition, urgency, escalation plan, the deciding section and criterion),
times, and every hash (so a log line can be matched to the full record). Removed: answer
values, values read and computed in the trace, scores, free text that may quote them
(details, explanations, reasons, error messages, the note). Hashed: the session id and
the staff ids of overrides.
"""

from __future__ import annotations

from typing import Any

from triage_dsl.model.call import CallRecord
from triage_dsl.model.result import TriageResult
from triage_dsl.record.canonical import sha256_text

REDACTED = "[redacted]"
_OUTCOME_KINDS = ("section", "default", "continue", "disposition")


def pseudonym(identifier: str) -> str:
    """A stable stand-in for an identifier: equal ids give equal pseudonyms."""
    return "sha256:" + sha256_text(identifier)[:16]


def _redact_entry(entry: dict[str, Any]) -> dict[str, Any]:
    outcome = entry["kind"] in _OUTCOME_KINDS
    return {
        **entry,
        "reads": {k: REDACTED for k in entry["reads"]},
        "value": entry["value"] if outcome else (None if entry["value"] is None else REDACTED),
        "detail": REDACTED if entry["detail"] else "",
        "row": None,
    }


def redact(record: TriageResult) -> TriageResult:
    """A copy of ``record`` without PHI (``redacted`` is true; it cannot be verified)."""
    raw = record.model_dump(mode="json")
    raw["answers"] = {k: REDACTED for k in raw["answers"]}
    raw["trace"] = [_redact_entry(e) for e in raw["trace"]]
    raw["scores"] = {k: None for k in raw["scores"]}
    if raw["decided_by"]:
        raw["decided_by"]["explanation"] = REDACTED
    raw["assumptions"] = [{**a, "assumed": None, "reason": REDACTED} for a in raw["assumptions"]]
    raw["error"] = REDACTED if raw["error"] else None
    raw["errors"] = [{**e, "message": REDACTED} for e in raw["errors"]]
    raw["note"] = None
    if raw["session_id"]:
        raw["session_id"] = pseudonym(raw["session_id"])
    for o in raw["overrides"]:
        o["by"] = pseudonym(o["by"])
        o["reason"] = REDACTED if o["reason"] else None
    for s in raw["escalation_run"]:
        s["event"]["detail"] = REDACTED if s["event"]["detail"] else None
    raw["redacted"] = True
    return TriageResult.model_validate(raw)


def redact_call(call: CallRecord) -> CallRecord:
    """A call record with each protocol's record redacted and the call id hashed."""
    return call.model_copy(
        update={"call_id": pseudonym(call.call_id), "results": [redact(r) for r in call.results]}
    )
