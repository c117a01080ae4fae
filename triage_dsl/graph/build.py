"""AST -> decision graph: the one meeting point of interpreter, renderer and analyses.

The graph is a :class:`~triage_dsl.graph.decision.DecisionGraph` (no networkx needed to
compile or evaluate); the analyses and the renderer read it as a frozen
``networkx.DiGraph`` through ``Protocol.graph``.

Node ids and kinds:

- ``start``: where evaluation begins;
- ``question:<id>``: something asked of the caller (``decl``: the Question);
- ``value:<id>``: a derived value, score or points table (``decl``);
- ``section:<n>``: the n-th section (``mode``: any/all, ``target``);
- ``criterion:<n>.<m>``: the m-th criterion of section n (``expr``, ``advice``);
- ``default``: reached when no section fires;
- ``floor:<k>``: the k-th minimum-urgency floor, screens' floors first (``mode``,
  ``target``, ``screen``); ``floor_criterion:<k>.<m>``: its m-th criterion;
- ``disposition:<id>``: an outcome (``decl``); ``protocol:<id>``: a protocol continued with.

Edges: ``start -> section:0``, ``section:n -> section:n+1`` (``label="no"``),
``section:n -> <target>`` (``label="yes"``), ``criterion -> section`` (``label="criterion"``,
``index``), and ``question|value -> value|criterion`` (``label="reads"``). Floors hang
after the default: ``default -> floor:0 -> floor:1`` (``label="then"``), ``floor:k ->
<disposition>`` (``label="raise"``), ``floor_criterion -> floor`` (``label="criterion"``).
Sections a screen brings are numbered with the triage's own, in evaluation order, and
keep their ``screen``. Every node keeps its source ``span``.
"""

from __future__ import annotations

from triage_dsl.check.logic import expanded_sections, floors
from triage_dsl.check.scope import Scope
from triage_dsl.check.walk import decl_expressions, names
from triage_dsl.graph.decision import DecisionGraph
from triage_dsl.syntax import ast


def _target_node(target: ast.Target) -> str:
    return f"{target.kind}:{target.id}"


def build_graph(scope: Scope) -> DecisionGraph:
    assert scope.triage is not None
    graph = DecisionGraph(
        protocol=scope.file.header.id,
        tiers=tuple(scope.tier_order),
    )
    graph.add_node("start", kind="start", span=scope.triage.span)

    used: set[str] = set()

    def add_reads(node: str, exprs: list[ast.Expr]) -> None:
        for expr in exprs:
            for name in names(expr):
                add_name(name.id)
                source = f"question:{name.id}" if name.id in scope.questions else f"value:{name.id}"
                if not graph.has_edge(source, node):
                    graph.add_edge(source, node, label="reads")

    def add_criteria(
        node: str, kind: str, owner: str, index: int, criteria: tuple[ast.Criterion, ...]
    ) -> None:
        """A section's or a floor's criterion nodes, in order, each feeding ``node``."""
        for position, criterion in enumerate(criteria):
            cnode = f"{kind}:{index}.{position}"
            graph.add_node(
                cnode,
                kind=kind,
                index=position,
                expr=criterion.expr,
                advice=criterion.advice,
                span=criterion.span,
                **{owner: index},
            )
            graph.add_edge(cnode, node, label="criterion", index=position)
            add_reads(cnode, [criterion.expr])

    def add_name(name_id: str) -> None:
        if name_id in used:
            return
        used.add(name_id)
        if name_id in scope.questions:
            q = scope.questions[name_id]
            graph.add_node(f"question:{name_id}", kind="question", decl=q, span=q.span)
            return
        decl = scope.values[name_id]
        kind = "points" if isinstance(decl, ast.Points) else decl.kind
        graph.add_node(f"value:{name_id}", kind=kind, decl=decl, span=decl.span)
        add_reads(f"value:{name_id}", list(decl_expressions(decl)))

    # Every question in scope is a node: answers to any of them are valid input, and a
    # question no criterion reads is shown (and reported by the analyses) as unused.
    for qid in scope.questions:
        add_name(qid)
    # Scores are part of the result even when no criterion reads them.
    for item in scope.file.items:
        if isinstance(item, ast.Value) and item.kind == "score":
            add_name(item.id)

    previous = "start"
    for index, (section, use) in enumerate(expanded_sections(scope, scope.triage)):
        node = f"section:{index}"
        graph.add_node(
            node,
            kind="section",
            index=index,
            mode=section.mode,
            target=section.target,
            span=section.span,
            screen=use.id if use is not None else None,
        )
        graph.add_edge(previous, node, label="no" if previous != "start" else "first")
        add_criteria(node, "criterion", "section", index, section.criteria)
        _add_target(graph, scope, section.target)
        graph.add_edge(node, _target_node(section.target), label="yes")
        previous = node
    default = scope.triage.default
    graph.add_node("default", kind="default", target=default, span=default.span)
    graph.add_edge(previous, "default", label="no" if previous != "start" else "first")
    _add_target(graph, scope, default)
    graph.add_edge("default", _target_node(default), label="yes")
    previous = "default"
    screens = {id(f): use.id for use in scope.triage.screens for f in scope.screens[use.id].floors}
    for index, floor in enumerate(floors(scope, scope.triage)):
        node = f"floor:{index}"
        graph.add_node(
            node,
            kind="floor",
            index=index,
            mode=floor.mode,
            target=floor.target,
            span=floor.span,
            screen=screens.get(id(floor)),
        )
        graph.add_edge(previous, node, label="then")
        add_criteria(node, "floor_criterion", "floor", index, floor.criteria)
        _add_target(graph, scope, floor.target)
        graph.add_edge(node, _target_node(floor.target), label="raise")
        previous = node
    _check_acyclic(graph)
    return graph.freeze()


def _add_target(graph: DecisionGraph, scope: Scope, target: ast.Target) -> None:
    node = _target_node(target)
    if graph.has_node(node):
        return
    if target.kind == "disposition":
        decl = scope.dispositions[target.id]
        graph.add_node(node, kind="disposition", decl=decl, span=decl.span)
    else:
        graph.add_node(node, kind="protocol", protocol=scope.protocols[target.id], span=target.span)


def _check_acyclic(graph: DecisionGraph) -> None:
    """The checker refuses value cycles, so a cycle here is a compiler defect."""
    cycle = graph.cycle()
    if cycle is not None:  # pragma: no cover
        raise AssertionError(f"decision graph has a cycle: {' -> '.join(cycle)}")
