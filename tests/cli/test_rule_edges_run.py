"""The scored rules typed through ``triage run`` at every threshold of the contract
(/work/shared/contracts/decision-rules.md, mirrored by ``tests/protocols/test_contract.py``):
each edge, just inside and just outside (0.1 and 0.01 away), typed as a nurse types it,
whole values also with a decimal point ("65.0", "2.0"). The disposition must equal the
independent transcription of the contract (``tools/baselines.py``)."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT / "tests" / "protocols"), str(ROOT / "tools")]

from baselines import PLAIN  # noqa: E402
from test_contract import EDGES  # noqa: E402
from vignettes import Vignette, play, protocol_at  # noqa: E402


def typed(value: Any, decimal_point: bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if float(value).is_integer():
        return f"{int(value)}.0" if decimal_point else str(int(value))
    return repr(value)


def finer(grid: dict[str, list[Any]], whole: set[str]) -> dict[str, list[Any]]:
    """The contract's edge values, plus 0.01 either side of each numeric one."""
    out: dict[str, list[Any]] = {}
    for qid, values in grid.items():
        extra: set[Any] = set()
        if qid not in whole and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            extra = {round(v + d, 2) for v in values for d in (-0.01, 0.01)}
        out[qid] = sorted(set(values) | extra) if extra else values
    return out


BACKGROUNDS = 4


def cases(rule: str) -> list[tuple[dict[str, Any], bool]]:
    protocol = protocol_at(f"rules/{rule}.triage")
    whole = {q for q, plan in protocol.plan.questions.items() if plan.type == "whole number"}
    q_range = dict(protocol.plan.questions)
    grid = finer(EDGES[rule], whole)
    rng = random.Random(f"run-edges-{rule}")
    out = []
    for qid, values in grid.items():
        for n, value in enumerate(values):
            for k in range(BACKGROUNDS):  # the other answers drawn from their own edges
                answers = {q: rng.choice(EDGES[rule][q]) for q in EDGES[rule]}
                answers[qid] = value
                if all(_in_range(q_range[q], v) for q, v in answers.items()):
                    out.append((answers, (n + k) % 2 == 0))
    return out


def _in_range(plan: Any, value: Any) -> bool:
    if isinstance(value, bool | str):
        return True
    low = -float("inf") if plan.low is None else plan.low
    high = float("inf") if plan.high is None else plan.high
    return bool(low <= value <= high)


@pytest.mark.parametrize("rule", sorted(EDGES))
def test_rule_typed_at_every_edge_matches_the_contract(rule: str) -> None:
    checked = 0
    for answers, decimal_point in cases(rule):
        says = {q: typed(v, decimal_point) for q, v in answers.items()}
        played = play(Vignette(f"rules/{rule}.triage", rule, "contract", says, "", ""))
        assert played.code == 0, played.transcript[-1500:]
        assert played.disposition == PLAIN[rule](answers), (says, played.transcript[-1500:])
        checked += 1
    assert checked >= 2 * len(EDGES[rule])
