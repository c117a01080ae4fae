"""Properties over every shipped protocol and random answers (hypothesis):

- determinism: the same answers give the same result, byte for byte;
- session == batch: an interview gives the batch result for the answers it collected,
  and the same disposition as the batch result of the caller's full answers;
- valid answers give a disposition or a question to ask, invalid ones a clean error;
- re-evaluating a result's own answers reproduces it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROTOCOLS
from triage_dsl import Protocol, Session, evaluate, load
from triage_dsl.graph.plan import QuestionPlan
from triage_dsl.model.result import final_answers
from triage_dsl.runtime.answers import all_questions

PATHS = sorted(PROTOCOLS.rglob("*.triage"))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _protocols() -> list[Protocol]:
    out = []
    for path in PATHS:
        text = Path(path).read_text(encoding="utf-8")
        if any(line.startswith("library ") for line in text.splitlines()):
            continue
        out.append(load(path))
    return out


PROTOCOL_LIST = _protocols()


def valid_value(q: QuestionPlan, population: Any = None) -> st.SearchStrategy[Any]:
    if q.is_time:  # an age or a duration: minutes, written with their unit
        assert q.low is not None and q.high is not None
        low, high = q.low, q.high
        if population is not None and population.question == q.id:  # inside the population
            low, high = max(low, population.low), min(high, population.high)
        minutes = st.one_of(st.sampled_from([low, high]), st.integers(math.ceil(low), math.floor(high)))
        base: st.SearchStrategy[Any] = minutes.map(lambda m: {"value": m, "unit": "minutes"})
    elif q.type == "yes/no":
        base = st.booleans()
    elif q.type == "choice":
        base = st.sampled_from(q.option_ids)
    else:
        assert q.low is not None and q.high is not None
        low, high = q.low, q.high
        edges = st.sampled_from([low, high, (low + high) / 2])
        if q.type == "whole number":
            base = st.one_of(
                edges.map(math.floor).filter(lambda x: low <= x <= high),
                st.integers(math.ceil(low), math.floor(high)),
            )
        else:
            base = st.one_of(
                edges, st.floats(low, high, allow_nan=False), st.integers(math.ceil(low), math.floor(high))
            )
    if q.unknown_allowed:
        return st.one_of(base, st.just("unknown"))
    return base


@st.composite
def full_answers(draw: st.DrawFn, protocol: Protocol) -> dict[str, Any]:
    population = protocol.plan.population
    return {qid: draw(valid_value(q, population)) for qid, q in all_questions(protocol.plan).items()}


@st.composite
def partial_answers(draw: st.DrawFn, protocol: Protocol) -> dict[str, Any]:
    answers = draw(full_answers(protocol))
    keep = draw(st.lists(st.sampled_from(sorted(answers)), unique=True)) if answers else []
    return {k: answers[k] for k in keep}


protocols = st.sampled_from(PROTOCOL_LIST)


@SETTINGS
@given(st.data())
def test_determinism(data: st.DataObject) -> None:
    protocol = data.draw(protocols)
    answers = data.draw(partial_answers(protocol))
    assert (
        evaluate(protocol, answers).model_dump_json() == evaluate(protocol, dict(answers)).model_dump_json()
    )


@SETTINGS
@given(st.data())
def test_valid_answers_give_a_disposition_or_a_next_question(data: st.DataObject) -> None:
    protocol = data.draw(protocols)
    result = evaluate(protocol, data.draw(partial_answers(protocol)))
    assert result.status in ("complete", "needs_answers")
    if result.status == "complete":
        assert result.disposition is not None and result.urgency is not None
        assert result.decided_by is not None
    else:
        assert result.disposition is None and result.missing
        assert result.next_question is not None and result.next_question.id == result.missing[0]


@SETTINGS
@given(st.data())
def test_full_answers_always_complete(data: st.DataObject) -> None:
    protocol = data.draw(protocols)
    result = evaluate(protocol, data.draw(full_answers(protocol)))
    assert result.status == "complete"


@SETTINGS
@given(st.data())
def test_session_equals_batch(data: st.DataObject) -> None:
    protocol = data.draw(protocols)
    answers = data.draw(full_answers(protocol))
    session = Session(protocol)
    asked = []
    while not session.done:
        question = session.next_question()
        assert question is not None and question.id not in asked
        asked.append(question.id)
        session.answer(question.id, answers[question.id])
    interview = session.result()
    # the session adds what a batch cannot know: the times of the answers and its start
    given = {"answer_log", "call", "started_at"}
    assert interview.model_dump_json(exclude=given) == evaluate(protocol, session.answers).model_dump_json(
        exclude=given
    )
    assert final_answers(interview.answer_log) == session.answers
    # With every answer, an earlier criterion may hold too: the outcome is the same, but
    # the criterion that decides (and so its advice) is the first one known to hold when the
    # outcome is decided; a session does not delay a disposition to learn which advice applies.
    batch = evaluate(protocol, answers)
    assert interview.disposition is not None and batch.disposition is not None
    assert interview.disposition.id == batch.disposition.id
    assert interview.urgency == batch.urgency


@SETTINGS
@given(st.data())
def test_reevaluating_a_results_answers_reproduces_it(data: st.DataObject) -> None:
    protocol = data.draw(protocols)
    result = evaluate(protocol, data.draw(partial_answers(protocol)))
    again = evaluate(protocol, result.answers)
    # the log differs: it holds every answer given, the result's answers only those read
    assert again.model_dump_json(exclude={"answer_log"}) == result.model_dump_json(exclude={"answer_log"})


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**9), 10**9),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@SETTINGS
@given(st.data())
def test_any_answers_never_raise_and_invalid_ones_give_no_disposition(data: st.DataObject) -> None:
    protocol = data.draw(protocols)
    answers = data.draw(partial_answers(protocol))
    keys = st.one_of(st.sampled_from(sorted(all_questions(protocol.plan))), st.text(max_size=6))
    answers.update(data.draw(st.dictionaries(keys, junk, max_size=3)))
    result = evaluate(protocol, answers)
    assert result.status in ("complete", "needs_answers", "error")
    if result.status == "error":
        assert result.disposition is None and result.errors and result.error


wild = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=2),  # not valid Unicode
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@SETTINGS
@given(st.data())
def test_the_answer_log_is_what_validating_its_events_would_give(data: st.DataObject) -> None:
    """The log's events are built without pydantic's validation (every value made valid by
    construction): each is what validating the same fields gives, and serialises."""
    from triage_dsl.model.result import AnswerEvent
    from triage_dsl.runtime.answer_log import answer_log

    protocol = data.draw(protocols)
    keys = st.one_of(st.sampled_from(sorted(all_questions(protocol.plan))), st.text(max_size=6))
    answers = data.draw(partial_answers(protocol) | st.dictionaries(keys, wild, max_size=4))
    log = evaluate(protocol, answers, trace=False).answer_log
    assert log == answer_log(protocol, answers)  # checking every answer again changes nothing
    for event in log:
        fields = {name: getattr(event, name) for name in event.model_fields_set}
        validated = AnswerEvent(**fields)
        assert event == validated and event.model_fields_set == validated.model_fields_set
        assert event.model_dump_json() == validated.model_dump_json()
