"""The fast answer checks give the full validator's verdict (hypothesis).

``Program.clean_plain`` (what ``evaluate`` validates with first) and the per-question
checkers (``Program.checkers``, what a session's answer goes through) take the common
answers without the general validator. For random values of every question type they
must either defer (None, MISS) or give exactly what ``validate``/``check_answer`` give:
the same clean values, of the same types, in the same order, and no problem. Invalid
answers therefore always reach the validator, with its messages.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.runtime.test_properties import PROTOCOL_LIST, valid_value
from triage_dsl.graph.plan import QuestionPlan
from triage_dsl.runtime.answers import UNKNOWN, answer_json, check_answer, validate
from triage_dsl.runtime.program import MISS, program

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

QUESTIONS = [(protocol, q) for protocol in PROTOCOL_LIST for q in program(protocol).questions_all.values()]
TYPES = {q.type for _, q in QUESTIONS}


def test_every_question_type_is_drawn() -> None:
    assert {"yes/no", "number", "whole number", "choice", "age", "duration"} <= TYPES


class Text(str):
    """A str that is not exactly a str."""


class Alias:
    """A key that is no str but equals one (and hashes alike): no question id."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        return other == self.text

    def __repr__(self) -> str:
        return f"Alias({self.text!r})"


class Whole(int):
    pass


class Real(float):
    pass


class Level(enum.IntEnum):
    ONE = 1


class Answers(Mapping[str, Any]):
    """A mapping that is not a dict."""

    def __init__(self, data: dict[Any, Any]) -> None:
        self.data = data

    def __getitem__(self, key: Any) -> Any:
        return self.data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e308, -1e308, 5e-324, 0.5, 1.0]
UNITS = ["minutes", "minute", "hours", "Days", "weeks", "months", "years", "fortnights", "", "min"]


def _numbers(q: QuestionPlan) -> st.SearchStrategy[Any]:
    """Numbers around the question's range: edges, just outside, huge, special."""
    edges: list[Any] = []
    if q.low is not None and q.high is not None:
        for bound in (q.low, q.high):
            edges += [bound, bound - 1, bound + 1, bound - 0.5, bound + 0.5, math.nextafter(bound, math.inf)]
            if math.isfinite(bound):
                edges += [math.floor(bound), math.ceil(bound)]
        if math.isfinite(q.low) and math.isfinite(q.high):
            edges.append((q.low + q.high) / 2)
    return st.one_of(
        st.sampled_from(edges + SPECIAL_FLOATS),
        st.integers(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(),
        st.sampled_from([10**20, 10**20 + 1, -(10**20), 10**400, True, False]),
    )


def values(q: QuestionPlan) -> st.SearchStrategy[Any]:
    """Any answer value a caller (JSON or Python) might give this question."""
    numbers = _numbers(q)
    options = st.sampled_from([*q.option_ids, "unknown", "Unknown", "", "yes", "no", "true"])
    time_text = st.builds(
        lambda amount, unit: f"{amount} {unit}",
        st.one_of(numbers, st.text(max_size=3)),
        st.sampled_from(UNITS),
    )
    time_object = st.fixed_dictionaries(
        {
            "value": st.one_of(numbers, st.text(max_size=3), st.none()),
            "unit": st.one_of(st.sampled_from(UNITS), st.integers(), st.none()),
        }
    )
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        numbers,
        options,
        st.text(max_size=8),
        time_text,
        time_object,
        st.builds(
            lambda extra: {"value": 3, "unit": "days", **extra},
            st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
        ),
        st.sampled_from([{"born": "2020-01-01"}, "born 2020-01-01", {"born": 5}, {}, "unknown"]),
        st.sampled_from([Text("unknown"), Whole(5), Real(5.0), Level.ONE, b"yes", (1,), [True]]),
        options.map(Text),
        st.integers(-5, 200).map(Whole),
        st.floats(-5, 200).map(Real),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=2), st.dictionaries(st.text(max_size=3), inner, max_size=2)
        ),
        max_leaves=4,
    )


