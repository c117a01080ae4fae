"""FHIR export: every resource validates with the R4B models, the same record gives the
same bytes, every answer of the log reaches the QuestionnaireResponse, redacted records
carry no free text, and the command line refuses bad input with exit 2."""

from __future__ import annotations

import base64
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communicationrequest import CommunicationRequest
from fhir.resources.R4B.provenance import Provenance
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from fhir.resources.R4B.riskassessment import RiskAssessment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.test_cli import run
from tests.conftest import PROTOCOLS
from tests.record.helpers import BREATHING, CHEST, T0, chest, clock, example, sealed
from tests.record.test_overrides_calls import _all_no
from triage_dsl import CallInfo, Session, evaluate, load
from triage_dsl.errors import TriageError
from triage_dsl.fhir import bundle, questionnaire, to_json
from triage_dsl.fhir.codes import EXT_ANSWER_EVENT, EXT_UNKNOWN_ALLOWED, RECORD_HEAD
from triage_dsl.model.result import TriageResult, final_answers
from triage_dsl.record import FixedClock, combine, escalate, override, redact, seal
from triage_dsl.record.keys import RecordKey
from triage_dsl.runtime.answers import all_questions

DATA = Path(__file__).resolve().parents[1] / "data" / "fhir"
MODELS = {
    "QuestionnaireResponse": QuestionnaireResponse,
    "RiskAssessment": RiskAssessment,
    "CommunicationRequest": CommunicationRequest,
    "Provenance": Provenance,
}
KEY = RecordKey(b"k" * 32)


def full_record() -> TriageResult:
    """The chest-pain record of a whole call: caller block, a correction, a retraction,
    an unknown, a note, an override, an escalation run, sealed with a key."""
    protocol = load(CHEST)
    call = CallInfo(
        caller="spouse_or_partner",
        callback_number="555 0100",
        callback_read_back=True,
        patient_can_come_to_phone=False,
        agent_id="agent-17",
        chief_complaint="his chest feels tight",
    )
    s = Session(protocol, call=call, clock=FixedClock(T0, step=timedelta(seconds=30)))
    s.answer("coughing_blood", True)
    s.retract("coughing_blood", reason="that was last winter")
    s.note("he had a stent in 2019")
    while (question := s.result().next_question) is not None and question.id != "pain_minutes":
        s.answer(question.id, False)
    s.answer("pain_minutes", 5)
    s.answer("pain_minutes", "unknown", reason="misheard: she does not know when it began")
    while (question := s.result().next_question) is not None:
        s.answer(question.id, False)
    s.respond(False, "will drive him in herself")
    record = seal(s.result(), protocol=protocol, session_id="call-0001", clock=clock(), key=KEY)
    record = override(
        record, protocol, "ed_now", by="rn_jones", reason="already at the ED door", clock=clock(), key=KEY
    )
    record = escalate(record, "paged", at="2026-03-01T02:30:00Z", detail="paged Dr Lee", key=KEY)
    return record


def resources(b: Bundle) -> list[Any]:
    return [e.resource for e in b.entry or []]


def parsed_back(b: Bundle) -> list[Any]:
    """Every entry parsed back from the Bundle's JSON by its own R4B model."""
    data = json.loads(to_json(b))
    assert Bundle.model_validate(data).model_dump(mode="json") == data
    out = []
    for entry in data["entry"]:
        model = MODELS[entry["resource"]["resourceType"]]
        out.append(model.model_validate(entry["resource"]))
    return out


def test_a_record_is_one_transaction_bundle_of_four_kinds_of_resource() -> None:
    record = full_record()
    b = bundle(record, load(CHEST))
    assert b.type == "transaction" and b.identifier.system == RECORD_HEAD
    assert b.identifier.value == record.seal.head  # type: ignore[union-attr]
    kinds = [r.get_resource_type() for r in parsed_back(b)]
    plan = record.overrides[-1].escalation
    assert plan is not None
    assert kinds == [
        "QuestionnaireResponse",
        "RiskAssessment",
        *["CommunicationRequest"] * len(plan.steps),
        "Provenance",
    ]
    for entry in b.entry or []:
        assert entry.fullUrl.startswith("urn:uuid:") and entry.request.method == "POST"


