"""Exploring the answer space: the decision tree of a protocol over answer classes.

Starting from no answers, the interpreter (:func:`~triage_dsl.runtime.interpreter.decide`)
says either the outcome or which question it needs next; each class of that question is
tried in turn. Every leaf is a region of the answer space (the classes chosen on its
path, every other answer free) with one outcome. This is exact because the interpreter's
partial evaluation is sound: an outcome it reaches with answers missing holds for every
value of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from triage_dsl.analysis.domains import AnswerClass, Domains, domains
from triage_dsl.runtime.answers import Clean
from triage_dsl.runtime.interpreter import Decision, decide

MAX_LEAVES = 2_000_000


class TooLarge(Exception):
    """The answer space has more regions than the analyses will enumerate."""


@dataclass(frozen=True)
class Leaf:
    """A region: the classes chosen on the path, and the interpreter's decision there."""

    path: tuple[AnswerClass, ...]
    decision: Decision

    def answers(self) -> dict[str, Clean]:
        return {c.question: c.representative for c in self.path}


_LEAVES: dict[tuple[int, int], tuple[Any, Domains, list[Leaf]]] = {}


def leaves(protocol: Any, doms: Domains | None = None) -> list[Leaf]:
    """Every leaf of the whole decision tree, computed once per compiled protocol."""
    doms = doms or domains(protocol.plan)
    key = (id(protocol), id(doms))
    cached = _LEAVES.get(key)
    if cached is not None and cached[0] is protocol and cached[1] is doms:
        return cached[2]
    result = list(explore(protocol, doms))
    if len(_LEAVES) > 64:
        _LEAVES.clear()
    _LEAVES[key] = (protocol, doms, result)
    return result


def explore(protocol: Any, doms: Domains | None = None) -> Iterator[Leaf]:
    """Every leaf of the decision tree, in protocol order, depth first.

    Each inner node splits the question the interpreter would ask next.
    """
    doms = doms or domains(protocol.plan)
    stack: list[tuple[AnswerClass, ...]] = [()]
    count = 0
    while stack:
        path = stack.pop()
        answers = {c.question: c.representative for c in path}
        decision = decide(protocol, answers)
        if decision.status == "complete":
            count += 1
            if count > MAX_LEAVES:
                raise TooLarge(f"more than {MAX_LEAVES:,} regions")
            yield Leaf(path, decision)
            continue
        question = decision.missing[0]
        for cls in reversed(doms.classes[question]):
            stack.append((*path, cls))
