"""A record's answers as a FHIR R4B QuestionnaireResponse: nothing the caller said is lost.

``item`` holds the answers in force at the end of the call (the answer log replayed:
corrections replace, retractions remove; invalid answers and notes are not answers), one
item per question in the order first answered, ``unknown`` as an answer carrying the
data-absent reason ``asked-unknown``. The extension
:data:`~triage_dsl.fhir.codes.EXT_ANSWER_EVENT`, repeated in order, holds **every event
of the answer log**: each answer, correction (with the answer it replaced), retraction,
note and invalid answer, with its time, its reason and the rule an invalid answer broke.
A record without an answer log (schema 1.1 and earlier) gives its ``answers`` as items.
"""

from __future__ import annotations

from typing import Any

from triage_dsl.fhir.codes import (
    AGENT,
    ANSWER_EVENT_KIND,
    ANSWER_PROBLEM,
    CALLER_RELATIONSHIP,
    EXT_ANSWER_EVENT,
    EXT_CALLER,
    protocol_url,
)
from triage_dsl.fhir.values import answer_value
from triage_dsl.model.result import AnswerEvent, TriageResult, final_answers
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.answers import all_questions

STATUS = {"complete": "completed", "needs_answers": "in-progress", "error": "stopped"}


def _typing(protocol: Protocol | None) -> dict[str, tuple[str, dict[str, str]]]:
    """question id -> (type, option labels), when the protocol is known."""
    if protocol is None:
        return {}
    return {qid: (q.type, dict(q.options)) for qid, q in all_questions(protocol.plan).items()}


def _value(
    record: TriageResult, typing: dict[str, tuple[str, dict[str, str]]], qid: str | None, value: Any
) -> dict[str, Any]:
    qtype, labels = typing.get(qid or "", (None, {}))
    label = labels.get(value) if isinstance(value, str) else None
    return answer_value(value, protocol_id=record.protocol.id, question_type=qtype, label=label)


def _sub(url: str, **value: Any) -> dict[str, Any]:
    return {"url": url, **value}


def event_extension(
    record: TriageResult, event: AnswerEvent, typing: dict[str, tuple[str, dict[str, str]]]
) -> dict[str, Any]:
    """One answer-log event as a complex extension (its parts named like the log's fields)."""
    parts: list[dict[str, Any]] = [
        _sub("seq", valueInteger=event.seq),
        _sub("kind", valueCoding={"system": ANSWER_EVENT_KIND, "code": event.kind}),
    ]
    if event.question is not None:
        parts.append(_sub("question", valueString=event.question))
    if event.kind in ("answer", "correction"):
        parts.append(_sub("value", **_value(record, typing, event.question, event.value)))
    if event.previous is not None:
        parts.append(_sub("previous", **_value(record, typing, event.question, event.previous)))
    if event.at is not None:
        parts.append(_sub("at", valueDateTime=event.at.isoformat()))
    if event.reason:
        parts.append(_sub("reason", valueString=event.reason))
    if event.text:
        parts.append(_sub("text", valueString=event.text))
    if event.red_flag:
        parts.append(_sub("red-flag", valueBoolean=True))
    if event.after_outcome:
        parts.append(_sub("after-outcome", valueBoolean=True))
    if event.problem:
        parts.append(_sub("problem", valueCoding={"system": ANSWER_PROBLEM, "code": event.problem}))
    return {"url": EXT_ANSWER_EVENT, "extension": parts}


def caller_extension(record: TriageResult) -> dict[str, Any] | None:
    """The caller block as a complex extension (free text and identifiers left out of a
    redacted copy: it holds only placeholders or pseudonyms for them)."""
    call = record.call
    if call is None:
        return None
    parts: list[dict[str, Any]] = [
        _sub("caller", valueCoding={"system": CALLER_RELATIONSHIP, "code": call.caller}),
        _sub("callback-read-back", valueBoolean=call.callback_read_back),
    ]
    if call.patient_can_come_to_phone is not None:
        parts.append(_sub("patient-can-come-to-phone", valueBoolean=call.patient_can_come_to_phone))
    if call.agreement is not None:
        parts.append(_sub("agreement", valueCode=call.agreement))
    if not record.redacted:
        texts = (
            ("caller-detail", call.caller_detail),
            ("callback-number", call.callback_number),
            ("chief-complaint", call.chief_complaint),
            ("declined-reason", call.declined_reason),
        )
        parts += [_sub(name, valueString=text) for name, text in texts if text]
    return {"url": EXT_CALLER, "extension": parts}


def response_data(record: TriageResult, protocol: Protocol | None = None) -> dict[str, Any]:
    """The QuestionnaireResponse of a sealed record, as a dict the R4B model validates."""
    typing = _typing(protocol)
    log = record.answer_log
    final = final_answers(log) if log else dict(record.answers)
    prompts = {e.question: e.prompt for e in log if e.question is not None and e.prompt}
    items = []
    for qid, value in final.items():
        item: dict[str, Any] = {"linkId": qid}
        if prompts.get(qid):
            item["text"] = prompts[qid]
        item["answer"] = [_value(record, typing, qid, value)]
        items.append(item)
    data: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{protocol_url(record.protocol.id)}|{record.protocol.version}",
        "status": STATUS[record.status],
    }
    caller = caller_extension(record)
    extensions = ([caller] if caller else []) + [event_extension(record, e, typing) for e in log]
    if extensions:
        data["extension"] = extensions
    if record.sealed_at is not None:
        data["authored"] = record.sealed_at.isoformat()
    if record.call is not None and record.call.agent_id and not record.redacted:
        data["author"] = {
            "type": "Practitioner",
            "identifier": {"system": AGENT, "value": record.call.agent_id},
        }
    if items:
        data["item"] = items
    return data
