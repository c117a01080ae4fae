"""The compiled decision graph and its networkx view: one graph, seen two ways."""

from __future__ import annotations

import networkx as nx
import pytest

from tests.conftest import PROTOCOLS
from triage_dsl import Protocol, TriageError, load
from triage_dsl.graph.decision import DecisionGraph


def _shipped() -> list[Protocol]:
    out = []
    for path in sorted(PROTOCOLS.glob("*/*.triage")):
        try:
            out.append(load(path))
        except TriageError:
            continue  # libraries
    return out


SHIPPED = _shipped()


@pytest.mark.parametrize("protocol", SHIPPED, ids=[p.path for p in SHIPPED])
def test_the_networkx_view_is_the_decision_graph(protocol: Protocol) -> None:
    decision, graph = protocol.decision, protocol.graph
    assert nx.is_frozen(graph)
    assert graph.graph == decision.attrs
    assert list(graph.nodes(data=True)) == list(decision.nodes.items())
    for node in decision.nodes:
        assert list(graph.successors(node)) == list(decision.successors(node))
        assert list(graph.predecessors(node)) == list(decision.predecessors(node))
        for target in decision.successors(node):
            assert graph.edges[node, target] == decision.edge(node, target)
    assert sorted(graph.edges) == sorted((s, t) for s, t, _ in decision.edges())
    assert protocol.graph is graph  # built once


def test_shipped_protocols_were_found() -> None:
    assert len(SHIPPED) >= 10


def _graph(edges: dict[str, list[str]]) -> DecisionGraph:
    graph = DecisionGraph()
    for source, targets in edges.items():
        graph.add_node(source)
        for target in targets:
            graph.add_edge(source, target, label="x")
    return graph


@pytest.mark.parametrize(
    ("edges", "cycle"),
    [
        ({"a": ["b"], "b": ["c"]}, None),
        ({"a": ["b", "c"], "b": ["c"], "c": []}, None),
        ({"a": ["b"], "b": ["a"]}, ["a", "b", "a"]),
        ({"s": ["a"], "a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"x": ["x"]}, ["x", "x"]),
    ],
)
def test_cycle(edges: dict[str, list[str]], cycle: list[str] | None) -> None:
    assert _graph(edges).cycle() == cycle


def test_order_of_insertion_is_kept() -> None:
    graph = DecisionGraph(protocol="p")
    graph.add_node("c", kind="late")
    graph.add_edge("b", "c", label="first")
    graph.add_edge("a", "c", label="second")
    graph.add_edge("b", "c", index=1)  # the same edge: its data updated, its place kept
    assert list(graph.nodes) == ["c", "b", "a"]
    assert list(graph.predecessors("c")) == ["b", "a"]
    assert graph.edge("b", "c") == {"label": "first", "index": 1}
    assert [(s, t) for s, t, _ in graph.edges()] == [("b", "c"), ("a", "c")]
    assert list(graph.to_networkx().predecessors("c")) == ["b", "a"]


def test_a_frozen_graph_refuses_changes() -> None:
    graph = _graph({"a": ["b"]}).freeze()
    with pytest.raises(TypeError, match="cannot be changed"):
        graph.add_node("c")
    with pytest.raises(TypeError, match="cannot be changed"):
        graph.add_edge("a", "c")