def shown(clean: Mapping[Any, Any]) -> list[tuple[Any, type, type, str]]:
    """Everything a clean answer set is made of: keys and their types, values' types and
    exact forms (-0.0 apart from 0.0; an age's text), in order."""
    return [(key, type(key), type(value), repr(value)) for key, value in clean.items()]


@st.composite
def question_and_value(draw: st.DrawFn) -> tuple[Any, QuestionPlan, Any]:
    protocol, q = draw(st.sampled_from(QUESTIONS))
    return protocol, q, draw(values(q))


@SETTINGS
@given(question_and_value())
def test_a_questions_checker_gives_check_answers_clean_value_or_defers(
    drawn: tuple[Any, QuestionPlan, Any],
) -> None:
    protocol, q, value = drawn
    if value is None:
        return  # not answered: never checked
    fast = program(protocol).checkers[q.id](value)
    if fast is MISS:
        return  # the full validator decides
    clean, problem = check_answer(q, value)
    assert problem is None
    assert type(fast) is type(clean) and repr(fast) == repr(clean)


@st.composite
def answer_sets(draw: st.DrawFn) -> tuple[Any, Any]:
    protocol = draw(st.sampled_from(PROTOCOL_LIST))
    questions = list(program(protocol).questions_all.values())
    answers: dict[Any, Any] = {}
    for q in draw(st.lists(st.sampled_from(questions), max_size=len(questions) + 2)):
        key = draw(st.sampled_from([q.id, q.id, q.id, q.id, Text(q.id), Alias(q.id)]))
        # mostly answers the fast path takes, so that whole sets of them are compared
        plausible = st.one_of(valid_value(q), valid_value(q), st.none(), st.just("unknown"))
        answers[key] = draw(st.one_of(plausible, plausible, values(q)))
    if draw(st.booleans()):  # sometimes a key that is no question
        answers[draw(st.one_of(st.text(max_size=4), st.integers(0, 3), st.just("unknown")))] = True
    return protocol, answers if draw(st.integers(0, 4)) else Answers(answers)


@SETTINGS
@given(answer_sets())
def test_clean_plain_gives_the_validators_clean_answers_or_defers(drawn: tuple[Any, Any]) -> None:
    protocol, answers = drawn
    fast = program(protocol).clean_plain(answers)
    clean, problems = validate(protocol.plan, answers)
    event("taken" if fast is not None else "deferred")
    if fast is None:
        return  # the full validator decides, with its messages
    assert problems == []
    fast_clean, as_given = fast
    assert shown(fast_clean) == shown(clean)
    if as_given:  # the result's answers are the clean ones as they are
        assert all(answer_json(v) is v and v is not UNKNOWN for v in fast_clean.values())


@SETTINGS
@given(question_and_value())
def test_one_answer_alone(drawn: tuple[Any, QuestionPlan, Any]) -> None:
    """Each question type's edge values, one at a time (the sets above mix them)."""
    protocol, q, value = drawn
    answers = {q.id: value}
    fast = program(protocol).clean_plain(answers)
    if fast is None:
        return
    clean, problems = validate(protocol.plan, answers)
    assert problems == []
    assert shown(fast[0]) == shown(clean)


def test_the_common_answers_are_taken_without_the_validator() -> None:
    """The fast path is taken for plain answers (else it would prove nothing)."""
    for protocol, q in QUESTIONS:
        compiled = program(protocol)
        if q.type == "yes/no":
            given_values: list[Any] = [True, False]
        elif q.type == "choice":
            given_values = list(q.option_ids)
        elif q.type in ("number", "whole number"):
            assert q.low is not None and q.high is not None
            given_values = [math.ceil(q.low), math.floor(q.high)]
            if q.type == "number":
                given_values.append(float(q.low))
        else:
            continue
        for value in given_values:
            assert compiled.clean_plain({q.id: value}) == ({q.id: value}, True), (q.id, value)
