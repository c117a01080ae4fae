"""``decide``: the quiet evaluation the analyses use agrees with ``evaluate``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.runtime.test_properties import PROTOCOL_LIST, partial_answers
from triage_dsl import evaluate
from triage_dsl.runtime.answers import validate
from triage_dsl.runtime.interpreter import decide


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_decide_agrees_with_evaluate(data: st.DataObject) -> None:
    protocol = data.draw(st.sampled_from(PROTOCOL_LIST))
    answers = data.draw(partial_answers(protocol))
    clean, problems = validate(protocol.plan, answers)
    assert not problems
    quiet = decide(protocol, clean)
    full = evaluate(protocol, answers)
    assert quiet.status == full.status
    assert quiet.disposition == (full.disposition.id if full.disposition else None)
    # an interview asks an unanswered patient age first (the population decides whether the
    # protocol applies); the analyses' engine keeps the protocol's own order
    age = protocol.plan.population.question if protocol.plan.population else None
    assert [q for q in quiet.missing if q != age] == [q for q in full.missing if q != age]
    if full.decided_by is not None:
        assert (quiet.section, quiet.criterion) == (full.decided_by.section, full.decided_by.criterion)
    assert set(full.asked) <= set(quiet.read)
