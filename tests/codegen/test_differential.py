"""Generated code against the interpreter: the same results and traces, byte for byte.

For every shipped protocol and for generated protocols, with answers complete, partial,
unknown and invalid, ``evaluate_protocol`` with the generated code and with the
interpreter alone give the same serialized JSON (with and without the trace). The
generated code must also actually run: complete answers take its fast path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.fuzz.test_fuzz_source import protocols as protocol_texts
from tests.runtime.test_properties import PROTOCOL_LIST, full_answers, partial_answers
from triage_dsl import Protocol, compile_text
from triage_dsl.errors import CompileError
from triage_dsl.runtime.answers import all_questions
from triage_dsl.runtime.codegen import runner
from triage_dsl.runtime.interpreter import evaluate_protocol, program
from triage_dsl.testing.scenarios import answers_of, load_scenarios, scenario_path

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same(protocol: Protocol, answers: Any) -> None:
    for trace in (True, False):
        fast = evaluate_protocol(protocol, answers, trace=trace, generated=True).model_dump_json()
        reference = evaluate_protocol(protocol, answers, trace=trace, generated=False).model_dump_json()
        assert fast == reference


def covered(protocol: Protocol) -> bool:
    plan = protocol.plan
    return not plan.floors and not plan.callees


def takes_fast_path(protocol: Protocol, answers: dict[str, Any]) -> bool:
    functions = runner(protocol)
    assert functions is not None
    clean = program(protocol).clean(answers)
    assert clean is not None
    return functions.trace(clean, []) is not None and functions.plain(clean, []) is not None


IDS = [p.id for p in PROTOCOL_LIST]


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=IDS)
def test_every_covered_protocol_has_generated_code(protocol: Protocol) -> None:
    assert (runner(protocol) is not None) == covered(protocol)


def test_every_shipped_rule_is_covered() -> None:
    # Floors are not compiled yet: the telephone protocols, which all run the shared first
    # screen and its floor, and the pathways with floors use the interpreter. Every scored
    # rule has no floor and must have generated code.
    rules = [p for p in PROTOCOL_LIST if Path(p.path).parent.name == "rules"]
    assert rules and all(covered(p) for p in rules)


values = st.one_of(
    st.booleans(),
    st.integers(-10, 400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["unknown", "yes", "", "11 weeks", "3 days", "pale"]),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@st.composite
def mixed_answers(draw: st.DrawFn, protocol: Protocol) -> dict[str, Any]:
    """Valid answers with some taken away, some unknown, some replaced by junk."""
    answers = draw(partial_answers(protocol))
    questions = sorted(all_questions(protocol.plan))
    for qid in draw(st.lists(st.sampled_from(questions), max_size=3)) if questions else []:
        answers[qid] = draw(st.one_of(st.just("unknown"), values))
    if draw(st.booleans()):
        answers[draw(st.sampled_from(["nonsense", "Fever", ""]))] = draw(values)
    return answers


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_complete_answers_run_generated_code_with_the_same_bytes(protocol: Protocol, data: Any) -> None:
    answers = data.draw(full_answers(protocol))
    same(protocol, answers)
    if covered(protocol) and "unknown" not in answers.values():
        clean = program(protocol).clean(answers)
        if clean is not None:  # ages and durations in words go through the validator
            assert takes_fast_path(protocol, answers)


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=IDS)
@SETTINGS
@given(data=st.data())
def test_partial_unknown_and_invalid_answers_give_the_same_bytes(protocol: Protocol, data: Any) -> None:
    same(protocol, data.draw(mixed_answers(protocol)))


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=IDS)
def test_scenarios_give_the_same_bytes(protocol: Protocol) -> None:
    path = scenario_path(Path(protocol.path))
    if not path.exists():
        pytest.skip("no scenarios")
    parsed, _ = load_scenarios(path)
    assert parsed.scenarios
    for scenario in parsed.scenarios:
        same(protocol, answers_of(parsed.baseline, scenario))


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=protocol_texts(), data=st.data())
def test_generated_protocols(text: str, data: Any) -> None:
    try:
        protocol = compile_text(text, "fuzz.triage")
    except CompileError:
        assume(False)
        return
    assert runner(protocol) is not None
    answers = data.draw(st.one_of(full_answers(protocol), mixed_answers(protocol)))
    same(protocol, answers)


def test_interpreter_alone_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """``generated=False`` never calls the generated functions."""
    protocol = next(p for p in PROTOCOL_LIST if p.id == "news2")
    functions = runner(protocol)
    assert functions is not None
    calls: list[int] = []

    def spy(*args: Any) -> Any:
        calls.append(1)
        return functions.trace(*args)

    monkeypatch.setitem(protocol.plan.compiled, "generated", functions._replace(trace=spy))
    answers = {qid: q.low for qid, q in all_questions(protocol.plan).items() if q.low is not None}
    answers.update({qid: False for qid, q in all_questions(protocol.plan).items() if q.type == "yes/no"})
    answers.update(
        {qid: q.option_ids[0] for qid, q in all_questions(protocol.plan).items() if q.type == "choice"}
    )
    evaluate_protocol(protocol, answers, generated=False)
    assert calls == []
    evaluate_protocol(protocol, answers, generated=True)
    assert calls == [1]
