"""Complete results built from templates (``Program.complete``) are the results the
general builder (``_Builder``, i.e. ``model_construct``) makes of the same values: the
same JSON, the same fields set at every level, and lists of their own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.codegen.test_differential import first_screen_answers
from tests.runtime.test_properties import PROTOCOL_LIST, full_answers
from triage_dsl.model.plain import json_of
from triage_dsl.model.serialize import dumps
from triage_dsl.runtime.interpreter import evaluate_protocol, program

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _as_built_before(result: Any, protocol: Any, plain: bool) -> Any:
    """``result`` made again by the general builder, as ``evaluate_protocol`` did."""
    kinds = program(protocol, plain).kinds
    common: dict[str, Any] = {
        "protocol": result.protocol,
        "scores": result.scores,
        "answers": result.answers,
        "asked": result.asked,
        "assumptions": result.assumptions,
        "trace": result.trace,
        "status": "complete",
        "disposition": kinds.disposition(
            {**result.disposition.__dict__, "care_advice": list(result.disposition.care_advice)}
        ),
        "urgency": result.urgency,
        "escalation": (
            kinds.escalation({**result.escalation.__dict__, "steps": list(result.escalation.steps)})
            if result.escalation is not None
            else None
        ),
        "decided_by": result.decided_by,
    }
    if result.raised_by is not None:
        common["raised_by"] = result.raised_by
    return kinds.result(common)


def _fields_sets(model: Any) -> Any:
    if not hasattr(model, "model_fields_set"):
        return None
    return (
        sorted(model.model_fields_set),
        {name: _fields_sets(value) for name, value in model.__dict__.items() if hasattr(value, "__dict__")},
    )


def check_against_builder(protocol: Any, answers: dict[str, Any]) -> int:
    """Compares every way of evaluating ``answers``; the complete results compared."""
    compared = 0
    for trace in (False, True):
        for generated, plain in ((True, False), (False, False), (False, True)):
            first = evaluate_protocol(protocol, answers, trace=trace, generated=generated, plain=plain)
            if first.status != "complete":
                continue
            compared += 1
            again = evaluate_protocol(protocol, answers, trace=trace, generated=generated, plain=plain)
            before = _as_built_before(first, protocol, plain)
            assert list(first.__dict__) == list(before.__dict__)
            if plain:
                assert json.dumps(json_of(first)) == json.dumps(json_of(before))
            else:
                assert dumps(first) == dumps(before)
                assert first.model_dump_json() == before.model_dump_json()
                assert _fields_sets(first) == _fields_sets(before)
            # each result its own lists: changing one never changes another
            assert first.disposition is not again.disposition
            assert first.disposition.care_advice is not again.disposition.care_advice
            if first.escalation is not None:
                assert first.escalation.steps is not again.escalation.steps
            for name in ("missing", "errors", "overrides", "escalation_run", "answer_log"):
                assert getattr(first, name) == [] and getattr(first, name) is not getattr(again, name)
    return compared


@SETTINGS
@given(st.data())
def test_complete_results_are_those_of_the_general_builder(data: st.DataObject) -> None:
    protocol = data.draw(st.sampled_from(PROTOCOL_LIST))
    check_against_builder(protocol, data.draw(full_answers(protocol)))


@pytest.mark.parametrize(
    ("name", "raises"),
    [("abdominal_pain_adult", True), ("medication_question", True), ("fever_child", False)],
)
def test_results_raised_by_a_floor_too(name: str, raises: bool) -> None:
    """The first screen's floor raises the outcome (``raised_by`` given) or is not needed."""
    protocol = next(p for p in PROTOCOL_LIST if p.id == name)
    answers = first_screen_answers(protocol, immunocompromised=True, fever_or_unwell=True)
    assert (evaluate_protocol(protocol, answers, generated=True).raised_by is not None) == raises
    assert check_against_builder(protocol, answers) == 6
