"""The decision table's row merge and its cache.

``_merge`` keys each row by a question once and keeps those keys from pass to pass; it
must give the same rows, in the same order, as the plain rule (regroup every row by every
question on every pass, until nothing merges), written out here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage_dsl import load
from triage_dsl.analysis import table as table_module
from triage_dsl.analysis.domains import domains
from triage_dsl.analysis.table import Row, _merge, build_table

PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"


def plain_merge(rows: list[Row], questions: list[str], sizes: dict[str, int]) -> list[Row]:
    changed = True
    while changed:
        changed = False
        for question in reversed(questions):
            groups: dict[tuple[Any, ...], list[Row]] = {}
            for row in rows:
                rest = tuple((q, c) for q, c in row.conditions if q != question)
                key = (rest, row.disposition, row.raised_by, row.condition(question) is None)
                groups.setdefault(key, []).append(row)
            merged: list[Row] = []
            for key, group in groups.items():
                if len(group) == 1 or key[3]:
                    merged.extend(group)
                    continue
                union = frozenset().union(*(r.condition(question) or frozenset() for r in group))
                first = group[0]
                conditions = [(q, c) for q, c in first.conditions if q != question]
                if len(union) < sizes[question]:
                    position = [q for q, _ in first.conditions].index(question)
                    conditions.insert(position, (question, union))
                merged.append(
                    Row(tuple(conditions), first.disposition, first.tier, first.rank, first.raised_by)
                )
                changed = True
            rows = merged
    return rows


class FakeDomains:
    def __init__(self, sizes: dict[str, int]) -> None:
        self.classes = {q: list(range(n)) for q, n in sizes.items()}


QUESTIONS = ["a", "b", "c", "d"]
SIZES = {"a": 2, "b": 3, "c": 2, "d": 4}


@st.composite
def rows(draw: st.DrawFn) -> list[Row]:
    out = []
    for _ in range(draw(st.integers(0, 40))):
        conditions = []
        for q in QUESTIONS:
            if draw(st.booleans()):
                indexes = draw(st.sets(st.integers(0, SIZES[q] - 1), min_size=1, max_size=SIZES[q] - 1))
                conditions.append((q, frozenset(indexes)))
        disposition = draw(st.sampled_from(["x", "y"]))
        out.append(Row(tuple(conditions), disposition, disposition, 0, draw(st.sampled_from([None, "f"]))))
    return out


@settings(max_examples=300, deadline=None)
@given(rows())
def test_the_merge_is_the_plain_rule(given_rows: list[Row]) -> None:
    doms: Any = FakeDomains(SIZES)
    assert _merge(list(given_rows), doms) == plain_merge(list(given_rows), QUESTIONS, SIZES)


@pytest.mark.parametrize("name", ["rules/news2.triage", "telephone/headache_adult.triage"])
def test_shipped_tables_merge_as_the_plain_rule(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = load(PROTOCOLS / name)
    doms = domains(protocol.plan)
    raw: list[list[Row]] = []
    monkeypatch.setattr(table_module, "_merge", lambda rows, d: raw.append(list(rows)) or _merge(rows, d))
    table = build_table(protocol)
    sizes = {q: len(cs) for q, cs in doms.classes.items()}
    assert list(table.rows) == plain_merge(raw[0], list(doms.classes), sizes)
