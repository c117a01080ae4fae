"""A sealed record as a FHIR R4B transaction Bundle.

One Bundle per record (:func:`bundle`), or per call record of several protocols, with:

- a **QuestionnaireResponse**: every answer of the answer log (:mod:`~triage_dsl.fhir.response`);
- a **RiskAssessment**: the disposition in effect (after overrides) as the prediction's
  outcome, its tier as the qualitative risk, its time frame as ``whenRange.high`` (UCUM
  minutes), the protocol as the method, the QuestionnaireResponse as the basis, the
  deciding explanation as the rationale, the care advice as the mitigation, and the
  reasoning, one trace line a note, followed by any floor, assumption and override;
- one **CommunicationRequest** per step of the escalation plan in effect (role,
  channel, the text to tell the caller), its status from the escalation run; before
  them, one per step of each earlier run that had events (an override ended it and
  started the run in effect): what was done stays ``completed``, what was not reached is
  ``revoked``, naming the override;
- a **Provenance** targeting them all, carrying the seal's head (and the keyed seal,
  as a signature, when the record has one).

RiskAssessment rather than ClinicalImpression: a protocol's result is a stratification
computed by a stated method from recorded answers (``method``, ``basis``,
``prediction.outcome``, ``qualitativeRisk``, ``when``); ClinicalImpression models a
clinician's assessment process and findings, which the record does not hold.

Deterministic: entry ids are derived from the seal's head (a call's from its hash), times
come from the record, never the clock, so the same record gives the same bytes.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from triage_dsl.errors import RecordError
from triage_dsl.fhir.codes import (
    CALL_HASH,
    CHANNEL,
    ESCALATION_EVENT,
    EXT_ESCALATION_EVENT,
    EXT_STEP,
    PROVENANCE_ACTIVITY,
    PROVENANCE_AGENT,
    RECORD_HEAD,
    ROLE,
    SECURITY_VALUE,
    SESSION,
    SIGNATURE_TYPE,
    STAFF,
    TIER,
    UCUM,
    disposition_system,
    full_url,
    protocol_url,
)
from triage_dsl.fhir.response import response_data
from triage_dsl.fhir.values import REDACTED
from triage_dsl.model.call import CallRecord
from triage_dsl.model.result import Disposition, EscalationStepRun, TriageResult, Urgency
from triage_dsl.protocol import Protocol
from triage_dsl.record.escalation import EscalationRun, EscalationState, run, runs
from triage_dsl.record.overrides import in_effect

SUBJECT = {"type": "Patient", "display": "the patient of the call (to be matched by the receiving system)"}
RA_STATUS = {"complete": "final", "needs_answers": "preliminary", "error": "cannot-be-determined"}


def bundle(record: TriageResult | CallRecord, protocol: Protocol | None = None) -> Bundle:
    """The transaction Bundle of a sealed record (or a call record of several protocols).

    ``protocol`` (optional, the protocol the record was made with) types each answer as
    its question does (a number as decimal or integer, an option with its label); without
    it the type is read from the JSON answer. Raises :class:`~triage_dsl.errors.RecordError`
    for a result that is not sealed.
    """
    if isinstance(record, CallRecord):
        return _call_bundle(record, protocol)
    head = _head(record)
    entries = record_entries(record, protocol)
    return Bundle.model_validate(_bundle(head, RECORD_HEAD, record.redacted, entries, _latest(record)))


def _head(record: TriageResult) -> str:
    if record.seal is None:
        raise RecordError(
            f"the result of '{record.protocol.id}' is not sealed: export a record "
            "(triage eval --answers gives one), not a bare result"
        )
    return record.seal.head


def _last_time(record: TriageResult) -> datetime:
    """The record's last time: its last override or escalation event, else the seal."""
    times = [o.at for o in record.overrides] + [s.event.at for s in record.escalation_run]
    assert record.sealed_at is not None
    return max([record.sealed_at, *times])


def _latest(record: TriageResult) -> str:
    return _last_time(record).isoformat()


