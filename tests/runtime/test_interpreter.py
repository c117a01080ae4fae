"""Interpreter semantics, as tables: first match, any/all, laziness, unknown answers,
invalid answers, points tables, scores, escalation plans and the trace."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import protocol
from triage_dsl import evaluate

SECTIONS = protocol("""
question chest_pain: yes/no ask "Chest pain?" red flag end
question sweating: yes/no ask "Sweating?" unknown allowed end
question age: number ask "Age?" range 0 to 120 end
question fever: yes/no ask "Fever?" unknown allowed unknown means no end
question colour: choice ask "Skin colour?" option normal "Normal" option pale "Pale" option blue "Blue" end
disposition er label "ER" tier emergency advice "Call 911." end
disposition ed label "ED" tier urgent end
disposition today label "Today" tier same_day end
disposition home label "Home" tier home_care end
triage
  section er if any of
    when colour is blue
    when chest_pain and sweating advice "Do not drive."
  end
  section ed if all of
    when chest_pain
    when age >= 40
  end
  section today if any of
    when fever
    when colour in {pale}
  end
  default home
end
""")


@pytest.mark.parametrize(
    ("answers", "status", "disposition", "missing"),
    [
        # first match wins, decided by the first criterion
        ({"colour": "blue"}, "complete", "er", []),
        # the follow-up is asked only after the first part holds
        ({"colour": "normal", "chest_pain": True}, "needs_answers", None, ["sweating", "age", "fever"]),
        ({"colour": "normal", "chest_pain": True, "sweating": True}, "complete", "er", []),
        # all of: every criterion must hold
        ({"colour": "normal", "chest_pain": True, "sweating": False, "age": 40}, "complete", "ed", []),
        (
            {"colour": "normal", "chest_pain": True, "sweating": False, "age": 39.9, "fever": False},
            "complete",
            "home",
            [],
        ),
        # an all-of section is ruled out by its first false criterion: age is not needed
        ({"colour": "normal", "chest_pain": False, "fever": True}, "complete", "today", []),
        ({"colour": "pale", "chest_pain": False, "fever": False}, "complete", "today", []),
        ({"colour": "normal", "chest_pain": False, "fever": False}, "complete", "home", []),
        # nothing answered: the first question of the first section comes first, and a
        # follow-up (`chest_pain and sweating`) after the questions asked before it
        ({}, "needs_answers", None, ["chest_pain", "colour", "sweating", "age", "fever"]),
        # a later section that holds cannot decide while an earlier one is open
        ({"fever": True, "chest_pain": True}, "needs_answers", None, ["sweating", "colour", "age"]),
    ],
)
def test_first_match_and_laziness(
    answers: dict[str, Any], status: str, disposition: str | None, missing: list[str]
) -> None:
    result = evaluate(SECTIONS, answers)
    assert result.status == status
    assert (result.disposition.id if result.disposition else None) == disposition
    assert result.missing == missing
    if missing:
        assert result.next_question is not None and result.next_question.id == missing[0]


def test_unknown_answer_takes_the_more_urgent_section_and_says_why() -> None:
    result = evaluate(SECTIONS, {"colour": "normal", "chest_pain": True, "sweating": "unknown"})
    assert result.status == "complete" and result.disposition is not None
    assert result.disposition.id == "er"
    assert result.decided_by is not None and result.decided_by.kind == "unknown_answer"
    assert [a.question for a in result.assumptions] == ["sweating"]
    assert any(e.kind == "assumption" for e in result.trace)
    assert "more urgent" in result.decided_by.explanation


def test_unknown_means_uses_the_authors_value_and_records_it() -> None:
    result = evaluate(SECTIONS, {"colour": "normal", "chest_pain": False, "fever": "unknown"})
    assert result.disposition is not None and result.disposition.id == "home"
    assert [(a.question, a.assumed) for a in result.assumptions] == [("fever", False)]


def test_criterion_advice_comes_before_the_dispositions_advice() -> None:
    result = evaluate(SECTIONS, {"colour": "normal", "chest_pain": True, "sweating": True})
    assert result.disposition is not None
    assert result.disposition.care_advice == ["Do not drive.", "Call 911."]


@pytest.mark.parametrize(
    ("answers", "code"),
    [
        ({"chest_pian": True}, "unknown_question"),
        ({"chest_pain": "yes"}, "wrong_type"),
        ({"chest_pain": 1}, "wrong_type"),
        ({"age": True}, "wrong_type"),
        ({"age": "40"}, "wrong_type"),
        ({"age": 121}, "out_of_range"),
        ({"age": -1}, "out_of_range"),
        ({"age": float("nan")}, "not_finite"),
        ({"age": float("inf")}, "not_finite"),
        ({"colour": "purple"}, "not_an_option"),
        ({"colour": 3}, "wrong_type"),
        ({"chest_pain": "unknown"}, "unknown_not_allowed"),
        ({"colour": "blue", "age": 500}, "out_of_range"),
    ],
)
def test_invalid_answers_are_refused_with_the_question_named(answers: dict[str, Any], code: str) -> None:
    result = evaluate(SECTIONS, answers)
    assert result.status == "error"
    assert result.disposition is None and result.urgency is None
    assert [e.code for e in result.errors] == [code]
    assert result.errors[0].question in result.error  # type: ignore[operator]


def test_misspelled_question_gets_a_suggestion() -> None:
    result = evaluate(SECTIONS, {"chest_pian": True})
    assert result.error == "'chest_pian' is not a question of protocol 'demo'; did you mean 'chest_pain'?"


def test_null_answer_means_not_answered() -> None:
    assert evaluate(SECTIONS, {"colour": None}).missing[0] == "chest_pain"


def test_answers_must_be_an_object() -> None:
    result = evaluate(SECTIONS, ["colour"])  # type: ignore[arg-type]
    assert result.status == "error" and result.disposition is None


SCORED = protocol("""
question rr: number ask "RR?" range 0 to 80 end
question confused: yes/no ask "Confused?" end
question avpu: choice ask "AVPU?" option alert "A" option voice "V" option pain "P" end
points rr_points from rr
  <= 8: 3
  <= 11: 1
  <= 20: 0
  else: 3
