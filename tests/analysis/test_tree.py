"""The decision tree's comparison (``tree.any_pair``) against the interpreter-driven search
it stands in for (``joint.pairs``): for every question of a protocol and every two of its
answer classes, both say the same about whether some answers to the other questions give
different outcomes, and a less urgent outcome for the second answer."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings

from tests.check.test_checks import _cases
from tests.conftest import PROTOCOLS
from tests.fuzz.test_fuzz_source import protocols as protocol_texts
from triage_dsl import Protocol, compile_text, load
from triage_dsl.analysis.domains import NotSeparable, domains
from triage_dsl.analysis.joint import Side, pairs
from triage_dsl.analysis.tree import Tree, TreeTooLarge, any_pair
from triage_dsl.errors import CompileError
from triage_dsl.graph.plan import all_dispositions


def _comparisons(protocol: Protocol) -> list[Any]:
    tiers = {d.id: d.tier.rank for d in all_dispositions(protocol.plan).values()}

    def outcome_differs(a: Any, b: Any) -> bool:
        return a.disposition != b.disposition  # type: ignore[no-any-return]

    def less_urgent(a: Any, b: Any) -> bool:
        return (
            a.disposition is not None
            and b.disposition is not None
            and tiers[b.disposition] > tiers[a.disposition]
        )

    return [outcome_differs, less_urgent]


def same_answers(protocol: Protocol, limit: int = 400) -> int:
    """Compare the two on every question and pair of classes; the number of comparisons."""
    doms = domains(protocol.plan)
    tree = Tree(protocol, doms)
    done = 0
    for qid, classes in sorted(doms.classes.items()):
        for first, second in itertools.permutations(classes, 2):
            for differ in _comparisons(protocol):
                a, b = first.representative, second.representative
                expected = any(
                    differ(da, db)
                    for _, da, db in pairs(Side(protocol, {qid: a}), Side(protocol, {qid: b}), doms)
                )
                assert any_pair(tree, qid, a, b, differ) is expected, (qid, a, b, differ.__name__)
                done += 1
                if done >= limit:
                    return done
    return done


SMALL = [
    "rules/qsofa",
    "rules/curb65",
    "rules/ottawa_ankle",
    "telephone/allergic_reaction",
    "telephone/medication_question",
]


@pytest.mark.parametrize("name", SMALL)
def test_shipped_protocols(name: str) -> None:
    assert same_answers(load(PROTOCOLS / f"{name}.triage")) > 0


@pytest.mark.parametrize(
    ("name", "text"), _cases("../analysis/findings.triage"), ids=lambda x: x if "\n" not in x else ""
)
def test_the_analyses_test_protocols(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.triage"
    path.write_text(text, encoding="utf-8")
    same_answers(load(path))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=protocol_texts())
def test_generated_protocols(text: str) -> None:
    try:
        protocol = compile_text(text, "fuzz.triage")
        doms = domains(protocol.plan)
    except (CompileError, NotSeparable):
        assume(False)
        return
    assert doms.classes
    assert same_answers(protocol) > 0


def test_an_answer_in_no_class_is_left_to_the_caller() -> None:
    protocol = load(PROTOCOLS / "rules" / "qsofa.triage")
    tree = Tree(protocol, domains(protocol.plan))
    qid = next(iter(protocol.plan.questions))
    assert any_pair(tree, qid, "no such answer", "nor this", lambda a, b: True) is None


def test_a_tree_past_its_limit_is_left_to_the_caller() -> None:
    protocol = load(PROTOCOLS / "telephone" / "chest_pain_adult.triage")
    doms = domains(protocol.plan)
    qid = next(q for q, classes in doms.classes.items() if len(classes) > 1)
    first, second = (c.representative for c in doms.classes[qid][:2])
    small = Tree(protocol, doms, limit=3)
    assert any_pair(small, qid, first, second, lambda a, b: False) is None
    with pytest.raises(TreeTooLarge):
        Tree(protocol, doms, limit=0)
    assert any_pair(Tree(protocol, doms), qid, first, second, lambda a, b: False) is False