def _bundle(
    ident: str, system: str, redacted: bool, entries: list[dict[str, Any]], timestamp: str
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": full_url(ident, "Bundle")[len("urn:uuid:") :],
        "identifier": {"system": system, "value": ident},
        "type": "transaction",
        "timestamp": timestamp,
        "entry": entries,
    }
    if redacted:
        data["meta"] = {"security": [{"system": SECURITY_VALUE, "code": "REDACTED", "display": "redacted"}]}
    return data


def _entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def record_entries(record: TriageResult, protocol: Protocol | None = None) -> list[dict[str, Any]]:
    """The entries of one record: QuestionnaireResponse, RiskAssessment, one
    CommunicationRequest per escalation step, and the Provenance targeting them."""
    head = _head(record)
    qr_url = full_url(head, "QuestionnaireResponse")
    ra_url = full_url(head, "RiskAssessment")
    entries = [_entry(qr_url, response_data(record, protocol)), _entry(ra_url, _risk(record, qr_url))]
    entries += [
        _entry(full_url(head, "CommunicationRequest", *ids), cr) for ids, cr in _requests(record, ra_url)
    ]
    entries.append(_entry(full_url(head, "Provenance"), _provenance(record, [e["fullUrl"] for e in entries])))
    return entries


# ----------------------------------------------------------------- RiskAssessment


def _disposition(protocol_id: str, disposition: Disposition) -> dict[str, Any]:
    return {
        "coding": [
            {"system": disposition_system(protocol_id), "code": disposition.id, "display": disposition.label}
        ],
        "text": disposition.label,
    }


def _tier(urgency: Urgency) -> dict[str, Any]:
    frame = f", {urgency.time_frame}" if urgency.time_frame else ""
    return {
        "coding": [{"system": TIER, "code": urgency.tier, "display": urgency.label}],
        "text": f"{urgency.label} (rank {urgency.rank}{frame})",
    }


def _prediction(protocol_id: str, disposition: Disposition | None, urgency: Urgency | None) -> dict[str, Any]:
    prediction: dict[str, Any] = {}
    if disposition is not None:
        prediction["outcome"] = _disposition(protocol_id, disposition)
    if urgency is not None:
        prediction["qualitativeRisk"] = _tier(urgency)
        if urgency.time_frame_minutes is not None:
            prediction["whenRange"] = {
                "high": {"value": urgency.time_frame_minutes, "unit": "min", "system": UCUM, "code": "min"}
            }
    return prediction


def reasoning(record: TriageResult) -> list[str]:
    """The reasoning as lines: each trace entry (location, kind, text, detail), then the
    floor that raised the outcome, the assumptions, and each override."""
    lines = []
    for t in record.trace:
        detail = f": {t.detail}" if t.detail and t.detail != REDACTED else ""
        lines.append(f"{t.step}. [{t.kind}] {t.location} {t.text}{detail}")
    if record.raised_by is not None:
        lines.append(
            f"raised by a floor at {record.raised_by.floor_location}: {record.raised_by.explanation}"
        )
    for a in record.assumptions:
        reason = f": {a.reason}" if a.reason != REDACTED else ""
        lines.append(f"assumed {a.question} ({a.location}){reason}")
    for o in record.overrides:
        reason = f": {o.reason}" if o.reason and o.reason != REDACTED else ""
        by = "" if record.redacted else f" by {o.by}"
        lines.append(
            f"override {o.seq}{by} at {o.at.isoformat()}, {o.previous_disposition or '-'} -> "
            f"{o.disposition.id} ({o.direction}){reason}"
        )
    return lines


def _rationale(record: TriageResult) -> str | None:
    """Why the disposition in effect is what it is: the deciding explanation, or the
    last override with the protocol's own result and reason beside it."""
    computed = record.decided_by.explanation if record.decided_by is not None else None
    if computed == REDACTED:
        computed = None
    if not record.overrides:
        return computed
    last = record.overrides[-1]
    why = f": {last.reason}" if last.reason and last.reason != REDACTED else ""
    by = "" if record.redacted else f" by {last.by}"
    gave = record.disposition.id if record.disposition else "no disposition"
    text = (
        f"override {last.seq}{by} ({last.direction}) to {last.disposition.id}{why}; the protocol gave {gave}"
    )
    return f"{text}: {computed}" if computed else text