end
points avpu_points from avpu
  alert: 0
  voice, pain: 3
end
score total = rr_points + avpu_points + count(confused)
value doubled = total * 2 - 1
disposition high label "High" tier emergency end
disposition mid label "Mid" tier urgent end
disposition low label "Low" tier routine end
triage
  section high if any of when total >= 6 end
  section mid if any of when doubled >= 3 end
  default low
end
""")


@pytest.mark.parametrize(
    ("rr", "points"),
    [(0, 3), (8, 3), (8.01, 1), (11, 1), (11.5, 0), (20, 0), (20.1, 3), (80, 3)],
)
def test_points_bands_are_read_literally(rr: float, points: int) -> None:
    result = evaluate(SCORED, {"rr": rr, "avpu": "alert", "confused": False})
    assert result.scores == {"total": points}


def test_a_score_can_decide_before_every_part_is_answered() -> None:
    result = evaluate(SCORED, {"rr": 5, "avpu": "voice"})
    assert result.status == "complete" and result.disposition is not None
    assert result.disposition.id == "high"
    assert "confused" not in result.asked
    assert result.scores == {"total": None}


def test_arithmetic_values() -> None:
    result = evaluate(SCORED, {"rr": 15, "avpu": "alert", "confused": True})
    assert result.disposition is not None and result.disposition.id == "low"
    values = {e.node: e.value for e in result.trace}
    assert values["value:doubled"] == 1


def test_trace_explains_every_step_with_source_lines() -> None:
    result = evaluate(SCORED, {"rr": 5, "avpu": "pain", "confused": False})
    kinds = [e.kind for e in result.trace]
    assert kinds == [
        "answer",
        "points",
        "answer",
        "points",
        "answer",
        "score",
        "criterion",
        "section",
        "disposition",
    ]
    assert [e.step for e in result.trace] == list(range(1, 10))
    criterion = result.trace[6]
    assert criterion.text == "total >= 6" and criterion.reads == {"total": 6} and criterion.value is True
    assert criterion.location == "demo.triage:22"
    assert result.trace[1].row == 0 and "row '<= 8': 3 points" in result.trace[1].detail
    assert result.decided_by is not None and result.decided_by.location == "demo.triage:22"


ESCALATING = protocol("""
escalation page
  tell caller "Stay on the line."
  notify on_call by secure_page, wait 15 minutes for callback, retry 2 times every 10 minutes
  notify backup by phone, wait 1 hour for callback
  finally tell caller "Go to the emergency department now."
end
disposition ed label "ED" tier urgent escalation page end
triage default ed end
""")


def test_escalation_plan_is_structured_data() -> None:
    plan = evaluate(ESCALATING, {}).escalation
    assert plan is not None
    assert [
        (s.kind, s.role, s.channel, s.wait_minutes, s.retries, s.retry_every_minutes, s.worst_case_minutes)
        for s in plan.steps
    ] == [
        ("tell_caller", None, None, None, 0, None, 0),
        ("notify", "on_call", "secure_page", 15, 2, 10, 35),
        ("notify", "backup", "phone", 60, 0, None, 60),
    ]
    assert plan.worst_case_minutes == 95 and plan.fallback == "Go to the emergency department now."


def test_urgency_has_rank_and_time_frame() -> None:
    urgency = evaluate(ESCALATING, {}).urgency
    assert urgency is not None
    assert (urgency.tier, urgency.rank, urgency.time_frame, urgency.time_frame_minutes) == (
        "urgent",
        1,
        "within 1 hour",
        60,
    )


def test_default_is_explained() -> None:
    result = evaluate(ESCALATING, {})
    assert result.decided_by is not None and result.decided_by.kind == "default"
    assert [e.kind for e in result.trace] == ["default", "disposition"]
