"""The shared first screen of the telephone library (``screen first_screen`` in
protocols/telephone/shared.triage): what it decides on its own, through a minimal protocol
that runs it, and that every shipped telephone protocol running it asks it first."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from triage_dsl import evaluate, load
from triage_dsl.protocol import Protocol

ROOT = Path(__file__).resolve().parents[2]
TELEPHONE = ROOT / "protocols" / "telephone"

# The screen's 911 questions, in the order they are asked.
EMERGENCY = [
    "unconscious",
    "not_breathing_or_gasping",
    "confused_or_hard_to_wake",
    "stroke_signs",
    "non_blanching_rash",
    "skin_blue_grey_blotchy",
]
CLEAR = dict.fromkeys(EMERGENCY, False)

# The smallest protocol that runs the screen: one question of its own, a same-day
# section and home care by default. Not clinical advice.
PROBE = """\
protocol probe
  title "Probe for the shared first screen (test)"
  version "1.0.0"
end

import "shared.triage"

question sore: yes/no
  ask "Is it sore?"
end

triage
  screen first_screen
  section see_today if any of
    when sore
  end
  default home_care
end
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Protocol:
    folder = tmp_path_factory.mktemp("screen")
    shutil.copy(TELEPHONE / "shared.triage", folder / "shared.triage")
    (folder / "probe.triage").write_text(PROBE, encoding="utf-8")
    return load(folder / "probe.triage")


def outcome(protocol: Protocol, answers: dict[str, Any]) -> str:
    result = evaluate(protocol, answers)
    assert result.status == "complete", (result.status, result.missing, result.error)
    assert result.disposition is not None
    return result.disposition.id


@pytest.mark.parametrize("question", EMERGENCY)
def test_each_screen_finding_alone_is_a_911_call(probe: Protocol, question: str) -> None:
    before = EMERGENCY[: EMERGENCY.index(question)]
    result = evaluate(probe, {**dict.fromkeys(before, False), question: True})
    assert result.status == "complete" and result.disposition is not None
    assert result.disposition.id == "call_911" and result.urgency is not None
    assert result.urgency.tier == "emergency"
    # decided by the screen, in the shared library, before the protocol asks anything
    assert result.asked == [*before, question]
    assert result.decided_by is not None and result.decided_by.location.startswith("shared.triage:")


@pytest.mark.parametrize("question", EMERGENCY)
def test_the_911_questions_refuse_i_do_not_know(probe: Protocol, question: str) -> None:
    # every one is a 911 call: the agent has the caller look rather than guess
    result = evaluate(probe, {**CLEAR, question: "unknown"})
    assert result.status == "error" and result.disposition is None


@pytest.mark.parametrize(
    ("change", "disposition", "raised"),
    [
        # nothing on the screen: the protocol decides
        ({"immunocompromised": False}, "home_care", False),
        ({"immunocompromised": False, "sore": True}, "see_today", False),
        # NICE CG151: anticancer treatment (or a weak immune system) and unwell -> ED now
        ({"immunocompromised": True, "fever_or_unwell": True}, "ed_now", True),
        ({"immunocompromised": True, "fever_or_unwell": True, "sore": True}, "ed_now", True),
        ({"immunocompromised": True, "fever_or_unwell": False}, "home_care", False),
        # a floor that cannot be decided holds (errs to the ED)
        ({"immunocompromised": "unknown", "fever_or_unwell": True}, "ed_now", True),
        ({"immunocompromised": True, "fever_or_unwell": "unknown"}, "ed_now", True),
        ({"immunocompromised": "unknown", "fever_or_unwell": False}, "home_care", False),
        # the floor never lowers a 911 finding
        ({"stroke_signs": True, "immunocompromised": True, "fever_or_unwell": True}, "call_911", False),
    ],
)
def test_the_screens_floor_raises_to_the_ed_and_never_lowers(
    probe: Protocol, change: dict[str, Any], disposition: str, raised: bool
) -> None:
    answers = {**CLEAR, "sore": False, **change}
    result = evaluate(probe, answers)
    assert outcome(probe, answers) == disposition
    assert (result.raised_by is not None) == raised
    if raised:
        assert result.raised_by is not None and result.raised_by.screen == "first_screen"
        assert "neutropenic sepsis" in result.disposition.care_advice[0]  # type: ignore[union-attr]


def test_the_floor_asks_about_fever_only_when_the_immune_system_is_weak(probe: Protocol) -> None:
    result = evaluate(probe, {**CLEAR, "sore": False, "immunocompromised": False})
    assert "fever_or_unwell" not in result.asked
    result = evaluate(probe, {**CLEAR, "sore": False, "immunocompromised": True})
    assert result.status == "needs_answers" and result.missing == ["fever_or_unwell"]


def test_the_screen_is_asked_first(probe: Protocol) -> None:
    result = evaluate(probe, {})
    assert result.status == "needs_answers"
    assert result.missing[: len(EMERGENCY)] == EMERGENCY
    assert result.next_question is not None and result.next_question.id == "unconscious"


def screened() -> list[str]:
    """Every telephone protocol: each must run the shared first screen."""
    return [path.stem for path in sorted(TELEPHONE.glob("*.triage")) if path.name != "shared.triage"]


@pytest.mark.parametrize("name", screened())
def test_a_protocol_that_runs_the_screen_runs_it_first(name: str) -> None:
    protocol = load(TELEPHONE / f"{name}.triage")
    plan = protocol.plan
    # the screen comes before every section less urgent than a 911 call (a protocol may
    # put its own 911 section first, as allergic_reaction does for anaphylaxis)
    at = next(i for i, s in enumerate(plan.sections) if s.screen == "first_screen")
    assert all(plan.dispositions[s.target.id].tier.id == "emergency" for s in plan.sections[:at])
    if at:
        return  # the question order below is the screen-first one
    given: dict[str, Any] = {}
    population = protocol.plan.population
    if population is not None:
        # the population's age question comes first (it decides whether the protocol
        # applies at all); an age just inside the population is given
        result = evaluate(protocol, {})
        assert result.next_question is not None and result.next_question.id == population.question
        given = {population.question: f"{int(population.low // (24 * 60)) + 1} days"}
    result = evaluate(protocol, given)
    assert result.next_question is not None and result.next_question.id == "unconscious"
    # only the patient's age (asked first to enforce the population) comes before the
    # screen's 911 questions, in the screen's order
    missing = evaluate(protocol, {}).missing
    clinical = [q for q in missing if not protocol.plan.questions[q].patient_age]
    assert clinical[: len(EMERGENCY)] == EMERGENCY
    # the screen decides alone: a non-fading rash is a 911 call in every protocol
    result = evaluate(protocol, {**given, **dict.fromkeys(EMERGENCY[:4], False), "non_blanching_rash": True})
    assert result.disposition is not None and result.disposition.id == "call_911"
