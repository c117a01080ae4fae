"""The published schemas against real outputs, validated with the jsonschema package."""

from __future__ import annotations

import io
import json
from typing import Any

import jsonschema
import pytest

from tests.conftest import PROTOCOLS
from tests.record.helpers import chest, clock, news2
from triage_dsl import SCHEMA_VERSION, AnswerError, RecordError, Session, load
from triage_dsl.cli import main
from triage_dsl.record import combine, redact

QSOFA = str(PROTOCOLS / "rules" / "qsofa.triage")


def schema(what: str) -> dict[str, Any]:
    out = io.StringIO()
    assert main(["schema", what], stdout=out) == 0
    published: dict[str, Any] = json.loads(out.getvalue())
    jsonschema.Draft202012Validator.check_schema(published)
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert published["$id"].endswith(f"/{what if what != 'batch' else 'batch-line'}/{SCHEMA_VERSION}")
    return published


def valid(instance: Any, what: str) -> bool:
    return jsonschema.Draft202012Validator(schema(what)).is_valid(instance)


def test_every_batch_line_validates() -> None:
    lines = [
        json.dumps({"id": "ok", "answers": {"resp_rate": 24, "altered_mentation": True}}),
        json.dumps({"id": 7, "answers": {"resp_rate": 24}}),
        json.dumps({"id": "bad", "answers": {"resp_rate": 400}}),
        '{"id": "dup", "answers": {"a": 1, "a": 2}}',
        "not json",
        "[1]",
    ]
    out = io.StringIO()
    main(["eval", QSOFA, "--cases", "-"], stdin=io.StringIO("\n".join(lines)), stdout=out)
    rows = [json.loads(text) for text in out.getvalue().splitlines()]
    assert [r["status"] for r in rows] == ["complete", "needs_answers", "error", "error", "error", "error"]
    validator = jsonschema.Draft202012Validator(schema("batch"))
    for row in rows:
        validator.validate(row)
    assert not validator.is_valid({**rows[0], "line": 0})
    assert not validator.is_valid({k: v for k, v in rows[3].items() if k != "line"})


def test_a_sealed_record_validates_and_an_unsealed_result_does_not() -> None:
    _, record = news2()
    raw = record.model_dump(mode="json")
    assert valid(raw, "record")
    assert valid(redact(record).model_dump(mode="json"), "record")
    unsealed = {k: v for k, v in raw.items() if k not in ("seal", "session_id", "sealed_at")}
    assert valid(unsealed, "result") and not valid(unsealed, "record")
    forged = json.loads(json.dumps(raw))
    forged["seal"]["head"] = "not-a-hash"
    assert not valid(forged, "record")
    forged = json.loads(json.dumps(raw))
    forged["trace"][0]["hash"] = "ABC"
    assert not valid(forged, "record")


def test_a_call_record_validates_and_combine_refuses_a_call_record() -> None:
    _, first = chest()
    _, second = news2()
    call = combine([first, second], call_id="call-1", clock=clock())
    assert valid(call.model_dump(mode="json"), "call")
    with pytest.raises(RecordError, match="item 2 is a call record"):
        combine([first, call], call_id="call-2", clock=clock())  # type: ignore[list-item]
    with pytest.raises(RecordError, match="item 1 is a dict"):
        combine([{"seal": None}], clock=clock())  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("question", "value", "code"),
    [
        ("resp_rate", 10**4000, "out_of_range"),
        ("resp_rate", float("nan"), "not_finite"),
        ("resp_rate", True, "wrong_type"),
        ("resp_rate", [[[]]], "wrong_type"),
        ("altered_mentation", 1, "wrong_type"),
        ("\ud800", True, "unknown_question"),
    ],
)
def test_answer_errors_carry_question_code_and_value(question: str, value: Any, code: str) -> None:
    session = Session(load(QSOFA))
    with pytest.raises(AnswerError) as caught:
        session.answer(question, value)
    error = caught.value
    assert error.code == code and error.value is value
    assert error.question == (question if code != "unknown_question" else "\\ud800")
    str(error).encode("utf-8")
    assert session.answers == {}
