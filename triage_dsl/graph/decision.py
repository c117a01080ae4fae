"""The compiled decision graph: nodes and edges with their data, in the order added.

The compiler builds this small directed graph (:func:`triage_dsl.graph.build.build_graph`)
and the plan is read off it; it needs nothing beyond the standard library, so evaluating a
protocol does not load networkx. The analyses and the renderer read the same graph as a
frozen ``networkx.DiGraph`` (:meth:`DecisionGraph.to_networkx`, which
:attr:`triage_dsl.protocol.Protocol.graph` builds on first use): the same nodes, edges and
data, in the same order, so the two views cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import networkx as nx


class DecisionGraph:
    """A directed graph keeping insertion order: of nodes, of each node's successors and
    predecessors, and of edges overall (what ``networkx.DiGraph`` keeps)."""

    __slots__ = ("_edges", "_frozen", "_pred", "_succ", "attrs", "nodes")

    def __init__(self, **attrs: Any) -> None:
        self.attrs: dict[str, Any] = dict(attrs)
        self.nodes: dict[str, dict[str, Any]] = {}
        self._succ: dict[str, dict[str, dict[str, Any]]] = {}
        self._pred: dict[str, dict[str, dict[str, Any]]] = {}
        self._edges: list[tuple[str, str]] = []
        self._frozen = False

    def _mutable(self) -> None:
        if self._frozen:
            raise TypeError("a compiled decision graph cannot be changed")

    def add_node(self, node: str, **data: Any) -> None:
        self._mutable()
        if node in self.nodes:
            self.nodes[node].update(data)
            return
        self.nodes[node] = dict(data)
        self._succ[node] = {}
        self._pred[node] = {}

    def add_edge(self, source: str, target: str, **data: Any) -> None:
        self._mutable()
        for node in (source, target):
            if node not in self.nodes:
                self.add_node(node)
        found = self._succ[source].get(target)
        if found is None:
            found = self._succ[source][target] = self._pred[target][source] = {}
            self._edges.append((source, target))
        found.update(data)

    def freeze(self) -> DecisionGraph:
        self._frozen = True
        return self

    def __contains__(self, node: object) -> bool:
        return node in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    def has_node(self, node: str) -> bool:
        return node in self.nodes

    def has_edge(self, source: str, target: str) -> bool:
        return target in self._succ.get(source, {})

    def number_of_nodes(self) -> int:
        return len(self.nodes)

    def successors(self, node: str) -> Iterator[str]:
        return iter(self._succ[node])

    def predecessors(self, node: str) -> Iterator[str]:
        return iter(self._pred[node])

    def edge(self, source: str, target: str) -> dict[str, Any]:
        """The data of the edge ``source -> target`` (KeyError when there is none)."""
        return self._succ[source][target]

    def edges(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every edge with its data, in the order added."""
        for source, target in self._edges:
            yield source, target, self._succ[source][target]

    def cycle(self) -> list[str] | None:
        """A cycle's nodes (the first repeated at the end), None when the graph has none."""
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for root in self.nodes:
            if root in state:
                continue
            path: list[str] = [root]
            stack: list[Iterator[str]] = [iter(self._succ[root])]
            state[root] = 1
            while stack:
                child = next(stack[-1], None)
                if child is None:
                    stack.pop()
                    state[path.pop()] = 2
                elif state.get(child) == 1:
                    return [*path[path.index(child) :], child]
                elif child not in state:
                    state[child] = 1
                    path.append(child)
                    stack.append(iter(self._succ[child]))
        return None

    def to_networkx(self) -> nx.DiGraph:
        """The same graph as a frozen ``networkx.DiGraph``: nodes and edges added in this
        graph's order, so successors, predecessors and every view iterate alike."""
        import networkx as nx

        graph: nx.DiGraph = nx.DiGraph(**self.attrs)
        for node, data in self.nodes.items():
            graph.add_node(node, **data)
        for source, target, data in self.edges():
            graph.add_edge(source, target, **data)
        return nx.freeze(graph)
