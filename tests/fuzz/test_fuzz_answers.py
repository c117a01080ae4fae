"""Fuzzing answers against every shipped protocol: a clean error or a valid result, never
a crash, never a disposition from an invalid answer. And one compiled protocol evaluated
from many threads gives the sequential results."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PROTOCOLS
from tests.fuzz.conftest import FUZZ
from triage_dsl import Protocol, TriageError, evaluate, load
from triage_dsl.graph.plan import QuestionPlan
from triage_dsl.runtime.answers import all_questions


def shipped() -> list[Protocol]:
    out = []
    for path in sorted([*PROTOCOLS.glob("rules/*.triage"), *PROTOCOLS.glob("telephone/*.triage")]):
        try:
            out.append(load(path))
        except TriageError:
            continue  # libraries, and protocols another change is still writing
    return out


PROTOCOL_LIST = shipped()

WILD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.just("unknown"),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def plausible(q: QuestionPlan) -> st.SearchStrategy[Any]:
    if q.type == "yes/no":
        return st.booleans()
    if q.type == "choice":
        return st.sampled_from(q.option_ids)
    assert q.low is not None and q.high is not None
    if q.type == "whole number":
        return st.integers(math.ceil(q.low), int(q.high))
    return st.floats(q.low, q.high, allow_nan=False)


def clearly_invalid(q: QuestionPlan | None, value: Any) -> bool:
    """An answer the protocol must refuse (a conservative, independent reading of the rules)."""
    if q is None:
        return True
    if value is None:
        return False
    if isinstance(value, str) and value == "unknown":
        return not q.unknown_allowed
    if q.type == "yes/no":
        return not isinstance(value, bool)
    if q.type == "choice":
        return not isinstance(value, str) or value not in q.option_ids
    if isinstance(value, bool) or not isinstance(value, int | float):
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return True
    assert q.low is not None and q.high is not None
    return not q.low <= value <= q.high or (q.type == "whole number" and not float(value).is_integer())


@st.composite
def answer_sets(draw: st.DrawFn, protocol: Protocol) -> dict[Any, Any]:
    questions = all_questions(protocol.plan)
    answers: dict[Any, Any] = {}
    for qid, q in questions.items():
        choice = draw(st.integers(0, 9))
        if choice < 5:
            answers[qid] = draw(plausible(q))
        elif choice < 7:
            answers[qid] = draw(WILD)
        # else: missing
    if draw(st.integers(0, 9)) == 0:
        answers[draw(st.text(max_size=8))] = draw(WILD)
    return answers


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=lambda p: p.id)
def test_answers_give_a_clean_error_or_a_valid_result(protocol: Protocol) -> None:
    questions = all_questions(protocol.plan)

    @FUZZ
    @given(answer_sets(protocol), st.booleans())
    def check(answers: dict[Any, Any], trace: bool) -> None:
        result = evaluate(protocol, answers, trace=trace)
        assert result.status in ("complete", "needs_answers", "error")
        invalid = [k for k, value in answers.items() if clearly_invalid(questions.get(k), value)]
        if invalid:
            assert result.status == "error" and result.disposition is None and result.urgency is None
            assert {p.question for p in result.errors} >= {str(k) for k in invalid}
        if result.status == "error":
            assert result.errors and result.error and result.disposition is None
        else:
            assert not invalid
            result.model_dump_json()  # the result serialises
        if result.status == "complete":
            assert result.disposition is not None and result.urgency is not None

    check()


def test_answers_that_are_not_an_object_are_an_error() -> None:
    protocol = PROTOCOL_LIST[0]
    for answers in (None, [], "x", 3):
        result = evaluate(protocol, answers)  # type: ignore[arg-type]
        assert result.status == "error" and result.disposition is None


@pytest.mark.parametrize("protocol", PROTOCOL_LIST[:6], ids=lambda p: p.id)
def test_threads_give_the_sequential_results(protocol: Protocol) -> None:
    questions = list(all_questions(protocol.plan).values())
    cases = _cases(questions)
    sequential = [evaluate(protocol, c).model_dump_json() for c in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            threaded = list(pool.map(lambda c: evaluate(protocol, c).model_dump_json(), cases))
            assert threaded == sequential


def _cases(questions: list[QuestionPlan]) -> list[dict[str, Any]]:
    """Deterministic answer sets: complete, partial and unknown answers."""
    import random

    rng = random.Random(5)
    out = []
    for n in range(120):
        answers: dict[str, Any] = {}
        for q in questions:
            if rng.random() < 0.25 * (n % 4):
                continue
            if q.unknown_allowed and rng.random() < 0.1:
                answers[q.id] = "unknown"
            elif q.type == "yes/no":
                answers[q.id] = rng.random() < 0.5
            elif q.type == "choice":
                answers[q.id] = rng.choice(q.option_ids)
            else:
                assert q.low is not None and q.high is not None
                answers[q.id] = round(rng.uniform(q.low, q.high))
        out.append(answers)
    return out
