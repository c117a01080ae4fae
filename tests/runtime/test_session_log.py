"""The answer log and the questions a session hands out, byte for byte.

Scripted sessions over every telephone protocol, with a clock that moves 7 seconds at
each reading: answers (unknown where allowed; ages as text, as ``{"value", "unit"}`` and
as a date of birth), corrections, invalid answers (refused), retractions, undo, notes and
answers refused after the outcome. The steps, the log and the result's log are held to
tests/data/golden/session_log.json: the time of each event is the clock's reading when
it was said, whenever the log is read. ``UPDATE_GOLDEN=1`` rewrites the file when the
log is meant to change. Plus: a question handed out cannot be changed by its reader.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from triage_dsl import Session, load
from triage_dsl.clock import FixedClock
from triage_dsl.errors import AnswerError, SessionError
from triage_dsl.graph.plan import PopulationPlan, QuestionPlan
from triage_dsl.model.caller import CallInfo
from triage_dsl.runtime.answers import all_questions
from triage_dsl.runtime.interpreter import evaluate_protocol
from triage_dsl.runtime.program import program
from triage_dsl.runtime.session import _bounded, as_json

GOLDEN = ROOT / "tests" / "data" / "golden" / "session_log.json"
TELEPHONE = sorted(p for p in (ROOT / "protocols" / "telephone").glob("*.triage") if p.stem != "shared")
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
CALL = CallInfo(caller="patient", agent_id="a1", chief_complaint="scripted call")


def value_for(q: QuestionPlan, turn: int, population: PopulationPlan | None = None) -> Any:
    """A valid answer to ``q``, varied by ``turn`` (every third one unknown, if allowed;
    the patient's age within the population)."""
    if q.unknown_allowed and turn % 3 == 1:
        return "unknown"
    if q.type == "yes/no":
        return turn % 6 == 5  # mostly no: the interview goes on
    if q.type == "choice":
        return q.option_ids[turn % len(q.option_ids)]
    assert q.low is not None and q.high is not None
    if q.is_time:
        low, high = (
            (population.low, population.high)
            if population and population.question == q.id
            else (q.low, q.high)
        )
        days = int((low + (high - low) * (turn % 4 + 1) / 5) // 1440)
        if days < 1:
            return f"{int(q.low + (q.high - q.low) / 2)} minutes"
        if turn % 3 == 0:
            return f"{days} days"
        if turn % 3 == 1 or q.type != "age":
            return {"value": days, "unit": "days"}
        return {"born": (NOW - timedelta(days=days)).date().isoformat()}
    middle = q.low + (q.high - q.low) * (turn % 4 + 1) / 5
    return int(middle) if q.type == "whole number" else round(middle, 1)


def scripted(path: Path) -> dict[str, Any]:
    """One scripted session: what each step returned, the log and the result's log."""
    protocol = load(path)
    questions = all_questions(protocol.plan)
    session = Session(
        protocol, call=CALL, clock=FixedClock("2026-03-01T02:14:00Z", timedelta(seconds=7)), now=NOW
    )
    steps: list[Any] = []

    def step(what: str, action: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            got = action(*args, **kwargs)
        except (AnswerError, SessionError) as exc:
            steps.append([what, "refused", str(exc)])
            return
        steps.append([what, got.id if got is not None and hasattr(got, "id") else None])

    unknowable = [qid for qid, q in questions.items() if q.unknown_allowed]
    population = protocol.plan.population
    turn = 0
    answered: list[str] = []
    while turn < 30 and (asked := session.next_question()) is not None:
        qid = asked.id
        step(f"answer {qid}", session.answer, qid, value_for(questions[qid], turn, population))
        answered.append(qid)
        if turn == 0 and unknowable and unknowable[-1] not in session.answers:
            step(f"unknown {unknowable[-1]}", session.answer, unknowable[-1], "unknown")
        if turn == 1:  # a correction, then an invalid answer (refused)
            first = answered[0]
            value = value_for(questions[first], 5, population)
            step(f"correct {first}", session.answer, first, value, reason="misheard")
            step(f"invalid {first}", session.answer, first, [1, 2])
        if turn == 2 and answered[1] in session.answers:
            step(f"retract {answered[1]}", session.retract, answered[1], "the caller meant last week")
        if turn == 3:
            step("undo", session.undo, "mistyped")
            step("note", session.note, "the caller is short of breath while talking")
        turn += 1
    step("answer after the outcome", session.answer, next(iter(questions)), True)
    step("note after the outcome", session.note, "the neighbour will drive")
    if session.done and session.answers:
        step("undo after the outcome", session.undo, "went back")
    while (asked := session.next_question()) is not None and turn < 40:
        step(f"answer {asked.id}", session.answer, asked.id, value_for(questions[asked.id], turn, population))
        turn += 1
    step("respond", session.respond, False, "will wait for the doctor")
    step("respond again", session.respond, True)
    result = session.result(trace=False)
    return {
        "steps": steps,
        "log": [e.model_dump(mode="json") for e in session.log],
        "result": json.loads(
            result.model_dump_json(include={"status", "answers", "answer_log", "started_at", "next_question"})
        ),
    }


def test_scripted_session_logs_are_unchanged() -> None:
    got = json.dumps({path.stem: scripted(path) for path in TELEPHONE}, indent=1, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(got, encoding="utf-8")
    assert got == GOLDEN.read_text(encoding="utf-8")


def test_the_log_keeps_the_time_each_answer_was_given() -> None:
    """An event's time is the clock's reading when it was said, not when the log is read."""
    protocol = load(TELEPHONE[0])
    clock = FixedClock("2026-03-01T02:14:00Z", timedelta(minutes=1))
    session = Session(protocol, clock=clock)
    asked = session.next_question()
    assert asked is not None
    session.answer(asked.id, value_for(all_questions(protocol.plan)[asked.id], 0))
    for _ in range(5):
        clock.now()  # time passes before anything reads the log
    (event,) = session.log
    assert event.at == datetime(2026, 3, 1, 2, 15, tzinfo=UTC)  # the start read 02:14
    assert session.result().answer_log[0].at == event.at


def mutate(info: Any) -> None:
    """Try every way a reader could change a question it was handed."""
    with pytest.raises(Exception):  # noqa: B017 - frozen: pydantic's error
        info.prompt = "changed"
    options = info.options
    for change in (
        lambda: options.append(options[-1]),
        lambda: options.__setitem__(0, options[-1]),
        lambda: options.__delitem__(0),
        lambda: options.extend(options),
        lambda: options.insert(0, options[-1]),
        lambda: options.reverse(),
        lambda: options.sort(key=id),
        lambda: options.pop(),
        lambda: options.remove(options[0]),
        lambda: options.clear(),
    ):
        with contextlib.suppress(TypeError, AttributeError, IndexError):
            change()


def test_a_handed_out_question_cannot_change_the_session_or_the_protocol() -> None:
    path = ROOT / "protocols" / "telephone" / "chest_pain_adult.triage"
    protocol = load(path)
    questions = all_questions(protocol.plan)
    expected = {qid: program(protocol).question_info(qid).model_dump_json() for qid in questions}
    assert any(json.loads(text)["options"] for text in expected.values())
    for qid in questions:  # every question as the program hands it out, a choice among them
        mutate(program(protocol).question_info(qid))
    session, turn = Session(protocol, now=NOW), 0
    while (asked := session.next_question()) is not None:
        mutate(asked)
        assert session.next_question() is asked or session.next_question() == asked
        assert asked.model_dump_json() == expected[asked.id]
        session.answer(asked.id, value_for(questions[asked.id], turn))
        turn += 1
    after = load(path)  # the same protocol, compiled again: nothing shared was changed
    assert {qid: program(after).question_info(qid).model_dump_json() for qid in questions} == expected
    assert {qid: program(protocol).question_info(qid).model_dump_json() for qid in questions} == expected
    fresh = evaluate_protocol(protocol, {}).next_question
    assert fresh is not None and fresh.model_dump_json() == expected[fresh.id]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**22), 10**22)
    | st.floats()
    | st.text()
    | st.sampled_from(["\ud800x", "a" * 45, "weeks", ""]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=45), inner, max_size=4),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_the_log_keeps_an_answer_as_the_general_path_does(value: Any) -> None:
    """The log's quick path for plain answers keeps what the general one keeps."""
    assert json.dumps(as_json(value)) == json.dumps(_bounded(value, 0))
    kept = as_json(value)
    if isinstance(value, dict | list):
        assert kept is not value  # a copy: changing the caller's object changes no log
