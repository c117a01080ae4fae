"""Safety pathways against the rules they overlay (protocols/pathways/ vs protocols/rules/).

A pathway repeats its rule line for line and adds hard stops or floors. On every contract
edge case of the rule (the same grid as tests/protocols/test_contract.py), the pathway
must give the rule's disposition wherever its own additions do not apply, and never a
less urgent one anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.protocols.test_contract import cases
from triage_dsl import load
from triage_dsl.batch import case_line

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "protocols" / "rules"
PATHWAYS = ROOT / "protocols" / "pathways"

ESI_ORDER = ["esi_1", "esi_2", "esi_3", "esi_4", "esi_5"]


def danger_zone(a: dict[str, Any]) -> bool:
    """The handbook's danger-zone vital signs, in the contract's age bands (months)."""
    months, hr, rr = a["age_months"], a["heart_rate"], a["resp_rate"]
    return bool(
        a["spo2"] < 92
        or (months < 3 and (hr > 180 or rr > 50))
        or (3 <= months < 36 and (hr > 160 or rr > 40))
        or (36 <= months <= 96 and (hr > 140 or rr > 30))
        or (months > 96 and (hr > 100 or rr > 20))
    )


def outcome(path: Path, answers: dict[str, Any]) -> dict[str, Any]:
    protocol = load(path)
    result: dict[str, Any] = json.loads(
        case_line(protocol, json.dumps({"id": "x", "answers": answers}), 1, trace=False)[0]
    )
    return result


def test_esi_pathway_equals_the_rule_except_for_danger_zone_vitals_below_two_resources() -> None:
    rule = load(RULES / "esi.triage")
    pathway = load(PATHWAYS / "esi_pathway.triage")
    raised = 0
    grid = cases("esi")
    assert min(a["temp_c"] for a in grid) >= 36.5  # so the hypothermic-infant floor never applies here
    for n, answers in enumerate(grid):
        line = json.dumps({"id": n, "answers": answers})
        ours = json.loads(case_line(pathway, line, n + 1, trace=False)[0])
        theirs = json.loads(case_line(rule, line, n + 1, trace=False)[0])
        assert ours["status"] == theirs["status"] == "complete", (answers, ours.get("error"))
        got, base = ours["disposition"]["id"], theirs["disposition"]["id"]
        expected = "esi_2" if base in ("esi_4", "esi_5") and danger_zone(answers) else base
        assert got == expected, answers
        assert ESI_ORDER.index(got) <= ESI_ORDER.index(base), answers
        raised += got != base
    assert raised > 0  # the grid reaches the floor, so the comparison above tests it


@pytest.mark.parametrize(
    ("answers", "level"),
    [
        ({"resources": 1, "spo2": 85}, "esi_2"),  # review finding: was ESI 4
        ({"resources": 0, "heart_rate": 150}, "esi_2"),  # review finding: was ESI 5
        ({"resources": 0}, "esi_5"),
        ({"resources": 0, "age_months": 1.4, "temp_c": 36.0}, "esi_2"),  # hypothermic infant (Table 6-3)
        ({"resources": 0, "age_months": 1.4, "temp_c": 36.5}, "esi_5"),
    ],
)
def test_esi_pathway_review_findings(answers: dict[str, Any], level: str) -> None:
    base = {
        "lifesaving_intervention": False,
        "high_risk_situation": False,
        "new_confusion_lethargy_disorientation": False,
        "pain_score": 2,
        "age_months": 400,
        "spo2": 98,
        "heart_rate": 80,
        "resp_rate": 16,
    }
    result = outcome(PATHWAYS / "esi_pathway.triage", base | answers)
    assert result["status"] == "complete"
    assert result["disposition"]["id"] == level


def crb65(a: dict[str, Any]) -> str:
    """NICE CG191 box 1, transcribed independently: 0 low, 1 or 2 intermediate, 3-4 high."""
    score = (
        bool(a["confusion"]) + (a["resp_rate"] >= 30) + (a["sbp"] < 90 or a["dbp"] <= 60) + (a["age"] >= 65)
    )
    return {0: "crb65_low_risk", 1: "crb65_discuss_care", 2: "crb65_hospital_assessment"}.get(
        score, "crb65_high_risk"
    )


def test_pneumonia_pathway_is_curb65_with_a_urea_and_crb65_without() -> None:
    rule = load(RULES / "curb65.triage")
    pathway = load(PATHWAYS / "pneumonia_severity_pathway.triage")
    seen = set()
    for n, answers in enumerate(cases("curb65")):
        line = json.dumps({"id": n, "answers": answers})
        ours = json.loads(case_line(pathway, line, n + 1, trace=False)[0])
        theirs = json.loads(case_line(rule, line, n + 1, trace=False)[0])
        assert ours["disposition"]["id"] == theirs["disposition"]["id"], answers
        assert ours["scores"]["curb65"] == theirs["scores"]["curb65"], answers
        without_urea = answers | {"urea_mmol_l": "unknown"}
        result = json.loads(
            case_line(pathway, json.dumps({"id": n, "answers": without_urea}), 1, trace=False)[0]
        )
        assert result["status"] == "complete", (without_urea, result.get("error"))
        assert result["disposition"]["id"] == crb65(answers), answers
        seen.add(result["disposition"]["id"])
    assert len(seen) == 4  # every CRB-65 band is reached by the grid


def test_curb65_rule_refuses_an_unknown_urea_so_the_pathway_is_needed() -> None:
    result = outcome(RULES / "curb65.triage", {"urea_mmol_l": "unknown"})
    assert result["status"] == "error" and "urea_mmol_l" in result["error"]


@pytest.mark.parametrize("qsofa", [0, 3])
def test_qsofa_advice_says_it_is_not_a_single_screening_tool(qsofa: int) -> None:
    high = qsofa >= 2
    answers = {"resp_rate": 30 if high else 16, "altered_mentation": high, "sbp": 90 if high else 120}
    result = outcome(RULES / "qsofa.triage", answers)
    advice = " ".join(result["disposition"]["care_advice"])
    assert "Surviving Sepsis Campaign 2021" in advice and "single screening tool" in advice
    assert result["disposition"]["id"] == ("high_risk" if high else "not_high_risk")


def test_curb65_low_risk_is_reviewed_today_not_routinely() -> None:
    answers = {"confusion": False, "urea_mmol_l": 5, "resp_rate": 18, "sbp": 120, "dbp": 80, "age": 50}
    result = outcome(RULES / "curb65.triage", answers)
    assert result["disposition"]["id"] == "low_risk"
    assert result["urgency"]["tier"] == "same_day"
    assert any("within 3 days" in text for text in result["disposition"]["care_advice"])


GATES = {
    "ottawa_ankle": (
        "ottawa_ankle_pathway",
        ("intoxicated", "head_injury", "distracting_injury", "reduced_sensation", "pregnant"),
        "rule_not_applicable",
    ),
    "mcisaac": ("sore_throat_pathway", ("stridor", "drooling", "trismus"), "airway_emergency"),
}


@pytest.mark.parametrize("rule", sorted(GATES))
def test_gated_pathway_equals_the_rule_when_the_gate_is_negative(rule: str) -> None:
    name, gate, _ = GATES[rule]
    theirs_protocol = load(RULES / f"{rule}.triage")
    ours_protocol = load(PATHWAYS / f"{name}.triage")
    clear = dict.fromkeys(gate, False)
    for n, answers in enumerate(cases(rule)):
        theirs = json.loads(
            case_line(theirs_protocol, json.dumps({"id": n, "answers": answers}), 1, trace=False)[0]
        )
        line = json.dumps({"id": n, "answers": answers | clear})
        ours = json.loads(case_line(ours_protocol, line, 1, trace=False)[0])
        assert ours["status"] == theirs["status"] == "complete", answers
        assert ours["disposition"]["id"] == theirs["disposition"]["id"], answers
        assert ours["urgency"]["tier"] == theirs["urgency"]["tier"], answers


@pytest.mark.parametrize("rule", sorted(GATES))
def test_any_gate_finding_overrides_the_rule_and_is_never_less_urgent(rule: str) -> None:
    name, gate, outcome_id = GATES[rule]
    theirs_protocol = load(RULES / f"{rule}.triage")
    ours_protocol = load(PATHWAYS / f"{name}.triage")
    for n, answers in enumerate(cases(rule)[::7]):
        theirs = json.loads(
            case_line(theirs_protocol, json.dumps({"id": n, "answers": answers}), 1, trace=False)[0]
        )
        for finding in gate:
            gated = answers | dict.fromkeys(gate, False) | {finding: True}
            ours = json.loads(
                case_line(ours_protocol, json.dumps({"id": n, "answers": gated}), 1, trace=False)[0]
            )
            assert ours["disposition"]["id"] == outcome_id, (finding, answers)
            assert ours["urgency"]["rank"] <= theirs["urgency"]["rank"], (finding, answers)
