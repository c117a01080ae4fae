"""orjson writes results with the bytes pydantic's serializer writes, and they validate
against the published schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.runtime.test_properties import PROTOCOL_LIST
from triage_dsl import Protocol, evaluate
from triage_dsl.batch import case_line
from triage_dsl.model.result import TriageResult
from triage_dsl.model.serialize import dumps
from triage_dsl.record.schema import batch_line_schema, result_schema
from triage_dsl.runtime.answers import all_questions
from triage_dsl.runtime.interpreter import evaluate_protocol
from triage_dsl.testing.scenarios import answers_of, load_scenarios, scenario_path

IDS = [p.id for p in PROTOCOL_LIST]
SCHEMA = result_schema()


def validator(schema: dict[str, Any]) -> Any:
    """A validator of ``schema``, checked and made once: ``jsonschema.validate`` checks the
    schema itself again on every call, which was most of these tests' time."""
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


RESULT = validator(SCHEMA)


def scenario_answers(protocol: Protocol) -> list[dict[str, Any]]:
    path = scenario_path(Path(protocol.path))
    cases: list[dict[str, Any]] = [{}]
    if path.exists():
        parsed, _ = load_scenarios(path)
        cases += [answers_of(parsed.baseline, s) for s in parsed.scenarios]
    questions = all_questions(protocol.plan)
    cases.append({qid: "unknown" for qid, q in questions.items() if q.unknown_allowed})
    cases.append({qid: 10**6 for qid in questions})  # every answer refused
    return cases


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=IDS)
def test_same_bytes_as_pydantic(protocol: Protocol) -> None:
    for answers in scenario_answers(protocol):
        for trace in (True, False):
            result = evaluate(protocol, answers, trace=trace, note=True)
            assert dumps(result) == result.model_dump_json().encode()
            assert dumps(result, exclude=("note",)) == result.model_dump_json(exclude={"note"}).encode()
            assert dumps(result, indent=True) == result.model_dump_json(indent=2).encode()


@pytest.mark.parametrize("protocol", PROTOCOL_LIST[:6], ids=IDS[:6])
def test_valid_against_the_schema(protocol: Protocol) -> None:
    for answers in scenario_answers(protocol):
        RESULT.validate(json.loads(dumps(evaluate(protocol, answers))))


def test_int_in_a_float_field_is_written_as_pydantic_writes_it() -> None:
    from triage_dsl.model.result import Urgency

    urgency = Urgency.model_construct(tier="x", label="X", rank=1, time_frame=None, time_frame_minutes=60)
    assert dumps(urgency) == urgency.model_dump_json().encode()
    assert b'"time_frame_minutes":60.0' in dumps(urgency)


def test_what_orjson_refuses_is_written_by_pydantic() -> None:
    big = TriageResult.model_construct(**{**evaluate(PROTOCOL_LIST[0], {}).__dict__, "scores": {"x": 10**30}})
    assert dumps(big) == big.model_dump_json().encode()


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=IDS)
def test_batch_lines_keep_their_bytes_and_schema(protocol: Protocol) -> None:
    schema = validator(batch_line_schema())
    for number, answers in enumerate(scenario_answers(protocol), start=1):
        for trace in (True, False):
            line = json.dumps({"id": f"case {number}", "answers": answers})
            text, failed = case_line(protocol, line, number, trace=trace)
            result = evaluate_protocol(protocol, answers, trace=trace)
            body = result.model_dump_json(exclude={"note"})
            assert text == f'{{"id":"case {number}","line":{number},' + body[1:]
            assert failed == (result.status == "error")
            schema.validate(json.loads(text))


@pytest.mark.parametrize(
    "case_id",
    [7, 0, -3, 10**20, True, False, None, 1.5, "case 1", 'caf\u00e9 \u2028 \x85 \u2029 "q"', "\x00\n"],
)
def test_a_batch_line_writes_the_case_id_as_json_does_and_keeps_to_one_line(case_id: object) -> None:
    """The id as ``json.dumps(id, ensure_ascii=False)`` writes it, then every character a
    line reader takes as a line break escaped (also inside answers echoed back)."""
    protocol = PROTOCOL_LIST[0]
    line = json.dumps({"id": case_id, "answers": {"no such question \u2028": "\x85"}})
    text, failed = case_line(protocol, line, 3, trace=False)
    assert failed and text.splitlines() == [text]
    row = json.loads(text)
    assert row["id"] == case_id and type(row["id"]) is type(case_id) and row["line"] == 3
    expected = json.dumps(case_id, ensure_ascii=False)
    for char in "\x85\u2028\u2029":
        expected = expected.replace(char, f"\\u{ord(char):04x}")
    assert text.startswith('{"id":' + expected + ',"line":3,')
