"""Incremental sessions against the batch evaluation, step by step (hypothesis).

At every step of a session -- answers given in any order, unknowns, invalid answers
(refused: nothing changes), corrections, retractions, undo -- the session's status and
next question (from its incremental walk) and its result (with and without the trace)
are those of a fresh ``evaluate_protocol`` of the answers in force, byte for byte. Over
every shipped protocol, generated protocols, and protocols with ``continue with``,
floors and screens. Plus: an answer re-walks only from the first section that read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.fuzz.test_fuzz_source import protocols as protocol_texts
from tests.runtime.test_properties import PROTOCOL_LIST, full_answers
from triage_dsl import Protocol, Session, compile_text, load
from triage_dsl.errors import AnswerError, CompileError, SessionError
from triage_dsl.runtime.answers import all_questions
from triage_dsl.runtime.incremental import Walk
from triage_dsl.runtime.interpreter import evaluate_protocol

DATA = Path(__file__).resolve().parents[1] / "data"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# what a batch cannot know: the times of the answers and the session's start
SESSION_ONLY = {"answer_log", "call", "started_at"}
# continue with, floors (the protocol continued with has its own) and a screen
STRUCTURED = [load(DATA / "floors" / "cough.triage"), load(DATA / "continue" / "chest.triage")]


def agrees(session: Session) -> None:
    """The session's step and result are the batch evaluation's, byte for byte."""
    protocol = session.protocol
    for trace in (True, False):
        fresh = evaluate_protocol(protocol, session.answers, trace=trace)
        got = session.result(trace=trace)
        assert got.model_dump_json(exclude=SESSION_ONLY) == fresh.model_dump_json(exclude=SESSION_ONLY)
    assert session.status == fresh.status
    assert session.done == (fresh.status == "complete")
    asked = session.next_question()
    expected = fresh.next_question
    assert (asked.model_dump_json() if asked else None) == (expected.model_dump_json() if expected else None)


def invalid_value(q: Any) -> Any:
    if q.type == "yes/no":
        return "maybe"
    if q.type == "choice":
        return "not-an-option"
    return "a lot"


@st.composite
def steps(draw: st.DrawFn, protocol: Protocol) -> list[tuple[str, Any]]:
    """A session's script: each step answers what is asked, answers any question (a
    correction when answered already), gives an invalid answer, retracts or undoes."""
    script = draw(full_answers(protocol))
    other = draw(full_answers(protocol))  # second answers, for corrections
    ids = sorted(script)
    kinds = st.sampled_from(["asked", "asked", "asked", "any", "invalid", "retract", "undo"])
    out: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(kinds)
        qid = draw(st.sampled_from(ids)) if ids else ""
        out.append((kind, (qid, script, other)))
    return out


def run(protocol: Protocol, script: list[tuple[str, Any]]) -> None:
    session = Session(protocol)
    questions = all_questions(protocol.plan)
    agrees(session)
    for kind, (qid, first, second) in script:
        try:
            if kind == "asked":
                question = session.next_question()
                if question is None:
                    continue
                session.answer(question.id, first[question.id])
            elif kind == "any":
                value = second[qid] if qid in session.answers else first[qid]
                session.answer(qid, value, reason="corrected")
            elif kind == "invalid":
                before = (session.log, session.answers, session.status, session.next_question())
                with pytest.raises(AnswerError):
                    session.answer(qid, invalid_value(questions[qid]))
                assert (session.log, session.answers, session.status, session.next_question()) == before
            elif kind == "retract":
                if qid not in session.answers:
                    continue
                session.retract(qid, "taken back")
            else:
                if not session.answers:
                    continue
                session.undo("mistyped")
        except SessionError:
            assert session.done or kind == "undo"
            continue
        agrees(session)


@SETTINGS
@given(st.data())
def test_shipped_protocols_step_like_the_batch(data: st.DataObject) -> None:
    protocol = data.draw(st.sampled_from(PROTOCOL_LIST))
    run(protocol, data.draw(steps(protocol)))


@SETTINGS
@given(st.data())
def test_continue_floors_and_screens_step_like_the_batch(data: st.DataObject) -> None:
    protocol = data.draw(st.sampled_from(STRUCTURED))
    run(protocol, data.draw(steps(protocol)))


@SETTINGS
@given(protocol_texts(), st.data())
def test_generated_protocols_step_like_the_batch(text: str, data: st.DataObject) -> None:
    try:
        protocol = compile_text(text, "fuzz.triage")
    except CompileError:
        assume(False)
        return
    run(protocol, data.draw(steps(protocol)))


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=[p.id for p in PROTOCOL_LIST])
def test_a_whole_interview_steps_like_the_batch(protocol: Protocol) -> None:
    """Every step of a lazy interview (answer what is asked, the first option or the
    middle of the range), checked against the batch result."""
    session = Session(protocol)
    population = protocol.plan.population
    for _ in range(len(all_questions(protocol.plan)) + 1):
        agrees(session)
        question = session.next_question()
        if question is None:
            break
        session.answer(question.id, _plain(protocol, question.id, population))
    assert session.done


def _plain(protocol: Protocol, qid: str, population: Any) -> Any:
    q = all_questions(protocol.plan)[qid]
    if q.is_time:
        low, high = q.low, q.high
        if population is not None and population.question == qid:
            low, high = max(low, population.low), min(high, population.high)
        return {"value": int((low + high) // 2), "unit": "minutes"}
    if q.type == "yes/no":
        return False
    if q.type == "choice":
        return q.option_ids[0]
    return q.low if q.type == "whole number" else (q.low + q.high) / 2


WALK = """
protocol walk title "Walk" version "1" end
question a: yes/no ask "A?" end
question b: yes/no ask "B?" end
question c: yes/no ask "C?" end
question d: yes/no ask "D?" end
disposition er label "ER" tier emergency end
disposition today label "Today" tier same_day end
disposition soon label "Soon" tier within_24h end
disposition home label "Home" tier home_care end
triage
  section er if any of when a end
  section today if all of when c when b end
  section soon if any of when d end
  default home
