"""Generated code against the interpreter: the same results and traces, byte for byte.

For every shipped protocol and for generated protocols, with answers complete, partial,
unknown and invalid, ``evaluate_protocol`` with the generated code and with the
interpreter alone give the same serialized JSON (with and without the trace). The
generated code must also actually run: complete answers take its fast path.

Generated protocols come with and without floors (``at least``) and a screen bringing a
section and a floor, so that raises, "not needed" floors and merged advice are compared
too; every shipped protocol has generated code unless :data:`UNCOVERED` says why not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.fuzz.test_fuzz_source import expressions as fuzz_expressions
from tests.fuzz.test_fuzz_source import protocols as protocol_texts
from tests.runtime.test_properties import PROTOCOL_LIST, full_answers, partial_answers
from triage_dsl import Protocol, compile_text, load
from triage_dsl.errors import CompileError
from triage_dsl.runtime.answers import all_questions, validate
from triage_dsl.runtime.codegen import runner
from triage_dsl.runtime.codegen.generate import NotCovered, generate
from triage_dsl.runtime.interpreter import evaluate_protocol, program
from triage_dsl.testing.scenarios import answers_of, load_scenarios, scenario_path

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def same(protocol: Protocol, answers: Any) -> None:
    for trace in (True, False):
        fast = evaluate_protocol(protocol, answers, trace=trace, generated=True).model_dump_json()
        reference = evaluate_protocol(protocol, answers, trace=trace, generated=False).model_dump_json()
        assert fast == reference


UNCOVERED: dict[str, str] = {}
"""Shipped protocols the generator leaves to the interpreter, each with the reason it
gives (none today)."""

DATA = Path(__file__).resolve().parents[1] / "data"
CONTINUING = [load(DATA / "continue" / "chest.triage"), load(DATA / "floors" / "cough.triage")]
"""Test protocols that ``continue with`` another (no shipped protocol does); cough also
runs a screen with floors and has floors of its own, and breathing, which it continues
with, has a floor."""


def uncovered_reason(protocol: Protocol) -> str | None:
    try:
        generate(protocol, program(protocol))
    except NotCovered as exc:
        return str(exc)
    return None


def covered(protocol: Protocol) -> bool:
    return protocol.id not in UNCOVERED


def takes_fast_path(protocol: Protocol, answers: dict[str, Any]) -> bool:
    functions = runner(protocol)
    assert functions is not None
    clean = program(protocol).clean(answers)
    if clean is None:  # ages and durations in words go through the validator
        clean, problems = validate(protocol.plan, answers, None)
        assert not problems
    return functions.trace(clean, []) is not None and functions.plain(clean, []) is not None


IDS = [p.id for p in PROTOCOL_LIST]


@pytest.mark.parametrize("protocol", PROTOCOL_LIST, ids=IDS)
def test_every_covered_protocol_has_generated_code(protocol: Protocol) -> None:
    assert (runner(protocol) is not None) == covered(protocol)


def test_every_shipped_protocol_is_covered_unless_a_reason_is_stated() -> None:
    # The list is explicit so that a protocol falling back to the interpreter fails here.
    found = {p.id: reason for p in PROTOCOL_LIST if (reason := uncovered_reason(p)) is not None}
    assert found == UNCOVERED
    folders = {Path(p.path).parent.name for p in PROTOCOL_LIST}
    assert {"telephone", "pathways", "rules"} <= folders


def test_shipped_floors_are_covered() -> None:
    # Every telephone protocol runs the shared first screen and its floor.
    floored = [p for p in PROTOCOL_LIST if p.plan.floors]
    assert any(Path(p.path).parent.name == "pathways" for p in floored)
    telephone = [p for p in PROTOCOL_LIST if Path(p.path).parent.name == "telephone"]
    assert telephone and all(p.plan.floors for p in telephone)
    assert all(runner(p) is not None for p in floored)


def first_screen_answers(protocol: Protocol, **given: Any) -> dict[str, Any]:
    """Every yes/no answer no, the other answers their first valid value, then ``given``."""
    answers: dict[str, Any] = {}
    population = protocol.plan.population
    for qid, q in all_questions(protocol.plan).items():
        if q.type == "yes/no":
            answers[qid] = False
        elif q.type == "choice":
            answers[qid] = q.option_ids[0]
        else:
            assert q.low is not None
            low = q.low
            if population is not None and population.question == qid:
                low = max(low, population.low)
            answers[qid] = {"value": low, "unit": "minutes"} if q.is_time else low
    answers.update(given)
    return answers


@pytest.mark.parametrize(
    ("name", "raises"),
    [("abdominal_pain_adult", True), ("medication_question", True), ("fever_child", False)],
)
def test_the_first_screen_floor_in_generated_code(name: str, raises: bool) -> None:
    """Immunocompromised with a fever: the screen's floor raises a home-care outcome to
    ed_now; fever_child's outcome is ed_now already, so the floor is not needed."""
    protocol = next(p for p in PROTOCOL_LIST if p.id == name)
    answers = first_screen_answers(protocol, immunocompromised=True, fever_or_unwell=True)
    assert takes_fast_path(protocol, answers)
    same(protocol, answers)
    result = evaluate_protocol(protocol, answers, generated=True)
    assert result.disposition is not None and result.disposition.id == "ed_now"
    floor_steps = [step for step in result.trace if step.kind == "floor"]
    assert len(floor_steps) == 1
    if raises:
        assert result.raised_by is not None and result.raised_by.screen == "first_screen"
        assert floor_steps[0].value is True
        assert [step.kind for step in result.trace].count("raise") == 1
    else:
        assert result.raised_by is None
        assert floor_steps[0].detail.startswith("not needed: the outcome is already at least as urgent")
    # Without the floor's answers it does not hold: the same bytes, no raise.
    quiet = first_screen_answers(protocol)
    assert takes_fast_path(protocol, quiet)
    assert evaluate_protocol(protocol, quiet, generated=True).raised_by is None
    same(protocol, quiet)


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


