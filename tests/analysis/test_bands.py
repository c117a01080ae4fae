"""merge_regions: the plain rule (first region that joins with a later one, joined with
the first such, then start again) done fast, with the same result in the same order."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from triage_dsl.analysis.bands import Region, _join, merge_regions

QUESTIONS = {"a": 2, "b": 3, "c": 2, "d": 4}  # question -> number of classes
DOMS: Any = SimpleNamespace(classes={q: [object()] * n for q, n in QUESTIONS.items()})


def reference(regions: list[Region]) -> list[Region]:
    """The rule as written before it was made fast (cubic)."""
    merged = [dict(r) for r in regions]
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                joined = _join(merged[i], merged[j], DOMS)
                if joined is not None:
                    merged[i] = joined
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    unique: list[Region] = []
    for r in merged:
        if r not in unique:
            unique.append(r)
    return unique


@st.composite
def region(draw: st.DrawFn) -> Region:
    keys = draw(st.sets(st.sampled_from(sorted(QUESTIONS)), min_size=0, max_size=4))
    out: Region = {}
    for q in sorted(keys):
        classes = draw(st.sets(st.integers(0, QUESTIONS[q] - 1), min_size=1, max_size=QUESTIONS[q] - 1))
        out[q] = frozenset(classes)
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(region(), max_size=30))
def test_the_same_regions_in_the_same_order_as_the_plain_rule(regions: list[Region]) -> None:
    assert merge_regions(regions, DOMS) == reference(regions)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([{"a": frozenset({0}), "b": frozenset({i})} for i in range(3)]), max_size=40))
def test_many_regions_that_all_join(regions: list[Region]) -> None:
    assert merge_regions(regions, DOMS) == reference(regions)


def test_a_large_set_merges_in_reasonable_work() -> None:
    """Every combination of four questions' single classes: 48 regions joining down to one
    region that covers everything (the plain rule needs on the order of n^3 joins tried)."""
    regions: list[Region] = [
        {"a": frozenset({a}), "b": frozenset({b}), "c": frozenset({c}), "d": frozenset({d})}
        for a in range(2)
        for b in range(3)
        for c in range(2)
        for d in range(4)
    ]
    assert merge_regions(regions, DOMS) == reference(regions) == [{}]
