"""PHI redaction: a copy of a record fit for logs and analytics.

The safe default: every field of a record is either listed here as known to be safe
(protocol text, structure, outcome, times, hashes), or scrubbed field by field, or, a
field this module does not know (a later addition), reset to its empty default. Kept:
the structure (question ids asked and missing, trace steps with their kinds, nodes,
locations and protocol text), the protocol reference and hashes, the outcome (status,
disposition, urgency, escalation plan, the deciding section and criterion), the caller
block's yes/no and choice fields, times, and every hash (so a log line can be matched to
the full record). Removed: answer values, values read and computed in the trace, scores,
every free text (details, explanations, reasons, notes, error messages, the chief
complaint, the note). Pseudonymised (keyed HMAC-SHA-256 with the record key; without a
key, removed): the session id, staff and agent ids, the callback number, and any answer
key that is not a question of the protocol (it may be anything, an MRN included), and
(1.3) who each escalation step was resolved to: the person, the contact used and the
roster event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from triage_dsl.record.keys import RecordKey

if TYPE_CHECKING:
    from triage_dsl.model.call import CallRecord
    from triage_dsl.model.result import TriageResult

REDACTED = "[redacted]"
_OUTCOME_KINDS = ("section", "default", "continue", "disposition")

# Fields copied as they are: protocol text, structure, outcome, times and hashes.
KEPT = (
    "schema_version",
    "protocol",
    "status",
    "disposition",
    "urgency",
    "escalation",
    "asked",
    "missing",
    "next_question",
    "interpreter_version",
    "started_at",
    "sealed_at",
    "protocol_files",
    "seal",
)
# Fields scrubbed one by one below.
SCRUBBED = (
    "answers",
    "scores",
    "trace",
    "decided_by",
    "raised_by",
    "assumptions",
    "error",
    "errors",
    "note",
    "session_id",
    "overrides",
    "escalation_run",
    "answer_log",
    "call",
    "redacted",
)


def pseudonym(identifier: str, key: RecordKey | None) -> str:
    """A keyed stand-in for an identifier (equal ids give equal pseudonyms under one
    key); without a key the identifier is removed: an unkeyed hash of a phone number or
    a staff id is guessed back in seconds."""
    return key.pseudonym(identifier) if key is not None else REDACTED


def _text(value: Any) -> Any:
    return REDACTED if value else value


def _redact_entry(entry: dict[str, Any]) -> dict[str, Any]:
    outcome = entry["kind"] in _OUTCOME_KINDS
    return {
        **entry,
        "reads": {k: REDACTED for k in entry["reads"]},
        "value": entry["value"] if outcome else (None if entry["value"] is None else REDACTED),
        "detail": REDACTED if entry["detail"] else "",
        "row": None,
    }


def _redact_event(event: dict[str, Any], key: RecordKey | None) -> dict[str, Any]:
    known = event["question"] is not None and event["problem"] != "unknown_question"
    return {
        **event,
        "question": event["question"]
        if known or event["question"] is None
        else pseudonym(event["question"], key),
        "value": None if event["value"] is None else REDACTED,
        "previous": None if event["previous"] is None else REDACTED,
        "reason": _text(event["reason"]),
        "text": _text(event["text"]),
        "prompt": event["prompt"] if known else None,
    }


def _redact_call(call: dict[str, Any] | None, key: RecordKey | None) -> dict[str, Any] | None:
    if call is None:
        return None
    return {
        **call,
        "caller_detail": _text(call["caller_detail"]),
        "callback_number": pseudonym(call["callback_number"], key) if call["callback_number"] else None,
        "agent_id": pseudonym(call["agent_id"], key),
        "chief_complaint": REDACTED,
        "declined_reason": _text(call["declined_reason"]),
    }


def _redact_resolution(resolved: dict[str, Any] | None, key: RecordKey | None) -> dict[str, Any] | None:
    """Who a notification was for: the person, the contact used and the roster event
    become pseudonyms (staff ids and addresses); the explanation, which names them, goes."""
    if resolved is None:
        return None
    return {
        **resolved,
        "person": pseudonym(resolved["person"], key) if resolved["person"] else None,
        "contact": pseudonym(resolved["contact"], key) if resolved["contact"] else None,
        "shift": pseudonym(resolved["shift"], key) if resolved["shift"] else None,
        "explanation": REDACTED,
    }


def redact(record: TriageResult, key: RecordKey | None = None) -> TriageResult:
    """A copy of ``record`` without PHI (``redacted`` is true; it cannot be verified).

    ``key`` (the record key) makes identifiers keyed pseudonyms, so log lines of one
    session or one agent can be matched; without it they are removed.
    """
    from triage_dsl.model.result import TriageResult

    fields = (
        (name, info.get_default(call_default_factory=True))
        for name, info in TriageResult.model_fields.items()
    )
    return TriageResult.model_validate(redact_json(record.model_dump(mode="json"), key, fields))


def redact_json(
    raw: dict[str, Any], key: RecordKey | None, fields: Iterable[tuple[str, Any]]
) -> dict[str, Any]:
    """:func:`redact` over a record's JSON data, in place and without the models;
    ``fields``: the record's fields with their empty defaults (a field neither kept nor
    scrubbed here is reset to its default)."""
    raw["answers"] = {k: REDACTED for k in raw["answers"]}
    raw["trace"] = [_redact_entry(e) for e in raw["trace"]]
    raw["scores"] = {k: None for k in raw["scores"]}
    for why in ("decided_by", "raised_by"):
        if raw.get(why):
            raw[why]["explanation"] = REDACTED
    raw["assumptions"] = [{**a, "assumed": None, "reason": REDACTED} for a in raw["assumptions"]]
    raw["error"] = _text(raw["error"])
    raw["errors"] = [
        {
            **e,
            "question": pseudonym(e["question"], key) if e["code"] == "unknown_question" else e["question"],
            "message": REDACTED,
        }
        for e in raw["errors"]
    ]
    raw["note"] = None
    if raw["session_id"]:
        raw["session_id"] = pseudonym(raw["session_id"], key)
    for o in raw["overrides"]:
        o["by"] = pseudonym(o["by"], key)
        o["reason"] = _text(o["reason"])
    for s in raw["escalation_run"]:
        s["event"]["detail"] = _text(s["event"]["detail"])
        if s["event"].get("delivery"):
            s["event"]["delivery"]["detail"] = _text(s["event"]["delivery"]["detail"])
        s["resolved"] = _redact_resolution(s.get("resolved"), key)
    raw["answer_log"] = [_redact_event(e, key) for e in raw["answer_log"]]
    raw["call"] = _redact_call(raw["call"], key)
    raw["redacted"] = True
    for name, default in fields:
        if name not in KEPT and name not in SCRUBBED:  # not known to be safe: emptied
            raw[name] = default
    return raw


def redact_call(call: CallRecord, key: RecordKey | None = None) -> CallRecord:
    """A call record with each protocol's record redacted and the call id pseudonymised."""
    return call.model_copy(
        update={"call_id": pseudonym(call.call_id, key), "results": [redact(r, key) for r in call.results]}
    )