def _risk(record: TriageResult, basis: str) -> dict[str, Any]:
    effect = in_effect(record)
    pid = record.protocol.id
    data: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": "amended" if record.overrides else RA_STATUS[record.status],
        "method": {
            "coding": [
                {
                    "system": protocol_url(pid),
                    "code": pid,
                    "display": record.protocol.title,
                    "version": record.protocol.version,
                }
            ],
            "text": f"{record.protocol.title} {record.protocol.version}",
        },
        "subject": SUBJECT,
        "basis": [{"reference": basis}],
    }
    if record.sealed_at is not None:
        data["occurrenceDateTime"] = record.sealed_at.isoformat()
    if record.call is not None and record.call.chief_complaint and not record.redacted:
        data["reasonCode"] = [{"text": record.call.chief_complaint}]
    prediction = _prediction(pid, effect.disposition, effect.urgency)
    rationale = _rationale(record)
    if rationale:
        prediction["rationale"] = rationale
    if prediction:
        data["prediction"] = [prediction]
    if effect.disposition is not None and effect.disposition.care_advice:
        data["mitigation"] = "\n".join(effect.disposition.care_advice)
    lines = reasoning(record)
    if record.error and not record.redacted:
        lines.append(f"error: {record.error}")
    if lines:
        data["note"] = [{"text": line} for line in lines]
    return data


# ----------------------------------------------------------------- CommunicationRequest


def step_status(
    index: int, state: EscalationState, done_at_step: int | None, tell: bool = False
) -> tuple[str, str]:
    """A plan step's request status (0-based ``index``; ``tell``: a ``tell caller``
    step) and why, from where the run is."""
    passed = "the caller was told" if tell else "done without a callback; the run went on to the next step"
    if state.phase == "done" and done_at_step is not None:
        if index == done_at_step:
            return "completed", "the clinician called back"
        if index > done_at_step:
            return "revoked", f"not needed: a callback came at step {done_at_step + 1}"
        return "completed", passed
    if index < state.step:
        return "completed", passed
    if index == state.step and state.phase in ("act", "waiting"):
        return "active", "waiting for a callback" if state.phase == "waiting" else "to do now"
    if state.phase in ("fallback", "done"):
        return "completed", "done without a callback"
    return "draft", f"after step {state.step + 1}, if that step brings no callback"


def _called_back(steps: list[EscalationStepRun]) -> int | None:
    """The step (0-based) whose notification the callback answered: the last one paged."""
    paged: int | None = None
    for s in steps:
        if s.event.kind == "paged" and s.step is not None:
            paged = s.step - 1
        if s.event.kind == "callback":
            return paged
    return None


