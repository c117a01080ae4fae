"""Hand-written baselines for ``tools/bench.py``: each rule in ``protocols/rules/`` as plain
Python, and as one ``rule-engine`` expression (the peer engine from PyPI).

Each plain function takes complete answers (question id -> value, as JSON gives them)
and returns the disposition id, with no validation, no trace and no laziness: the
fastest honest Python for the same rule, the yardstick of the interpreter. The bench
checks that every baseline gives the protocol's own disposition on every generated case,
so a baseline that drifts from its protocol is caught rather than timed.

``RULE_ENGINE`` holds the same rules as ``rule-engine`` expressions (its ternary
``c ? a : b`` makes a points table one nested expression); each evaluates to the
disposition id. A rule missing there is one rule-engine cannot express (none so far).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Answers = Mapping[str, Any]


def news2(a: Answers) -> str:
    rr, spo2, temp = a["resp_rate"], a["spo2"], a["temp_c"]
    resp = 3 if rr <= 8 else 1 if rr <= 11 else 0 if rr <= 20 else 2 if rr <= 24 else 3
    if a["spo2_scale2"]:
        if spo2 <= 83:
            sat = 3
        elif spo2 <= 85:
            sat = 2
        elif spo2 <= 87:
            sat = 1
        elif spo2 <= 92 or not a["on_oxygen"]:
            sat = 0
        else:
            sat = 1 if spo2 <= 94 else 2 if spo2 <= 96 else 3
    else:
        sat = 3 if spo2 <= 91 else 2 if spo2 <= 93 else 1 if spo2 <= 95 else 0
    oxygen = 2 if a["on_oxygen"] else 0
    sbp = a["sbp"]
    bp = 3 if sbp <= 90 else 2 if sbp <= 100 else 1 if sbp <= 110 else 0 if sbp <= 219 else 3
    hr = a["pulse"]
    pulse = 3 if hr <= 40 else 1 if hr <= 50 else 0 if hr <= 90 else 1 if hr <= 110 else 2 if hr <= 130 else 3
    avpu = 0 if a["consciousness"] == "alert" else 3
    t = 3 if temp <= 35.0 else 1 if temp <= 36.0 else 0 if temp <= 38.0 else 1 if temp <= 39.0 else 2
    score = resp + sat + oxygen + bp + pulse + avpu + t
    if score >= 7:
        return "high"
    if score >= 5:
        return "medium"
    if 3 in (resp, sat, bp, pulse, avpu, t):
        return "low_medium"
    return "low" if score >= 1 else "zero"


def curb65(a: Answers) -> str:
    score = (
        bool(a["confusion"])
        + (a["urea_mmol_l"] > 7)
        + (a["resp_rate"] >= 30)
        + (a["sbp"] < 90 or a["dbp"] <= 60)
        + (a["age"] >= 65)
    )
    return "high_risk" if score >= 3 else "moderate_risk" if score == 2 else "low_risk"


def esi(a: Answers) -> str:
    if a["lifesaving_intervention"]:
        return "esi_1"
    if a["high_risk_situation"] or a["new_confusion_lethargy_disorientation"] or a["pain_score"] >= 7:
        return "esi_2"
    months = a["age_months"]
    if months < 3 and a["temp_c"] >= 38.0:
        return "esi_2"
    resources = a["resources"]
    if resources >= 2:
        hr, rr = a["heart_rate"], a["resp_rate"]
        danger = (
            a["spo2"] < 92
            or (months < 3 and (hr > 180 or rr > 50))
            or (3 <= months < 36 and (hr > 160 or rr > 40))
            or (36 <= months <= 96 and (hr > 140 or rr > 30))
            or (months > 96 and (hr > 100 or rr > 20))
        )
        return "esi_2" if danger else "esi_3"
    return "esi_4" if resources == 1 else "esi_5"


_HISTORY = {"slightly": 0, "moderately": 1, "highly": 2}
_ECG = {"normal": 0, "nonspecific": 1, "st_deviation": 2}


def heart(a: Answers) -> str:
    age, factors, troponin = a["age"], a["risk_factor_count"], a["troponin_ratio"]
    risk = 2 if a["known_atherosclerotic_disease"] or factors >= 3 else 1 if factors >= 1 else 0
    score = (
        _HISTORY[a["history"]]
        + _ECG[a["ecg"]]
        + (0 if age < 45 else 1 if age < 65 else 2)
        + risk
        + (0 if troponin <= 1 else 1 if troponin <= 3 else 2)
    )
    return "high" if score >= 7 else "moderate" if score >= 4 else "low"


def mcisaac(a: Answers) -> str:
    age = a["age"]
    if age < 3:
        return "not_applicable"
    score = (
        (a["temp_c"] > 38.0)
        + (not a["cough"])
        + bool(a["tender_anterior_nodes"])
        + bool(a["tonsillar_swelling_or_exudate"])
        + (1 if age < 15 else 0 if age < 45 else -1)
    )
    return "test_and_consider_treatment" if score >= 4 else "test" if score >= 2 else "no_test"


def ottawa_ankle(a: Answers) -> str:
    unable = a["unable_to_bear_weight"]
    ankle = a["malleolar_zone_pain"] and (
        a["lateral_malleolus_tenderness"] or a["medial_malleolus_tenderness"] or unable
    )
    foot = a["midfoot_zone_pain"] and (
        a["fifth_metatarsal_base_tenderness"] or a["navicular_tenderness"] or unable
    )
    if ankle and foot:
        return "xray_ankle_and_foot"
    return "xray_ankle" if ankle else "xray_foot" if foot else "no_xray"


def qsofa(a: Answers) -> str:
    score = (a["resp_rate"] >= 22) + bool(a["altered_mentation"]) + (a["sbp"] <= 100)
    return "high_risk" if score >= 2 else "not_high_risk"


PLAIN: dict[str, Callable[[Answers], str]] = {
    "news2": news2,
    "curb65": curb65,
    "esi": esi,
    "heart": heart,
    "mcisaac": mcisaac,
    "ottawa_ankle": ottawa_ankle,
    "qsofa": qsofa,
}

# ---------------------------------------------------------------- rule-engine expressions

_NEWS2_POINTS = {
    "resp": "(resp_rate <= 8 ? 3 : (resp_rate <= 11 ? 1 : (resp_rate <= 20 ? 0 : "
    "(resp_rate <= 24 ? 2 : 3))))",
    "sat": "(spo2_scale2 ? (spo2 <= 83 ? 3 : (spo2 <= 85 ? 2 : (spo2 <= 87 ? 1 : "
    "((spo2 <= 92 or not on_oxygen) ? 0 : (spo2 <= 94 ? 1 : (spo2 <= 96 ? 2 : 3)))))) "
    ": (spo2 <= 91 ? 3 : (spo2 <= 93 ? 2 : (spo2 <= 95 ? 1 : 0))))",
    "oxygen": "(on_oxygen ? 2 : 0)",
    "bp": "(sbp <= 90 ? 3 : (sbp <= 100 ? 2 : (sbp <= 110 ? 1 : (sbp <= 219 ? 0 : 3))))",
    "pulse": "(pulse <= 40 ? 3 : (pulse <= 50 ? 1 : (pulse <= 90 ? 0 : (pulse <= 110 ? 1 : "
    "(pulse <= 130 ? 2 : 3)))))",
    "avpu": '(consciousness == "alert" ? 0 : 3)',
    "temp": "(temp_c <= 35.0 ? 3 : (temp_c <= 36.0 ? 1 : (temp_c <= 38.0 ? 0 : (temp_c <= 39.0 ? 1 : 2))))",
}
_NEWS2_SCORE = " + ".join(_NEWS2_POINTS.values())
_NEWS2_SINGLE = " or ".join(
    f"{_NEWS2_POINTS[k]} == 3" for k in ("resp", "sat", "bp", "pulse", "avpu", "temp")
)

_COUNT = "({} ? 1 : 0)"
_CURB65 = " + ".join(
    _COUNT.format(c)
    for c in ("confusion", "urea_mmol_l > 7", "resp_rate >= 30", "(sbp < 90 or dbp <= 60)", "age >= 65")
)
_ESI_DANGER = (
    "(spo2 < 92 or (age_months < 3 and (heart_rate > 180 or resp_rate > 50))"
    " or (age_months >= 3 and age_months < 36 and (heart_rate > 160 or resp_rate > 40))"
    " or (age_months >= 36 and age_months <= 96 and (heart_rate > 140 or resp_rate > 30))"
    " or (age_months > 96 and (heart_rate > 100 or resp_rate > 20)))"
)
_HEART = (
    '(history == "slightly" ? 0 : (history == "moderately" ? 1 : 2))'
    ' + (ecg == "normal" ? 0 : (ecg == "nonspecific" ? 1 : 2))'
    " + (age < 45 ? 0 : (age < 65 ? 1 : 2))"
    " + ((known_atherosclerotic_disease or risk_factor_count >= 3) ? 2 : (risk_factor_count >= 1 ? 1 : 0))"
    " + (troponin_ratio <= 1 ? 0 : (troponin_ratio <= 3 ? 1 : 2))"
)
_MCISAAC = (
    "(temp_c > 38.0 ? 1 : 0) + (cough ? 0 : 1) + (tender_anterior_nodes ? 1 : 0)"
    " + (tonsillar_swelling_or_exudate ? 1 : 0) + (age < 15 ? 1 : (age < 45 ? 0 : -1))"
)
_ANKLE = (
    "(malleolar_zone_pain and (lateral_malleolus_tenderness or medial_malleolus_tenderness"
    " or unable_to_bear_weight))"
)
_FOOT = (
    "(midfoot_zone_pain and (fifth_metatarsal_base_tenderness or navicular_tenderness"
    " or unable_to_bear_weight))"
)

RULE_ENGINE: dict[str, str] = {
    "news2": f'({_NEWS2_SCORE}) >= 7 ? "high" : (({_NEWS2_SCORE}) >= 5 ? "medium" : '
    f'(({_NEWS2_SINGLE}) ? "low_medium" : (({_NEWS2_SCORE}) >= 1 ? "low" : "zero")))',
    "curb65": f'({_CURB65}) >= 3 ? "high_risk" : (({_CURB65}) == 2 ? "moderate_risk" : "low_risk")',
    "esi": 'lifesaving_intervention ? "esi_1" : '
    "((high_risk_situation or new_confusion_lethargy_disorientation"
    ' or pain_score >= 7) ? "esi_2" : ((age_months < 3 and temp_c >= 38.0) ? "esi_2" : '
    f'((resources >= 2 and {_ESI_DANGER}) ? "esi_2" : (resources >= 2 ? "esi_3" : '
    '(resources == 1 ? "esi_4" : "esi_5")))))',
    "heart": f'({_HEART}) >= 7 ? "high" : (({_HEART}) >= 4 ? "moderate" : "low")',
    "mcisaac": f'age < 3 ? "not_applicable" : (({_MCISAAC}) >= 4 ? "test_and_consider_treatment" : '
    f'(({_MCISAAC}) >= 2 ? "test" : "no_test"))',
    "ottawa_ankle": f'({_ANKLE} and {_FOOT}) ? "xray_ankle_and_foot" : ({_ANKLE} ? "xray_ankle" : '
    f'({_FOOT} ? "xray_foot" : "no_xray"))',
    "qsofa": "((resp_rate >= 22 ? 1 : 0) + (altered_mentation ? 1 : 0) + (sbp <= 100 ? 1 : 0)) >= 2"
    ' ? "high_risk" : "not_high_risk"',
}
