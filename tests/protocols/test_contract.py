"""The published rules against the contract (shared/contracts/decision-rules.md).

Each rule is compared with an independent plain-Python transcription of the contract
(``tools/baselines.py``) on every combination of answers at and around every threshold
the contract names, through the batch interface (``triage eval --cases``) line format.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from baselines import PLAIN  # noqa: E402

from triage_dsl import load  # noqa: E402
from triage_dsl.batch import case_line  # noqa: E402

RULES = ROOT / "protocols" / "rules"


def around(*edges: float, step: float = 0.1) -> list[float]:
    values: set[float] = set()
    for edge in edges:
        values.update({round(edge - step, 4), edge, round(edge + step, 4)})
    return sorted(values)


# Values at and on both sides of every threshold in the contract, per question.
EDGES: dict[str, dict[str, list[Any]]] = {
    "news2": {
        "resp_rate": around(8, 11, 20, 24),
        "spo2": around(83, 85, 87, 91, 92, 93, 94, 95, 96),
        "spo2_scale2": [True, False],
        "on_oxygen": [True, False],
        "sbp": around(90, 100, 110, 219),
        "pulse": around(40, 50, 90, 110, 130),
        "consciousness": ["alert", "new_confusion", "voice", "pain", "unresponsive"],
        "temp_c": around(35.0, 36.0, 38.0, 39.0),
    },
    "curb65": {
        "confusion": [True, False],
        "urea_mmol_l": around(7),
        "resp_rate": around(30),
        "sbp": around(90),
        "dbp": around(60),
        "age": around(65),
    },
    "qsofa": {"resp_rate": around(22), "altered_mentation": [True, False], "sbp": around(100)},
    "heart": {
        "history": ["slightly", "moderately", "highly"],
        "ecg": ["normal", "nonspecific", "st_deviation"],
        "age": around(45, 65),
        "risk_factor_count": [0, 1, 2, 3, 4],
        "known_atherosclerotic_disease": [True, False],
        "troponin_ratio": around(1, 3, step=0.01),
    },
    "ottawa_ankle": {
        q: [True, False]
        for q in (
            "malleolar_zone_pain",
            "midfoot_zone_pain",
            "lateral_malleolus_tenderness",
            "medial_malleolus_tenderness",
            "fifth_metatarsal_base_tenderness",
            "navicular_tenderness",
            "unable_to_bear_weight",
        )
    },
    "mcisaac": {
        "age": around(3, 15, 45),
        "temp_c": around(38.0, step=0.05),
        "cough": [True, False],
        "tender_anterior_nodes": [True, False],
        "tonsillar_swelling_or_exudate": [True, False],
    },
    "esi": {
        "lifesaving_intervention": [True, False],
        "high_risk_situation": [True, False],
        "new_confusion_lethargy_disorientation": [True, False],
        "pain_score": around(7),
        "age_months": around(3, 36, 96),
        "temp_c": around(38.0),
        "resources": [0, 1, 2, 3],
        "heart_rate": around(100, 140, 160, 180, step=1),
        "resp_rate": around(20, 30, 40, 50, step=1),
        "spo2": around(92),
    },
}

MAX_CASES = 6000


def cases(rule: str) -> list[dict[str, Any]]:
    """Every combination when few; otherwise each edge value under random other answers."""
    grid = EDGES[rule]
    total = 1
    for values in grid.values():
        total *= len(values)
    if total <= MAX_CASES:
        return [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    rng = random.Random(f"contract-{rule}")
    out = []
    for question, values in grid.items():
        for value in values:
            for _ in range(MAX_CASES // sum(len(v) for v in grid.values())):
                answers = {q: rng.choice(vs) for q, vs in grid.items()}
                answers[question] = value
                out.append(answers)
    return out


@pytest.mark.parametrize("rule", sorted(EDGES))
def test_rule_reproduces_the_published_table_at_every_edge(rule: str) -> None:
    protocol = load(RULES / f"{rule}.triage")
    baseline = PLAIN[rule]
    for n, answers in enumerate(cases(rule)):
        line = json.dumps({"id": f"{rule}-{n}", "answers": answers})
        result = json.loads(case_line(protocol, line, n + 1, trace=False)[0])
        assert result["id"] == f"{rule}-{n}"
        assert result["status"] == "complete", (answers, result.get("error"))
        assert result["disposition"]["id"] == baseline(answers), answers


SCORES = {"news2": "news2", "curb65": "curb65", "qsofa": "qsofa", "heart": "heart", "mcisaac": "mcisaac"}


@pytest.mark.parametrize("rule", sorted(SCORES))
def test_complete_answers_report_the_score_by_its_contract_name(rule: str) -> None:
    protocol = load(RULES / f"{rule}.triage")
    answers = {q: values[len(values) // 2] for q, values in EDGES[rule].items()}
    if rule == "mcisaac":
        answers["age"] = 20
    result = json.loads(case_line(protocol, json.dumps({"id": 1, "answers": answers}), 1)[0])
    assert isinstance(result["scores"][SCORES[rule]], int | float)


@pytest.mark.parametrize(
    ("rule", "answers", "missing_first"),
    [
        ("ottawa_ankle", {"malleolar_zone_pain": False, "midfoot_zone_pain": False}, None),
        ("mcisaac", {"age": 2}, None),
        ("esi", {"lifesaving_intervention": True}, None),
        (
            "esi",
            {
                "lifesaving_intervention": False,
                "high_risk_situation": False,
                "new_confusion_lethargy_disorientation": False,
                "pain_score": 2,
                "age_months": 400,
                "resources": 1,
            },
            None,
        ),
        ("qsofa", {"resp_rate": 25, "altered_mentation": True}, None),
        ("news2", {}, "resp_rate"),
        ("ottawa_ankle", {"malleolar_zone_pain": True}, "midfoot_zone_pain"),
    ],
)
def test_lazy_answers(rule: str, answers: dict[str, Any], missing_first: str | None) -> None:
    protocol = load(RULES / f"{rule}.triage")
    result = json.loads(case_line(protocol, json.dumps({"id": "x", "answers": answers}), 1)[0])
    if missing_first is None:
        assert result["status"] == "complete" and result["disposition"]["id"]
    else:
        assert result["status"] == "needs_answers" and result["disposition"] is None
        assert result["missing"][0] == missing_first


@pytest.mark.parametrize(
    ("rule", "answers", "question"),
    [
        ("news2", {"spo2": 250}, "spo2"),
        ("news2", {"resp_rate": -1}, "resp_rate"),
        ("news2", {"consciousness": "asleep"}, "consciousness"),
        ("news2", {"on_oxygen": "yes"}, "on_oxygen"),
        ("curb65", {"age": 400}, "age"),
        ("heart", {"troponin_ratio": "high"}, "troponin_ratio"),
        ("esi", {"pain_score": 11}, "pain_score"),
        ("qsofa", {"blood_pressure": 90}, "blood_pressure"),
    ],
)
def test_invalid_answers_are_refused_with_the_question_named(
    rule: str, answers: dict[str, Any], question: str
) -> None:
    protocol = load(RULES / f"{rule}.triage")
    result = json.loads(case_line(protocol, json.dumps({"id": "x", "answers": answers}), 1)[0])
    assert result["status"] == "error" and result["disposition"] is None
    assert question in result["error"]
