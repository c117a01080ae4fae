"""The decision tree of a protocol kept in memory, and two of its evaluations compared.

The dead-question and monotonicity analyses ask, for a question Q and two answers to it,
whether some answers to the other questions give outcomes that differ in a given way.
:func:`~triage_dsl.analysis.joint.pairs` answers that by running the interpreter on both
sides of every region, once per question: for a protocol of 40 questions, hundreds of
thousands of evaluations. The decision tree (:mod:`~triage_dsl.analysis.explore`: each
inner node splits the question the interpreter asks next, each leaf holds the decision
for its whole region) already knows every outcome, so it is built once per protocol and
the comparison walks it twice at once, without evaluating anything.

Exact for the same reason as ``explore``: the interpreter's partial evaluation is sound,
so a leaf's disposition holds for every answer its path leaves free (not always its
deciding criterion: with more answers given, an earlier criterion of the same section
may be the one that holds, so comparisons of criteria stay with ``pairs``). Fixing Q to
one answer takes, at each node that splits Q, the branch whose class holds that answer. A walk of
both copies assigns each other question one class for both sides, so every pair of
leaves it compares is one set of answers with the two values of Q.

Nodes are made when a walk first needs them, so a comparison that finds its answer early
costs little; the tree grows up to :data:`MAX_NODES` nodes, and beyond that (or when an
answer is in none of Q's classes) the callers fall back to ``pairs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from triage_dsl.analysis.domains import AnswerClass, Domains
from triage_dsl.analysis.state import key, relevant
from triage_dsl.runtime.answers import Clean
from triage_dsl.runtime.interpreter import Decision, decide

MAX_NODES = 50_000


@dataclass(eq=False)
class Node:
    """A leaf (``decision`` complete) or an inner node splitting ``question`` by its
    classes; its children are made when a walk first needs them."""

    decision: Decision
    path: tuple[AnswerClass, ...] = ()
    question: str | None = None
    # The questions the rest of the evaluation may read from here (None at a leaf): no
    # node below splits any other.
    wanted: frozenset[str] | None = None
    children: list[Node | None] | None = None


class TreeTooLarge(Exception):
    """The tree has more than ``MAX_NODES`` nodes (or cannot be built: the callers then
    use the interpreter-driven search)."""


class Tree:
    """The decision tree of ``protocol`` over the classes of ``doms``, grown on demand.

    Two paths in the same state (:mod:`~triage_dsl.analysis.state`: waiting at the same
    place, the same answers to every question still relevant) share one subtree, so the
    tree is a graph of shared subtrees; a subtree never splits a question its state says
    no longer matters, so sharing it gives each path its own outcomes. Leaves are not
    shared: each keeps its own decision.
    """

    def __init__(self, protocol: Any, doms: Domains, limit: int = MAX_NODES) -> None:
        self.protocol = protocol
        self.doms = doms
        self.limit = limit
        self.count = 0
        self.shared: dict[tuple[Any, ...], Node] = {}
        self.root = self._node(())

    def _node(self, path: tuple[AnswerClass, ...]) -> Node:
        self.count += 1
        if self.count > self.limit:
            raise TreeTooLarge(f"more than {self.limit:,} nodes")
        decision = decide(self.protocol, {c.question: c.representative for c in path})
        if decision.status == "complete":
            return Node(decision)
        wanted = relevant(self.protocol, decision)
        state = key(decision, wanted, path)
        found = self.shared.get(state)
        if found is not None:
            return found
        question = decision.missing[0] if decision.missing else None
        if question is None or question not in self.doms.classes:  # pragma: no cover
            raise TreeTooLarge(f"no classes for the question {question!r}")
        node = self.shared[state] = Node(decision, path, question, wanted)
        return node

    def child(self, node: Node, index: int) -> Node:
        """The node's child for the ``index``-th class of its question."""
        assert node.question is not None
        classes = self.doms.classes[node.question]
        if node.children is None:
            node.children = [None] * len(classes)
        found = node.children[index]
        if found is None:
            found = node.children[index] = self._node((*node.path, classes[index]))
        return found


_TREES: dict[tuple[int, int], tuple[Any, Domains, Tree | None]] = {}


def tree(protocol: Any, doms: Domains) -> Tree | None:
    """The decision tree of a compiled protocol (one per protocol and domains)."""
    ident = (id(protocol), id(doms))
    cached = _TREES.get(ident)
    if cached is not None and cached[0] is protocol and cached[1] is doms:
        return cached[2]
    try:
        found: Tree | None = Tree(protocol, doms)
    except TreeTooLarge:
        found = None
    if len(_TREES) > 16:
        _TREES.clear()
    _TREES[ident] = (protocol, doms, found)
    return found


def _branch(classes: list[AnswerClass], answer: Clean) -> int | None:
    return next((i for i, c in enumerate(classes) if c.contains(answer)), None)


def any_pair(
    tree: Tree,
    qid: str,
    first: Clean,
    second: Clean,
    differ: Callable[[Decision, Decision], bool],
) -> bool | None:
    """Whether some answers to the other questions give decisions ``a`` (with ``qid`` =
    ``first``) and ``b`` (with ``second``) such that ``differ(a, b)``; None when one of
    the two answers is in none of the question's classes (the caller decides otherwise).

    ``differ(d, d)`` must be false: where the two walks are at the same node and nothing
    below it reads ``qid``, they meet the same leaves and the subtree is skipped. None
    too when the tree grows past its limit.
    """
    try:
        return _any_pair(tree, qid, first, second, differ)
    except TreeTooLarge:
        return None


def _any_pair(
    tree: Tree,
    qid: str,
    first: Clean,
    second: Clean,
    differ: Callable[[Decision, Decision], bool],
) -> bool | None:
    doms = tree.doms
    classes = doms.classes.get(qid)
    if not classes:
        return None
    a_branch, b_branch = _branch(classes, first), _branch(classes, second)
    if a_branch is None or b_branch is None:
        return None

    def settle(node: Node, branch: int, chosen: dict[str, int]) -> Node:
        while node.question is not None:
            if node.question == qid:
                node = tree.child(node, branch)
            elif node.question in chosen:
                node = tree.child(node, chosen[node.question])
            else:
                break
        return node

    # Pairs of nodes already walked, with the classes chosen for the questions still
    # relevant below them: the rest of such a walk depends on nothing else, and a walk
    # that had found a pair would have returned. Without this, a shared subtree is walked
    # once per path into it (a red flag whose yes side ends at once left the no side to
    # enumerate every combination of the questions after it).
    seen: set[tuple[int, int, tuple[tuple[str, int], ...]]] = set()
    stack: list[tuple[Node, Node, dict[str, int]]] = [(tree.root, tree.root, {})]
    while stack:
        a, b, chosen = stack.pop()
        a, b = settle(a, a_branch, chosen), settle(b, b_branch, chosen)
        if a is b and (a.wanted is None or qid not in a.wanted):
            continue
        below = (a.wanted or frozenset()) | (b.wanted or frozenset())
        state = (id(a), id(b), tuple(sorted((q, i) for q, i in chosen.items() if q in below)))
        if state in seen:
            continue
        seen.add(state)
        if a.question is None and b.question is None:
            if differ(a.decision, b.decision):
                return True
            continue
        split = a.question if a.question is not None else b.question
        assert split is not None
        for i in reversed(range(len(doms.classes[split]))):  # the first class first, as pairs does
            stack.append((a, b, {**chosen, split: i}))
    return False