def test_the_provenance_targets_every_other_resource_and_carries_the_seal() -> None:
    record = full_record()
    b = bundle(record)
    entries = b.entry or []
    provenance = entries[-1].resource
    assert {t.reference for t in provenance.target} == {e.fullUrl for e in entries[:-1]}
    heads = [e.what.identifier.value for e in provenance.entity if e.role == "source"]
    assert heads == [record.seal.head]  # type: ignore[union-attr]

    assert record.seal is not None and record.seal.keyed is not None
    assert provenance.signature[0].data.hex() == record.seal.keyed.mac


def test_the_risk_assessment_carries_the_disposition_in_effect_tier_time_frame_and_reasons() -> None:
    record = full_record()
    risk = resources(bundle(record))[1]
    effect = record.overrides[-1]
    prediction = risk.prediction[0]
    assert prediction.outcome.coding[0].code == effect.disposition.id == "ed_now"
    assert prediction.qualitativeRisk.coding[0].code == effect.urgency.tier
    if effect.urgency.time_frame_minutes is not None:
        assert float(prediction.whenRange.high.value) == effect.urgency.time_frame_minutes
    assert risk.status == "amended"
    notes = [n.text for n in risk.note]
    assert len(notes) >= len(record.trace)
    for entry, line in zip(record.trace, notes, strict=False):
        assert entry.location in line and entry.text in line
    assert any("override 1 by rn_jones" in n and "already at the ED door" in n for n in notes)


def test_escalation_requests_take_their_status_from_the_run() -> None:
    _, record = chest()
    b0 = resources(bundle(record))
    assert [r.status for r in b0 if r.get_resource_type() == "CommunicationRequest"] == [
        "active",
        "draft",
        "draft",
    ]
    record = escalate(record, "told_caller", at="2026-03-01T02:15:00Z")
    record = escalate(record, "paged", at="2026-03-01T02:16:00Z")
    record = escalate(record, "callback", at="2026-03-01T02:20:00Z")
    requests = [r for r in resources(bundle(record)) if r.get_resource_type() == "CommunicationRequest"]
    assert [r.status for r in requests] == ["completed", "completed", "revoked"]
    assert [r.statusReason.text for r in requests] == [
        "the caller was told",
        "the clinician called back",
        "not needed: a callback came at step 2",
    ]
    assert requests[1].recipient[0].display == "on_call_physician"
    assert requests[1].medium[0].text == "secure_message"
    assert requests[0].payload[0].contentString.startswith("Hang up and call 911")


def test_the_same_record_gives_the_same_bytes() -> None:
    record = full_record()
    first = to_json(bundle(record, load(CHEST)))
    again = TriageResult.model_validate_json(record.model_dump_json())
    assert to_json(bundle(again, load(CHEST))) == first
    assert to_json(bundle(full_record(), load(CHEST))) == first


def _golden(name: str, text: str) -> None:
    path = DATA / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"rerun with UPDATE_GOLDEN=1 and review {path}"


def test_golden_bundle() -> None:
    _golden("chest_bundle.json", to_json(bundle(full_record(), load(CHEST))))


def test_golden_questionnaire() -> None:
    _golden("chest_questionnaire.json", to_json(questionnaire(load(CHEST))))


