"""Minimum-urgency floors (``at least``) and shared first screens (``screen``): the
interpreter's semantics as tables, and the property that a floor never lowers urgency."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage_dsl import evaluate, load
from triage_dsl.testing.coverage import Coverage, goals

DATA = Path(__file__).resolve().parents[1] / "data" / "floors"
COUGH = load(DATA / "cough.triage")
# Nothing holds: no section fires and no floor holds.
BASE: dict[str, Any] = {
    "collapsed": False,
    "coughing_blood": False,
    "short_of_breath": False,
    "pregnant": False,
    "age_years": 40,
    "immunosuppressed": False,
    "worried": False,
}


def floor_node(screen: str | None, target: str) -> str:
    return next(f.node for f in COUGH.plan.floors if f.screen == screen and f.target.id == target)


@pytest.mark.parametrize(
    ("change", "disposition", "raised_by", "from_disposition"),
    [
        # nothing holds
        ({}, "home_care", None, None),
        # a floor raises the default
        ({"worried": True}, "within_24h", ("first_screen", "within_24h"), "home_care"),
        ({"pregnant": True, "fever": True}, "ed_now", (None, "ed_now"), "home_care"),
        ({"age_years": 75, "fell": True}, "see_today", (None, "see_today"), "home_care"),
        # the screen's floor
        ({"immunosuppressed": True, "fever": True}, "see_today", ("first_screen", "see_today"), "home_care"),
        # a floor never lowers: the section's outcome is more urgent already
        ({"coughing_blood": True, "worried": True}, "ed_now", None, None),
        # nor raises to the same tier
        ({"coughing_blood": True, "pregnant": True, "fever": True}, "ed_now", None, None),
        # several floors hold: the most urgent wins
        (
            {"worried": True, "age_years": 80, "fell": True, "pregnant": True, "fever": True},
            "ed_now",
            (None, "ed_now"),
            "home_care",
        ),
        # two floors of the same tier hold: the first written (the screen's) wins
        (
            {"immunosuppressed": True, "fever": True, "age_years": 80, "fell": True},
            "see_today",
            ("first_screen", "see_today"),
            "home_care",
        ),
        # the floors' criteria do not hold
        ({"age_years": 80, "fell": False, "pregnant": True, "fever": False}, "home_care", None, None),
        # the screen's section runs first and is already the most urgent
        ({"collapsed": True, "worried": True}, "call_911", None, None),
    ],
)
def test_floors_raise_to_the_most_urgent_that_holds_and_never_lower(
    change: dict[str, Any],
    disposition: str,
    raised_by: tuple[str | None, str] | None,
    from_disposition: str | None,
) -> None:
    result = evaluate(COUGH, {**BASE, **change})
    assert result.status == "complete" and result.disposition is not None
    assert result.disposition.id == disposition
    if raised_by is None:
        assert result.raised_by is None
        assert not any(e.kind == "raise" for e in result.trace)
        return
    assert result.raised_by is not None
    assert result.raised_by.floor == floor_node(*raised_by)
    assert result.raised_by.from_disposition == from_disposition
    assert result.raised_by.to_disposition == disposition
    (raise_entry,) = [e for e in result.trace if e.kind == "raise"]
    assert raise_entry.node == result.raised_by.floor and raise_entry.value == disposition
    assert raise_entry.location == result.raised_by.floor_location
    assert f"raised from '{from_disposition}'" in raise_entry.detail
    # the last disposition in the trace is the one in effect
    assert [e.value for e in result.trace if e.kind == "disposition"][-1] == disposition


def test_a_floor_not_more_urgent_than_the_outcome_is_not_evaluated() -> None:
    result = evaluate(COUGH, {**BASE, "coughing_blood": True})
    floors = {e.node: e for e in result.trace if e.kind == "floor"}
    assert len(floors) == 4
    assert all(e.value is None and e.detail.startswith("not needed:") for e in floors.values())
    assert "fever" not in result.asked and "fell" not in result.asked


def test_an_unknown_answer_that_leaves_a_floor_undecided_makes_it_hold() -> None:
    result = evaluate(COUGH, {**BASE, "age_years": 80, "fell": "unknown"})
    assert result.disposition is not None and result.disposition.id == "see_today"
    assert result.raised_by is not None and result.raised_by.kind == "unknown_answer"
    assert [a.question for a in result.assumptions] == ["fell"]
    assert "floor 'at least see_today'" in result.assumptions[0].reason
    kinds = [(e.kind, e.node) for e in result.trace]
    floor = result.raised_by.floor
    at = kinds.index(("raise", floor))
    assert kinds[at - 2 : at] == [("assumption", result.raised_by.criterion), ("floor", floor)]


def test_unknown_that_the_other_criteria_decide_needs_no_assumption() -> None:
    result = evaluate(COUGH, {**BASE, "age_years": 40, "fell": "unknown"})
    assert result.disposition is not None and result.disposition.id == "home_care"
    assert result.assumptions == [] and "fell" not in result.asked


@pytest.mark.parametrize(
    ("answers", "missing"),
    [
        # a floor waits for its question
        ({k: v for k, v in BASE.items() if k != "worried"}, ["worried"]),
        # the first floor tried waits; later floors' questions follow
        ({**BASE, "pregnant": True}, ["fever"]),
        (
            {**{k: v for k, v in BASE.items() if k != "pregnant"}, "age_years": 80},
            ["pregnant", "fever", "fell"],
        ),
        # while the sections wait, their questions come first, then the floors'
        (
            {},
            [
                "collapsed",
                "coughing_blood",
                "short_of_breath",
                "pregnant",
                "fever",
                "immunosuppressed",
                "age_years",
                "fell",
                "worried",
            ],
        ),
        # a floor that already holds makes the less urgent floors' questions unnecessary
        ({**{k: v for k, v in BASE.items() if k != "worried"}, "pregnant": True, "fever": True}, []),
    ],
)
def test_floors_are_lazy(answers: dict[str, Any], missing: list[str]) -> None:
    result = evaluate(COUGH, answers)
    if not missing:
        assert result.status == "complete"
        return
    assert result.status == "needs_answers"
    assert result.missing == missing
    assert result.next_question is not None and result.next_question.id == missing[0]


def test_the_screens_sections_run_first_and_point_at_the_screens_file() -> None:
    result = evaluate(COUGH, {"collapsed": True})
    assert result.disposition is not None and result.disposition.id == "call_911"
    assert result.asked == ["collapsed"]
    section = next(e for e in result.trace if e.kind == "section")
    assert section.node == "section:0" and section.location.endswith("shared.triage:31")
    assert COUGH.plan.sections[0].screen == "first_screen" and COUGH.plan.sections[1].screen is None


def test_continue_with_applies_the_other_protocols_floors_then_this_ones() -> None:
    answers = {**BASE, "short_of_breath": True, "blue_lips": False, "fever": True}
    result = evaluate(COUGH, answers)
    assert result.disposition is not None and result.disposition.id == "see_today"
    raises = [(e.protocol, e.value) for e in result.trace if e.kind == "raise"]
    assert raises == [("breathing", "see_today")]
    result = evaluate(COUGH, {**answers, "pregnant": True})
    raises = [(e.protocol, e.value) for e in result.trace if e.kind == "raise"]
    assert raises == [("breathing", "see_today"), ("cough", "ed_now")]
    assert result.raised_by is not None and result.raised_by.from_disposition == "see_today"
    assert result.disposition is not None and result.disposition.id == "ed_now"


def test_floor_criterion_advice_comes_first() -> None:
    result = evaluate(COUGH, {**BASE, "pregnant": True, "fever": True})
    assert result.disposition is not None
    assert result.disposition.care_advice == ["Tell the staff you are pregnant.", "Have someone drive you."]


def test_coverage_has_goals_for_every_floor_and_floor_criterion() -> None:
    keys = {g.key for g in goals(COUGH.plan)}
    for f in COUGH.plan.floors:
        assert {f"fires:{f.node}", f"false:{f.node}"} <= keys
        for c in f.criteria:
            assert {f"fires:{c.node}", f"false:{c.node}"} <= keys
    coverage = Coverage(COUGH.plan)
    coverage.observe(evaluate(COUGH, {**BASE, "worried": True}))
    worried = floor_node("first_screen", "within_24h")
    assert f"fires:{worried}" in coverage.met and f"false:{worried}" not in coverage.met
    coverage.observe(evaluate(COUGH, BASE))
    assert f"false:{worried}" in coverage.met
    # a floor raised only by an assumption is not covered as firing
    fall = floor_node(None, "see_today")
    coverage.observe(evaluate(COUGH, {**BASE, "age_years": 80, "fell": "unknown"}))
    assert f"fires:{fall}" not in coverage.met


# ------------------------------------------------------------------ property


def _without_floors(tmp: Path) -> Any:
    for path in DATA.glob("*.triage"):
        text = re.sub(r"^\s*at least .*?^\s*end\n", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
        (tmp / path.name).write_text(text, encoding="utf-8")
    return load(tmp / "cough.triage")


@pytest.fixture(scope="module")
def no_floors(tmp_path_factory: pytest.TempPathFactory) -> Any:
    protocol = _without_floors(tmp_path_factory.mktemp("no_floors"))
    assert not protocol.plan.floors and COUGH.plan.floors
    return protocol


YES_NO = st.sampled_from([True, False])
MAYBE = st.sampled_from([True, False, "unknown"])
ANSWERS = st.fixed_dictionaries(
    {
        "collapsed": YES_NO,
        "coughing_blood": YES_NO,
        "short_of_breath": YES_NO,
        "pregnant": YES_NO,
        "age_years": st.integers(0, 120),
        "immunosuppressed": MAYBE,
        "fever": MAYBE,
        "fell": MAYBE,
        "worried": YES_NO,
        "blue_lips": YES_NO,
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=ANSWERS)
def test_adding_floors_never_makes_an_outcome_less_urgent(no_floors: Any, answers: dict[str, Any]) -> None:
    with_floors = evaluate(COUGH, answers)
    without = evaluate(no_floors, answers)
    assert with_floors.status == without.status == "complete"
    assert with_floors.urgency is not None and without.urgency is not None
    assert with_floors.urgency.rank <= without.urgency.rank
    if with_floors.raised_by is None and not any(e.kind == "raise" for e in with_floors.trace):
        assert with_floors.disposition is not None and without.disposition is not None
        assert with_floors.disposition.id == without.disposition.id


def test_the_property_protocol_strips_only_floors(tmp_path: Path) -> None:
    shutil.copy(DATA / "shared.triage", tmp_path / "shared.triage")
    stripped = _without_floors(tmp_path)
    assert len(stripped.plan.sections) == len(COUGH.plan.sections)