def _requests(record: TriageResult, reason: str) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The requests of the run in effect (ids by step number), after those of each earlier
    run that had events (ids by run and step): an override ended it, and what was done
    in it stays in the export, the steps it did not reach ``revoked``."""
    found = runs(record)
    out: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    for number, (each, ended_by) in enumerate(zip(found, [*found[1:], None], strict=True), start=1):
        if ended_by is None:
            out += [((str(n),), data) for n, data in _run_requests(record, each, reason, None)]
        elif each.steps:
            ids = ("run", str(number))
            out += [((*ids, str(n)), data) for n, data in _run_requests(record, each, reason, ended_by)]
    return out


def _run_requests(
    record: TriageResult, current: EscalationRun, reason: str, ended_by: EscalationRun | None
) -> list[tuple[int, dict[str, Any]]]:
    plan = current.plan
    if plan is None:
        return []
    steps = list(current.steps)
    state, _ = run(plan, [s.event for s in steps], current.started_at)
    done_at = _called_back(steps)
    requests = []
    for index, step in enumerate(plan.steps):
        status, why = step_status(index, state, done_at, step.kind == "tell_caller")
        if ended_by is not None and status in ("active", "draft"):
            nxt = ended_by.plan
            then = f"plan {nxt.id}, from its first step" if nxt else "no escalation plan"
            started = ended_by.started_at  # a four-digit year (%Y gives "1" for year 1)
            when = f"{started.date().isoformat()}T{started:%H:%M:%S}Z"
            status, why = "revoked", f"ended by {ended_by.origin} at {when}: {then}"
        data: dict[str, Any] = {
            "resourceType": "CommunicationRequest",
            "extension": [
                {
                    "url": EXT_STEP,
                    "extension": [
                        {"url": "plan", "valueString": plan.id},
                        {"url": "step", "valueInteger": index + 1},
                        {"url": "kind", "valueString": step.kind},
                    ],
                }
            ],
            "status": status,
            "statusReason": {"text": why},
            "subject": SUBJECT,
            "reasonReference": [{"reference": reason}],
        }
        events = [s for s in steps if s.step == index + 1]
        data["extension"] += [_event(s, record.redacted) for s in events]
        if step.kind == "notify":
            data["recipient"] = [
                {"identifier": {"system": ROLE, "value": step.role or "-"}, "display": step.role or "-"}
            ]
            if step.channel:
                data["medium"] = [
                    {"coding": [{"system": CHANNEL, "code": step.channel}], "text": step.channel}
                ]
            wait = f", wait {step.wait_minutes:g} min" if step.wait_minutes else ""
            retries = f", {step.retries} retr{'y' if step.retries == 1 else 'ies'}" if step.retries else ""
            data["payload"] = [{"contentString": f"notify {step.role} by {step.channel}{wait}{retries}"}]
        else:
            data["recipient"] = [{"display": "the caller"}]
            data["payload"] = [{"contentString": step.text or ""}]
        due = [n.due_at for n in (s.next for s in events) if n.due_at is not None]
        if events:
            data["occurrenceDateTime"] = events[0].event.at.isoformat()
        elif index == state.step and state.phase == "act":
            data["occurrenceDateTime"] = state.due_at.isoformat()
        elif due:
            data["occurrenceDateTime"] = due[-1].isoformat()
        data["authoredOn"] = current.started_at.isoformat()
        requests.append((index + 1, data))
    return requests


def _event(step: EscalationStepRun, redacted: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [
        {"url": "seq", "valueInteger": step.seq},
        {"url": "kind", "valueCoding": {"system": ESCALATION_EVENT, "code": step.event.kind}},
        {"url": "at", "valueDateTime": step.event.at.isoformat()},
        {"url": "attempt", "valueInteger": step.attempt},
        {"url": "next", "valueString": step.next.explanation},
    ]
    if step.event.detail and not redacted:
        parts.append({"url": "detail", "valueString": step.event.detail})
    return {"url": EXT_ESCALATION_EVENT, "extension": parts}


# ----------------------------------------------------------------- Provenance


def _provenance(record: TriageResult, targets: list[str]) -> dict[str, Any]:
    assert record.seal is not None and record.sealed_at is not None
    from triage_dsl.record.seal import _version

    version = record.interpreter_version or _version()
    data: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": url} for url in targets],
        "recorded": _latest(record),
        "activity": {"coding": [{"system": PROVENANCE_ACTIVITY, "code": "CREATE", "display": "create"}]},
        "agent": [
            {
                "type": {
                    "coding": [{"system": PROVENANCE_AGENT, "code": "assembler", "display": "Assembler"}]
                },
                "who": {"type": "Device", "display": f"triage-dsl {version}"},
            }
        ],
        "entity": [
            {
                "role": "source",
                "what": {
                    "identifier": {"system": RECORD_HEAD, "value": record.seal.head},
                    "display": f"sealed record of {record.protocol.id} (chain {record.seal.chain_version})",
                },
            },
            {
                "role": "instantiates",
                "what": {
                    "identifier": {
                        "system": protocol_url(record.protocol.id),
                        "value": record.protocol.content_sha256 or record.protocol.sha256,
                    },
                    "display": f"{record.protocol.title} {record.protocol.version}",
                },
            },
        ],
    }
    if record.session_id and not record.redacted:
        session = {"identifier": {"system": SESSION, "value": record.session_id}}
        data["entity"].append({"role": "derivation", "what": session})
    if record.call is not None and record.call.agent_id and not record.redacted:
        data["agent"].append(
            {
                "type": {"coding": [{"system": PROVENANCE_AGENT, "code": "enterer", "display": "Enterer"}]},
                "who": {
                    "type": "Practitioner",
                    "identifier": {"system": STAFF, "value": record.call.agent_id},
                },
            }
        )
    keyed = record.seal.keyed
    if keyed is not None:
        data["signature"] = [
            {
                "type": [
                    {
                        "system": SIGNATURE_TYPE,
                        "code": "1.2.840.10065.1.12.1.5",
                        "display": "Verification Signature",
                    }
                ],
                "when": _latest(record),
                "who": {"type": "Device", "display": f"record key {keyed.key_id}"},
                "sigFormat": "application/hmac-sha256",
                "data": base64.b64encode(bytes.fromhex(keyed.mac)).decode("ascii"),
            }
        ]
    return data


# ----------------------------------------------------------------- call records


def _call_bundle(call: CallRecord, protocol: Protocol | None) -> Bundle:
    if call.hash is None:
        raise RecordError(f"the call record '{call.call_id}' has no hash: combine the sealed records again")
    entries: list[dict[str, Any]] = []
    risks: list[str] = []
    for result in call.results:
        mine = protocol if protocol is not None and protocol.sha256 == result.protocol.sha256 else None
        these = record_entries(result, mine)
        risks += [e["fullUrl"] for e in these if e["resource"]["resourceType"] == "RiskAssessment"]
        entries += these
    ra_url = full_url(call.hash, "RiskAssessment")
    risk: dict[str, Any] = {
        "resourceType": "RiskAssessment",
        "status": {"complete": "final", "needs_answers": "preliminary", "error": "cannot-be-determined"}[
            call.status
        ],
        "subject": SUBJECT,
        "occurrenceDateTime": call.sealed_at.isoformat(),
        "basis": [{"reference": url} for url in risks],
        "note": [{"text": call.reason}],
    }
    prediction = _prediction(call.protocol or "-", call.disposition, call.urgency)
    if prediction:
        risk["prediction"] = [{**prediction, "rationale": call.reason}]
    entries.append(_entry(ra_url, risk))
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "target": [{"reference": ra_url}],
        "recorded": call.sealed_at.isoformat(),
        "agent": [
            {
                "type": {
                    "coding": [{"system": PROVENANCE_AGENT, "code": "assembler", "display": "Assembler"}]
                },
                "who": {"type": "Device", "display": f"triage-dsl {call.interpreter_version}"},
            }
        ],
        "entity": [{"role": "source", "what": {"identifier": {"system": CALL_HASH, "value": call.hash}}}],
    }
    if call.keyed is not None:
        provenance["signature"] = [
            {
                "type": [
                    {
                        "system": SIGNATURE_TYPE,
                        "code": "1.2.840.10065.1.12.1.5",
                        "display": "Verification Signature",
                    }
                ],
                "when": call.sealed_at.isoformat(),
                "who": {"type": "Device", "display": f"record key {call.keyed.key_id}"},
                "sigFormat": "application/hmac-sha256",
                "data": base64.b64encode(bytes.fromhex(call.keyed.mac)).decode("ascii"),
            }
        ]
    entries.append(_entry(full_url(call.hash, "Provenance"), provenance))
    redacted = any(r.redacted for r in call.results)
    last = max([call.sealed_at, *(_last_time(r) for r in call.results)])
    return Bundle.model_validate(_bundle(call.hash, CALL_HASH, redacted, entries, last.isoformat()))