SHIPPED = sorted(p for p in PROTOCOLS.rglob("*.triage") if p.name not in ("shared.triage", "rules.triage"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_question_of_every_shipped_protocol_is_an_item(path: Path) -> None:
    protocol = load(path)
    q = Questionnaire.model_validate(json.loads(to_json(questionnaire(protocol))))
    items = {i.linkId: i for i in q.item or []}
    expected = {"yes/no": "boolean", "number": "decimal", "whole number": "integer", "choice": "choice"}
    assert q.version == protocol.version and protocol.content_sha256 in {i.value for i in q.identifier}
    for qid, question in all_questions(protocol.plan).items():
        item = items[qid]
        assert item.text == question.prompt
        assert item.type == expected.get(question.type, "quantity")
        allowed = [e.valueBoolean for e in item.extension if e.url == EXT_UNKNOWN_ALLOWED]
        assert allowed == [question.unknown_allowed]
        if question.type == "choice":
            assert [o.valueCoding.code for o in item.answerOption] == list(question.option_ids)
        helps = [i.text for i in item.item or []]
        assert helps == ([question.help] if question.help else [])
    if protocol.header.disclaimers:
        assert all(d in (q.description or "") for d in protocol.header.disclaimers)


ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["answer", "answer", "answer", "retract", "note"]),
        st.sampled_from(sorted(all_questions(load(CHEST).plan))),
        st.sampled_from([True, False, "unknown", 0, 12, 45.5]),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACTIONS)
def test_every_answer_of_the_log_is_in_the_questionnaire_response(actions: list[Any]) -> None:
    protocol = load(CHEST)
    s = Session(protocol, clock=FixedClock(T0, step=timedelta(seconds=10)))
    for kind, qid, value in actions:
        try:
            if kind == "answer":
                s.answer(qid, value, reason="caller corrected")
            elif kind == "retract":
                s.retract(qid, reason="taken back")
            else:
                s.note(f"said {value}")
        except TriageError:  # refused after the outcome, or an invalid answer: not logged
            continue
    _check_response(seal(s.result(), protocol=protocol, session_id="p", clock=clock()), protocol)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from([*sorted(all_questions(load(CHEST).plan)), "mrn", "Pain"]),
        st.one_of(
            st.booleans(),
            st.integers(-5, 20000),
            st.floats(-1, 100, allow_nan=False),
            st.sampled_from(["unknown", "yes", "11 weeks"]),
            st.none(),
            st.lists(st.booleans(), max_size=2),
        ),
    )
)
def test_every_answer_of_a_batch_invalid_ones_too_is_in_the_questionnaire_response(
    answers: dict[str, Any],
) -> None:
    protocol = load(CHEST)
    _check_response(
        seal(evaluate(protocol, answers), protocol=protocol, session_id="p", clock=clock()), protocol
    )
    _check_response(seal(evaluate(protocol, answers), session_id="p", clock=clock()), None)


def _check_response(record: TriageResult, protocol: Any) -> None:
    response = resources(bundle(record, protocol))[0]
    data = json.loads(response.model_dump_json())
    events = [e for e in data.get("extension", []) if e["url"] == EXT_ANSWER_EVENT]
    assert len(events) == len(record.answer_log)
    for event, ext in zip(record.answer_log, events, strict=True):
        parts = {p["url"]: p for p in ext["extension"]}
        assert parts["seq"]["valueInteger"] == event.seq
        assert parts["kind"]["valueCoding"]["code"] == event.kind
        assert parts.get("question", {}).get("valueString") == event.question
        if event.kind in ("answer", "correction"):
            assert _shown(parts["value"]) == event.value
        if event.previous is not None:
            assert _shown(parts["previous"]) == event.previous
    items = {i["linkId"]: _shown(i["answer"][0]) for i in data.get("item", [])}
    assert items == final_answers(record.answer_log)


def _shown(part: dict[str, Any]) -> Any:
    """The JSON answer a FHIR value stands for (the inverse of answer_value)."""
    for key, value in part.items():
        if key == "valueQuantity":
            return f"{value['value']} {value['unit']}"
        if key == "valueAttachment":
            assert value["contentType"] == "application/json"
            return json.loads(base64.b64decode(value["data"]))
        if key.startswith("value"):
            return value["code"] if key == "valueCoding" else value
    reasons = [e["valueCode"] for e in part.get("extension", [])]
    return {"asked-unknown": "unknown", "masked": "[redacted]"}[reasons[0]]


