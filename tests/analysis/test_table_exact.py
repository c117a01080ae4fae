"""The decision table of every rule is exact: its rows partition the whole answer space
(checked exhaustively over the answer classes), and on 10,000 random answer sets per rule
the row an answer set falls in gives the interpreter's disposition."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from triage_dsl import evaluate, load
from triage_dsl.analysis.table import build_table

RULES = Path(__file__).resolve().parents[2] / "protocols" / "rules"
NAMES = ["curb65", "esi", "heart", "mcisaac", "news2", "ottawa_ankle", "qsofa"]


def _random_value(q: object, rng: random.Random) -> object:
    kind = q.type  # type: ignore[attr-defined]
    if kind == "yes/no":
        return rng.random() < 0.5
    if kind == "choice":
        return rng.choice(q.option_ids)  # type: ignore[attr-defined]
    low, high = q.low, q.high  # type: ignore[attr-defined]
    if kind == "whole number":
        return rng.randint(int(low), int(high))
    if rng.random() < 0.3:  # near a round number, where thresholds sit
        return min(high, max(low, round(rng.uniform(low, high)) + rng.choice([-0.1, 0, 0.1])))
    return round(rng.uniform(low, high), rng.choice([0, 1, 2]))


@pytest.mark.parametrize("name", NAMES)
def test_table_is_a_partition_and_agrees_with_the_interpreter(name: str) -> None:
    protocol = load(RULES / f"{name}.triage")
    table = build_table(protocol)
    questions = list(table.domains.classes)
    sizes = [len(table.domains.classes[q]) for q in questions]
    owner: dict[tuple[int, ...], int] = {}
    for n, row in enumerate(table.rows):
        allowed = [sorted(row.condition(q) or range(size)) for q, size in zip(questions, sizes, strict=True)]
        for vector in itertools.product(*allowed):
            assert vector not in owner, f"rows {owner.get(vector)} and {n} overlap"
            owner[vector] = n
    total = 1
    for size in sizes:
        total *= size
    assert len(owner) == total, "some answers fall in no row"

    rng = random.Random(f"table-{name}")
    for _ in range(10_000):
        answers = {q: _random_value(table.domains.questions[q], rng) for q in questions}
        vector = tuple(
            next(i for i, c in enumerate(table.domains.classes[q]) if c.contains(answers[q]))  # type: ignore[arg-type]
            for q in questions
        )
        row = table.rows[owner[vector]]
        result = evaluate(protocol, answers, trace=False)
        assert result.disposition is not None and result.disposition.id == row.disposition, answers


FLOORS = Path(__file__).resolve().parents[1] / "data" / "floors"


def test_the_table_of_a_protocol_with_floors_includes_their_raises() -> None:
    protocol = load(FLOORS / "cough.triage")
    table = build_table(protocol)
    assert table.floors
    rng = random.Random("table-floors")
    raised = set()
    for _ in range(2_000):
        answers = {q: _random_value(p, rng) for q, p in table.domains.questions.items()}
        (row,) = table.row_for(answers)  # type: ignore[arg-type]
        result = evaluate(protocol, answers)
        assert result.disposition is not None and result.disposition.id == row.disposition, answers
        expected = result.raised_by.floor_location if result.raised_by else None
        assert (row.raised_by or "").endswith(f"({expected})") if expected else row.raised_by is None
        raised.add(row.raised_by)
    # every floor of the protocol, and of the protocol it continues with, raises some row
    assert len({r for r in raised if r}) == 5