end
"""


def test_an_answer_rewalks_from_the_first_section_that_read_it(monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = compile_text(WALK, "walk.triage")
    walked: list[str] = []
    section, resume = Walk._section, Walk._resume

    def spy(self: Walk, s: Any) -> Any:
        walked.append(s.target.id)
        return section(self, s)

    def spy_resume(self: Walk, s: Any, qid: str) -> Any:  # the section waited at, again
        walked.append(s.target.id)
        return resume(self, s, qid)

    monkeypatch.setattr(Walk, "_section", spy)
    monkeypatch.setattr(Walk, "_resume", spy_resume)
    session = Session(protocol)
    assert session.next_question().id == "a"  # type: ignore[union-attr]
    assert walked == ["er"]
    walked.clear()
    assert session.answer("a", False).id == "b"  # type: ignore[union-attr]
    assert walked == ["er", "today"]  # a was read by 'er': from there, to wait at 'today'
    walked.clear()
    assert session.answer("b", False).id == "d"  # type: ignore[union-attr]
    assert walked == ["today", "soon"]  # 'er' did not read b: it stands
    walked.clear()
    session.answer("c", True, reason="typo")  # read (still missing) by 'today', decided no
    assert walked == ["today", "soon"]
    walked.clear()
    session.answer("a", True, reason="misheard")  # read by the first section: all again
    assert walked == ["er"] and session.done
    walked.clear()
    session.undo("mistyped")  # a is withdrawn: from the first section again
    assert walked == ["er"] and session.next_question().id == "a"  # type: ignore[union-attr]
    walked.clear()
    session.answer("d", False)
    assert walked == []  # nothing decided read d yet: the walk still waits at 'er'
    assert [e.kind for e in session.log] == [
        "answer",
        "answer",
        "answer",
        "correction",
        "retraction",
        "answer",
    ]