def test_a_redacted_record_exports_without_free_text() -> None:
    record = full_record()
    text = to_json(bundle(redact(record)))
    secrets = [
        "his chest feels tight",
        "misheard",
        "that was last winter",
        "stent",
        "will drive him",
        "already at the ED door",
        "paged Dr Lee",
        "agent-17",
        "rn_jones",
        "call-0001",
        "555 0100",
    ]
    assert [s for s in secrets if s in text] == []
    full = to_json(bundle(record))
    assert [s for s in secrets if s not in full] == []
    b = Bundle.model_validate_json(text)
    assert b.meta.security[0].code == "REDACTED"
    parsed_back(b)


def test_a_call_record_is_one_bundle_with_every_protocol_and_the_call_decision() -> None:
    _, chest_record = chest()
    _, breathing_record = sealed(BREATHING, _all_no(BREATHING), session="call-0002")
    call = combine([breathing_record, chest_record], call_id="call-0001", clock=clock(), key=KEY)
    b = bundle(call)
    kinds = [r.get_resource_type() for r in parsed_back(b)]
    assert kinds.count("QuestionnaireResponse") == 2 and kinds.count("Provenance") == 3
    call_risk = resources(b)[-2]
    assert call_risk.prediction[0].outcome.coding[0].code == call.disposition.id  # type: ignore[union-attr]
    assert len(call_risk.basis) == 2
    assert to_json(bundle(call)) == to_json(b)


def test_an_unsealed_result_is_refused() -> None:
    from triage_dsl.errors import RecordError

    with pytest.raises(RecordError, match="not sealed"):
        bundle(evaluate(load(CHEST), example("chest_pain_emergency")))


# ----------------------------------------------------------------- the command line


def test_cli_writes_the_bundle_and_the_questionnaire(tmp_path: Path) -> None:
    record = tmp_path / "record.json"
    record.write_text(full_record().model_dump_json(indent=2))
    code, out, err = run("fhir", str(record), "--protocol", str(CHEST))
    assert code == 0 and err == ""
    assert out == to_json(bundle(full_record(), load(CHEST)))
    target = tmp_path / "bundle.json"
    code, out, _ = run("fhir", str(record), "--out", str(target))
    assert code == 0 and out == "" and Bundle.model_validate_json(target.read_text()).type == "transaction"
    code, out, _ = run("fhir", "--questionnaire", str(CHEST))
    assert code == 0 and out == to_json(questionnaire(load(CHEST)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("[1]", "not a record (expected a JSON object)"),
        ('{"a": 1}', "not a valid record: protocol: Field required"),
        ('{"a": 1, "a": 2}', 'the key "a" is given twice'),
        ("not json", ":1:1: invalid JSON"),
        ("unsealed", "not a sealed record"),
    ],
)
def test_cli_bad_input_is_a_message_and_exit_2(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "record.json"
    if content == "unsealed":
        content = evaluate(load(CHEST), example("chest_pain_emergency")).model_dump_json()
    if content is not None:
        path.write_text(content)
    code, out, err = run("fhir", str(path))
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_cli_usage_errors(tmp_path: Path) -> None:
    assert run("fhir")[0] == 2
    code, _, err = run("fhir", "x.json", "--questionnaire", str(CHEST))
    assert code == 2 and "either" in err
    code, _, err = run("fhir", "--questionnaire", str(tmp_path / "missing.triage"))
    assert code == 2 and "no such file" in err
    code, _, err = run("fhir", "--questionnaire", str(CHEST), "--out", str(tmp_path / "no" / "q.json"))
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize(
    ("part", "field"), [("disposition", "label"), ("protocol", "title"), ("disposition", "id")]
)
def test_a_record_edited_to_hold_a_text_fhir_refuses_is_a_message_not_a_traceback(
    tmp_path: Path, part: str, field: str
) -> None:
    record = json.loads(chest()[1].model_dump_json())
    record[part][field] = ""
    path = tmp_path / "record.json"
    path.write_text(json.dumps(record))
    code, out, err = run("fhir", str(path))
    assert code == 2 and out == "" and "Traceback" not in err
    assert "cannot be written as FHIR" in err and "empty or blank" in err and "\n" not in err.strip()