@pytest.mark.parametrize("protocol", CONTINUING, ids=[p.id for p in CONTINUING])
@SETTINGS
@given(data=st.data())
def test_continued_protocols_give_the_same_bytes(protocol: Protocol, data: Any) -> None:
    assert runner(protocol) is not None
    complete = data.draw(st.booleans())
    answers = data.draw(full_answers(protocol) if complete else mixed_answers(protocol))
    same(protocol, answers)
    if complete and "unknown" not in answers.values():
        assert takes_fast_path(protocol, answers)


def test_floors_raise_after_a_continued_protocol_in_generated_code() -> None:
    """cough continues with breathing, whose floor raises its default; cough's own floor
    then raises that outcome again: both raises, in order, from the generated code."""
    cough = CONTINUING[1]
    answers = {
        "collapsed": False,
        "immunosuppressed": False,
        "worried": False,
        "coughing_blood": False,
        "short_of_breath": True,
        "blue_lips": False,
        "fever": True,
        "pregnant": True,
        "age_years": 40,
        "fell": False,
    }
    assert takes_fast_path(cough, answers)
    same(cough, answers)
    result = evaluate_protocol(cough, answers, generated=True)
    assert result.disposition is not None and result.disposition.id == "ed_now"
    assert result.raised_by is not None and result.raised_by.from_disposition == "see_today"
    steps = [(step.kind, step.protocol) for step in result.trace]
    assert ("continue", "cough") in steps
    assert [s for s in steps if s[0] == "raise"] == [("raise", "breathing"), ("raise", "cough")]


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=protocol_texts(), data=st.data())
def test_generated_protocols(text: str, data: Any) -> None:
    check_generated(text, data)


def check_generated(text: str, data: Any) -> None:
    try:
        protocol = compile_text(text, "fuzz.triage")
    except CompileError:
        assume(False)
        return
    assert runner(protocol) is not None
    complete = data.draw(st.booleans())
    answers = data.draw(full_answers(protocol) if complete else mixed_answers(protocol))
    same(protocol, answers)
    if complete and "unknown" not in answers.values():
        assert takes_fast_path(protocol, answers)


FLOOR_ADVICE = ("Go now.", "Floor advice.")


@st.composite
def floor_blocks(draw: st.DrawFn, indent: str, targets: tuple[str, ...]) -> list[str]:
    """Zero to three ``at least`` floors with one to three criteria, some with advice."""
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        mode = draw(st.sampled_from(["any", "all"]))
        lines.append(f"{indent}at least {draw(st.sampled_from(targets))} if {mode} of")
        for criterion in draw(st.lists(fuzz_expressions(), min_size=1, max_size=3)):
            lines.append(f"{indent}  when {criterion}")
            advice = draw(st.sampled_from((None, *FLOOR_ADVICE)))
            if advice is not None:
                lines.append(f'{indent}    advice "{advice}"')
        lines.append(f"{indent}end")
    return lines


@st.composite
def floored_protocols(draw: st.DrawFn) -> str:
    """``protocols()`` with floors after the default and, sometimes, a screen (a section
    with advice and floors of its own) run first."""
    lines = draw(protocol_texts()).split("\n")
    default = lines.index("  default home")
    floors = draw(floor_blocks("  ", ("er", "today")))
    lines[default + 1 : default + 1] = floors
    if draw(st.booleans()):
        screen = ["screen first", "  section er if any of"]
        for criterion in draw(st.lists(fuzz_expressions(), min_size=1, max_size=2)):
            screen += [f"    when {criterion}", '      advice "Go now."']
        screen += ["  end", *draw(floor_blocks("  ", ("er", "today", "home"))), "end"]
        triage = lines.index("triage")
        lines[triage + 1 : triage + 1] = ["  screen first"]
        lines[triage:triage] = screen
    return "\n".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=floored_protocols(), data=st.data())
def test_generated_protocols_with_floors(text: str, data: Any) -> None:
    check_generated(text, data)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=floored_protocols(), data=st.data())
def test_generated_floors_raise_with_the_same_bytes(text: str, data: Any) -> None:
    """Answers drawn until a floor raises the outcome, so raises are compared every time."""
    try:
        protocol = compile_text(text, "fuzz.triage")
    except CompileError:
        assume(False)
        return
    assume(protocol.plan.floors)
    answers = data.draw(full_answers(protocol))
    result = evaluate_protocol(protocol, answers, generated=False)
    assume(result.raised_by is not None)
    same(protocol, answers)
    if "unknown" not in answers.values():
        assert takes_fast_path(protocol, answers)


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
