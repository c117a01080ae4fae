"""Every answer the caller gave reaches the record: the answer log, corrections,
retractions, notes, and the refusal of answers once the outcome is reached."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.record.helpers import CHEST, T0
from triage_dsl import Session, SessionError, evaluate, load
from triage_dsl.model.result import final_answers
from triage_dsl.record import FixedClock, seal, verify

PROTOCOL = load(CHEST)


def session() -> Session:
    return Session(PROTOCOL, clock=FixedClock(T0, step=timedelta(seconds=30)))


def test_an_answer_no_criterion_read_is_in_the_record_and_the_note() -> None:
    """Defect: coughing_blood then collapsed; the record held only the latter."""
    s = session()
    s.answer("coughing_blood", True)
    s.answer("collapsed", True)
    record = seal(s.result(), protocol=PROTOCOL, session_id="c1", clock=FixedClock(T0))
    assert record.answers == {"collapsed": True}  # what the evaluation read
    assert [(e.kind, e.question, e.value) for e in record.answer_log] == [
        ("answer", "coughing_blood", True),
        ("answer", "collapsed", True),
    ]
    assert [e.at.isoformat() for e in record.answer_log if e.at] == [
        "2026-03-01T02:14:30+00:00",
        "2026-03-01T02:15:00+00:00",
    ]
    assert (
        record.note is not None
        and "Are you coughing up blood? yes (not used by any criterion)" in record.note
    )
    assert verify(record.model_dump(mode="json"), PROTOCOL).ok


def test_answering_after_the_outcome_is_refused_and_a_note_is_kept() -> None:
    """Defect: answer() after completion was accepted."""
    s = session()
    s.answer("collapsed", True)
    assert s.done
    with pytest.raises(SessionError, match="outcome is reached"):
        s.answer("coughing_blood", True)
    with pytest.raises(SessionError, match="outcome is reached"):
        s.retract("collapsed", "misheard")
    s.note("he is coughing up blood too")
    assert [e.kind for e in s.log] == ["answer", "note"] and s.log[-1].after_outcome
    assert "Caller added (after the outcome): he is coughing up blood too" in (
        seal(s.result(), protocol=PROTOCOL, session_id="c1", clock=FixedClock(T0)).note or ""
    )


def test_a_changed_answer_is_a_correction_and_a_withdrawn_one_a_retraction() -> None:
    s = session()
    s.answer("collapsed", False)
    s.answer("collapsed", False, reason="repeated")
    s.answer("severe_breathing_difficulty", False, reason="first answer")
    s.retract("severe_breathing_difficulty", "the caller meant last week")
    log = [(e.kind, e.question, e.value, e.previous, e.reason) for e in s.log]
    assert log == [
        ("answer", "collapsed", False, None, None),
        ("correction", "collapsed", False, False, "repeated"),
        ("answer", "severe_breathing_difficulty", False, None, "first answer"),
        ("retraction", "severe_breathing_difficulty", None, False, "the caller meant last week"),
    ]
    assert s.answers == {"collapsed": False} and not s.done
    assert s.next_question() is not None and s.next_question().id == "severe_breathing_difficulty"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.retract("collapsed", "x"), "no answer to retract"),
        (lambda s: s.retract("collapsed", " "), "no answer to retract"),
        (lambda s: (s.answer("collapsed", False), s.retract("collapsed", "  ")), "needs a reason"),
        (lambda s: s.note(" "), "needs text"),
        (lambda s: s.respond(True), "no caller block"),
    ],
)
def test_session_refusals(call: Any, message: str) -> None:
    with pytest.raises(SessionError, match=message):
        call(session())


def test_evaluate_logs_every_answer_given_including_invalid_ones() -> None:
    result = evaluate(PROTOCOL, {"coughing_blood": True, "collapsed": True, "MRN-0042": 1})
    assert result.status == "error"
    assert [(e.question, e.problem) for e in result.answer_log] == [
        ("coughing_blood", None),
        ("collapsed", None),
        ("MRN-0042", "unknown_question"),
    ]
    nan = evaluate(PROTOCOL, {"collapsed": float("nan")})
    assert nan.answer_log[0].value == "nan" and nan.answer_log[0].problem == "wrong_type"
    sealed = seal(nan, protocol=PROTOCOL, session_id="c", clock=FixedClock(T0))  # NaN never reaches the hash
    assert verify(sealed.model_dump(mode="json"), PROTOCOL).ok


def test_an_edited_answer_log_fails_verification() -> None:
    s = session()
    s.answer("coughing_blood", True)
    s.answer("collapsed", True)
    raw = seal(s.result(), protocol=PROTOCOL, session_id="c1", clock=FixedClock(T0)).model_dump(mode="json")
    raw["answer_log"].pop(0)
    found = verify(raw, PROTOCOL)
    assert not found.ok and found.problems[0].where.startswith("record header")


QUESTIONS = sorted(PROTOCOL.plan.questions)
steps = st.lists(
    st.tuples(st.sampled_from(["answer", "retract"]), st.sampled_from(QUESTIONS), st.booleans()),
    max_size=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_any_answer_and_retract_sequence_replays_to_the_final_answers(sequence: list[Any]) -> None:
    s = session()
    for action, question, value in sequence:
        try:
            if action == "answer":
                q = PROTOCOL.plan.questions[question]
                if q.type == "yes/no":
                    s.answer(question, value)
                elif q.type == "choice":
                    s.answer(question, q.option_ids[0 if value else -1])
                else:
                    s.answer(question, 30 if value else 5)
            else:
                s.retract(question, "withdrawn")
        except SessionError:
            continue  # refused (outcome reached, nothing to retract): nothing recorded
    assert final_answers(s.log) == s.answers
    assert [e.seq for e in s.log] == list(range(1, len(s.log) + 1))
    record = seal(s.result(), protocol=PROTOCOL, session_id="c1", clock=FixedClock(T0))
    assert verify(record.model_dump(mode="json"), PROTOCOL).ok


def test_a_changed_response_to_the_advice_keeps_the_earlier_one() -> None:
    from triage_dsl import CallInfo

    call = CallInfo(caller="patient", agent_id="a-1", chief_complaint="chest pain")
    s = Session(PROTOCOL, call=call, clock=FixedClock(T0))
    with pytest.raises(SessionError, match="once the outcome is reached"):
        s.respond(True)
    s.answer("collapsed", True)
    with pytest.raises(SessionError, match="needs declined_reason"):
        s.respond(False)
    s.respond(False, "will drive")
    result = s.respond(True)
    assert (
        result.call is not None and result.call.agreement == "agrees" and result.call.declined_reason is None
    )
    assert (
        s.log[-1].kind == "note"
        and s.log[-1].text == "the caller's earlier response to the advice: declines (will drive)"
    )
