"""Decision graph -> DOT: the picture a reviewer approves, drawn from ``protocol.graph``.

Everything drawn is read off the compiled decision graph (node kinds, edges, spans) and
its plan (tier ranks, criterion text), the same objects the interpreter walks; nothing is
re-derived from the source. Layout, chosen for protocols of a hundred nodes:

- left to right: questions, then the values, scores and points tables that read them,
  then the criteria, then the sections, then the dispositions;
- each section is a cluster with its criteria, and the sections sit in one column in
  first-match order (``newrank`` lets that column cross the clusters), so the order in
  which sections are tried reads top to bottom, the default last;
- dispositions are one column ordered by urgency tier and coloured by it, with the legend
  under them; labels are wrapped to a fixed width;
- floors (``at least``) are clusters like sections, drawn after the default in the order
  they are written (``then`` edges), each with a ``raise to`` edge to its disposition.
"""

from __future__ import annotations

import html
import itertools
import re
import secrets
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

import graphviz

from triage_dsl.model.result import JSONValue
from triage_dsl.protocol import Protocol
from triage_dsl.render.overlay import Overlay
from triage_dsl.source import Span

WRAP = 30
FONT = "Helvetica"

# Most urgent first; sampled evenly when a scale has fewer tiers. Dark reds carry white text.
TIER_COLOURS = ("#b2182b", "#e34a33", "#fc8d59", "#fdd49e", "#d9ef8b", "#91cf60", "#1a9850")
DARK = {"#b2182b", "#e34a33", "#1a9850"}

GREY_LINE, GREY_TEXT, GREY_FILL = "#c8c8c8", "#9a9a9a", "#f6f6f6"
PATH_COLOUR, FIRED_COLOUR = "#1f4e9c", "#c2185b"
UNDECIDED_COLOUR, ASSUMED_COLOUR = "#5f6b7a", "#e65100"

# kind -> node attributes: the shape says what a node is, independent of colour.
SHAPES: dict[str, dict[str, str]] = {
    "start": {"shape": "circle", "style": "filled", "fillcolor": "#333333", "fontcolor": "white"},
    "question": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8f0fb"},
    "value": {"shape": "note", "style": "filled", "fillcolor": "#fff8e1"},
    "score": {"shape": "box3d", "style": "filled", "fillcolor": "#ffe9b0"},
    "points": {"shape": "tab", "style": "filled", "fillcolor": "#fff3cc"},
    "criterion": {"shape": "hexagon", "style": "filled", "fillcolor": "white"},
    "section": {"shape": "diamond", "style": "filled", "fillcolor": "#eeeeee"},
    "default": {"shape": "diamond", "style": "filled,dashed", "fillcolor": "#eeeeee"},
    "floor": {"shape": "invhouse", "style": "filled", "fillcolor": "#fde0c5"},
    "floor_criterion": {"shape": "hexagon", "style": "filled", "fillcolor": "#fff7f0"},
    "disposition": {"shape": "box", "style": "filled,bold"},
    "protocol": {"shape": "box", "style": "filled", "peripheries": "2", "fillcolor": "#e0e0e0"},
}

Link = Callable[[Span], "str | None"]


@lru_cache(maxsize=1 << 16)
def node_id(node: str) -> str:
    """The SVG element id of a graph node: ``criterion:1.0`` -> ``n-criterion-1-0``."""
    return "n-" + re.sub(r"[^A-Za-z0-9_-]", "-", node)


def tier_colour(rank: int, count: int) -> str:
    if count <= 1:
        return TIER_COLOURS[0]
    return TIER_COLOURS[round(rank * (len(TIER_COLOURS) - 1) / (count - 1))]


def _esc(text: str) -> str:
    """Protocol text as a plain DOT string, shown as written: backslashes kept literal
    (``\\N`` would name the node), ``&`` written ``&amp;`` (graphviz decodes character
    references such as ``&#27;`` in plain strings too, which would put a control or a
    bidi character, or a lone surrogate, in the drawing), and never an HTML-like label
    (the graphviz package writes a string in ``<...>`` unquoted: a tooltip starting with
    a file named ``<l.triage`` and ending with ``>`` would let its text add attributes)."""
    plain: str = graphviz.nohtml(text.replace("\\", "\\\\").replace("&", "&amp;"))
    return plain


def _lines(text: str, width: int = WRAP) -> list[str]:
    """Wrap at spaces; a name longer than a line breaks after an underscore, not mid-word."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        pieces = re.findall(r"[^_]*_+|[^_]+", word) if len(word) > width else [word]
        for n, piece in enumerate(pieces):
            glue = "" if n else " "
            if line and len(line) + len(glue) + len(piece) > width:
                lines.append(line)
                line = piece
            else:
                line = f"{line}{glue}{piece}" if line else piece
    lines.append(line)
    return lines


@lru_cache(maxsize=1 << 16)
def _html_label(title: str, body: str = "", extra: str = "", width: int = WRAP) -> str:
    """An HTML-like label: a bold title, the wrapped body in smaller type, an overlay line
    (made once per distinct text: the book draws the same nodes on every scenario page)."""
    parts = ["<B>" + "<BR/>".join(html.escape(x) for x in _lines(title, width)) + "</B>"]
    if body:
        wrapped = "<BR/>".join(html.escape(x) for x in _lines(body, width))
        parts.append(f'<FONT POINT-SIZE="9">{wrapped}</FONT>')
    if extra:
        parts.append(f"<I>{html.escape(extra)}</I>")
    return "<" + "<BR/>".join(parts) + ">"


def shown(value: JSONValue) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if value is None:
        return "undecided"
    return str(value)


@lru_cache(maxsize=1 << 16)
def _node_line(name: str, attrs: tuple[tuple[str, str], ...]) -> str:
    probe = graphviz.Digraph()
    probe.node(name, **dict(attrs))
    return probe.body[-1]  # type: ignore[no-any-return]


@lru_cache(maxsize=1 << 16)
def _edge_line(tail: str, head: str, attrs: tuple[tuple[str, str], ...]) -> str:
    probe = graphviz.Digraph()
    probe.edge(tail, head, **dict(attrs))
    return probe.body[-1]  # type: ignore[no-any-return]


INVISIBLE = {"style": "invis"}


def _add_edge(target: graphviz.Digraph, tail: str, head: str, attrs: dict[str, str]) -> None:
    """``target.edge(tail, head, **attrs)``, its DOT line made once per distinct attributes."""
    target.body.append(_edge_line(tail, head, tuple(attrs.items())))


class _Node(NamedTuple):
    """A drawn node as it reads without an overlay, and what an overlay changes in it."""

    node: str
    kind: str
    name: str  # its DOT name (:func:`node_id`)
    attrs: dict[str, str]
    line: str  # its DOT line without an overlay
    label: tuple[str, str, int] | None  # title, body, width: the label an overlay adds a line to


class _Edge(NamedTuple):
    source: str
    target: str
    label: str
    tail: str
    head: str
    attrs: dict[str, str]
    line: str


class Drawing:
    """The DOT drawing of one protocol's graph, made once: an overlay (one evaluation's
    path) changes the attributes of its nodes and edges, and nothing else.

    The book draws a protocol's graph once for its page and again for each scenario; the
    layout (clusters, columns, the order of every line) is the same on all of them, so it
    is laid out here once, through the graphviz package, with a marker where a node or an
    edge goes. :meth:`source` puts each line back, made for the overlay given.
    """

    def __init__(self, protocol: Protocol, link: Link | None = None) -> None:
        self.protocol = protocol
        self.link = link
        graph = protocol.graph
        plan = protocol.plan
        self._criteria = {c.node: c for s in plan.sections for c in s.criteria}
        self._sections = {s.node: s for s in plan.sections}
        self._floors = {f.node: f for f in plan.floors}
        self._floor_criteria = {c.node: c for f in plan.floors for c in f.criteria}
        self._dispositions = {d.node: d for d in plan.dispositions.values()}
        self._slots: list[_Node | _Edge | None] = []  # None: the legend
        self._legends: dict[bool, str] = {}
        marker = f"\x00{secrets.token_hex(8)}:"
        dot = _layout(self, protocol, graph, plan, marker)
        pieces = re.split(f"{re.escape(marker)}([0-9]+)\x00", dot.source)
        self._literals = pieces[0::2]  # the text between the lines an overlay changes
        self._order = [int(n) for n in pieces[1::2]]

    def slot(self, target: graphviz.Digraph, item: _Node | _Edge | None, marker: str) -> None:
        target.body.append(f"{marker}{len(self._slots)}\x00")
        self._slots.append(item)

    def node(self, node: str, data: dict[str, Any]) -> _Node:
        attrs, label = _node_attrs(self, node, data)
        name = node_id(node)
        return _Node(node, data["kind"], name, attrs, _node_line(name, tuple(attrs.items())), label)

    def edge(self, source: str, target: str, data: dict[str, Any]) -> _Edge:
        attrs = _edge_attrs(source, target, data, self.protocol.graph, None)
        tail, head = node_id(source), node_id(target)
        line = _edge_line(tail, head, tuple(attrs.items()))
        return _Edge(source, target, data.get("label", ""), tail, head, attrs, line)

    def source(self, overlay: Overlay | None = None) -> str:
        """The DOT text, with ``overlay``'s path drawn when one is given."""
        out = [self._literals[0]]
        for n, literal in zip(self._order, self._literals[1:], strict=True):
            item = self._slots[n]
            if item is None:
                out.append(self._legend(overlay))
            elif overlay is None:
                out.append(item.line)
            elif isinstance(item, _Node):
                out.append(_overlaid_node(item, overlay))
            else:
                attrs = dict(item.attrs)
                if _edge_taken(item.source, item.target, item.label, overlay):
                    attrs.update(color=PATH_COLOUR, penwidth="2.6", fontcolor=PATH_COLOUR)
                else:
                    attrs.update(color=GREY_LINE, fontcolor=GREY_LINE)
                out.append(_edge_line(item.tail, item.head, tuple(attrs.items())))
            out.append(literal)
        return "".join(out)

    def _legend(self, overlay: Overlay | None) -> str:
        with_overlay = overlay is not None
        line = self._legends.get(with_overlay)
        if line is None:
            line = _node_line("legend", tuple(_legend(self.protocol, overlay).items()))
            self._legends[with_overlay] = line
        return line


def _overlaid_node(item: _Node, overlay: Overlay) -> str:
    attrs = item.attrs
    node, kind = item.node, item.kind
    extra = ""
    if node in overlay.values:
        value = overlay.values[node]
        if node in overlay.answered:
            extra = f"answer: {shown(value)}"
        elif kind in ("value", "score", "points", "criterion", "floor_criterion"):
            extra = f"= {shown(value)}"
        elif kind in ("section", "floor"):
            extra = "holds" if value is True else "does not hold" if value is False else shown(value)
    attrs = dict(attrs)
    if extra and item.label is not None:
        title, body, width = item.label
        attrs["label"] = _html_label(title, body, extra, width)
    attrs.update(_overlay_style(node, kind, attrs, overlay))
    return _node_line(item.name, tuple(attrs.items()))


def _node_attrs(
    drawing: Drawing, node: str, data: dict[str, Any]
) -> tuple[dict[str, str], tuple[str, str, int] | None]:
    """A node's attributes without an overlay, and the label's parts an overlay extends."""
    plan = drawing.protocol.plan
    kind = data["kind"]
    span: Span = data["span"]
    attrs = dict(SHAPES.get(kind, {}))
    attrs["id"] = node_id(node)
    name = node.split(":", 1)[-1]
    parts: tuple[str, str, int] | None = None
    if kind == "question":
        decl = data["decl"]
        parts = (name, decl.prompt or "", WRAP)
        summary = f"question {name}: {decl.prompt or ''}"
    elif kind in ("value", "score", "points"):
        value_plan = plan.values[name]
        parts = (f"{kind} {name}", value_plan.text.split("=", 1)[-1].strip(), WRAP)
        if kind == "points":
            parts = (f"points {name}", f"from {data['decl'].subject.id}", WRAP)
        summary = value_plan.text
    elif kind == "criterion":
        c = drawing._criteria[node]
        parts = (f"{c.section + 1}.{c.index + 1}", f"when {c.text}", WRAP + 6)
        summary = f"criterion {c.section + 1}.{c.index + 1}: when {c.text}"
    elif kind == "section":
        s = drawing._sections[node]
        parts = (f"{s.index + 1}. {s.mode} of", f"-> {s.target.id}", 18)
        summary = f"section {s.index + 1}: {s.text}"
    elif kind == "default":
        parts = ("default", f"-> {data['target'].id}", 18)
        summary = f"default {data['target'].id}"
    elif kind == "floor":
        f = drawing._floors[node]
        parts = (f"at least {f.target.id}", f"{f.mode} of", 18)
        where = f" (screen {f.screen})" if f.screen else ""
        summary = f"floor {f.index + 1}{where}: {f.text}"
    elif kind == "floor_criterion":
        fc = drawing._floor_criteria[node]
        name = f"F{fc.section + 1}.{fc.index + 1}"
        parts = (name, f"when {fc.text}", WRAP + 6)
        summary = f"floor criterion {name}: when {fc.text}"
    if parts is not None:
        label = _html_label(parts[0], parts[1], "", parts[2])
    elif kind == "disposition":
        d = drawing._dispositions[node]
        colour = tier_colour(d.tier.rank, len(plan.tiers))
        attrs["fillcolor"] = colour
        attrs["fontcolor"] = "white" if colour in DARK else "black"
        label = _html_label(d.label, f"{d.id} · tier {d.tier.id}", width=WRAP)
        summary = f"disposition {d.id}: {d.label} (tier {d.tier.id})"
    elif kind == "protocol":
        label = _html_label(f"continue with {name}", "")
        summary = f"continue with protocol {name}"
    else:
        label = "start"
        summary = "start: sections are tried from the top"
    attrs["label"] = label
    attrs["tooltip"] = _esc(f"{span.location}: {summary}")
    if drawing.link is not None:
        url = drawing.link(span)
        if url:
            attrs["URL"] = _esc(url)
            attrs["target"] = "_self"
    return attrs, parts


def protocol_dot(
    protocol: Protocol,
    *,
    overlay: Overlay | None = None,
    link: Link | None = None,
) -> graphviz.Source:
    """The DOT drawing of ``protocol.graph``; ``overlay`` draws one evaluation's path and
    ``link`` gives each node a URL (the review site links nodes to source lines)."""
    return graphviz.Source(Drawing(protocol, link).source(overlay))


def _layout(drawing: Drawing, protocol: Protocol, graph: Any, plan: Any, marker: str) -> graphviz.Digraph:
    """The drawing's lines in order, each node and edge an overlay changes a marker."""
    dot = graphviz.Digraph(name=protocol.id, engine="dot")
    dot.attr(
        "graph",
        rankdir="LR",
        nodesep="0.18",
        ranksep="0.55",
        fontname=FONT,
        fontsize="11",
        labelloc="t",
        labeljust="l",
        remincross="false",
        label=_esc(f"{protocol.title} ({protocol.id} {protocol.version})"),
        tooltip=_esc(f"{protocol.title}: decision graph"),
    )
    dot.attr("node", fontname=FONT, fontsize="10", margin="0.08,0.04")
    dot.attr("edge", fontname=FONT, fontsize="8", arrowsize="0.6")

    nodes = graph.nodes

    def add(target: graphviz.Digraph, node: str) -> None:
        drawing.slot(target, drawing.node(node, nodes[node]), marker)

    section_nodes = [s.node for s in plan.sections]
    dispositions = drawing._dispositions

    # Questions no criterion or value reads: those declared in this protocol are shown
    # apart, so a reviewer sees them; those of a shared library are not drawn (every
    # protocol importing the library would carry them), and the legend says how many.
    unused, hidden = _unread_questions(protocol)
    for node, data in nodes(data=True):
        if node in hidden:
            continue
        if data["kind"] in ("criterion", "section", "disposition", "protocol") or node in unused:
            continue
        if data["kind"] in ("floor", "floor_criterion"):
            continue
        add(dot, node)
    for index, section in enumerate(plan.sections):
        with dot.subgraph(name=f"cluster_section_{index}") as cluster:
            cluster.attr(
                label=_esc(f"{index + 1}. {section.text}"),
                style="rounded,dashed",
                color="#888888",
                fontsize="10",
                tooltip=_esc(f"{section.span.location}: {section.text}"),
            )
            # The criteria in the order they are tried, one above the other.
            with cluster.subgraph() as stack:
                stack.attr(rank="same")
                for c in section.criteria:
                    add(stack, c.node)
                # Flat edges in a left-to-right drawing stack their head above their tail.
                for upper, lower in itertools.pairwise(section.criteria):
                    _add_edge(stack, node_id(lower.node), node_id(upper.node), INVISIBLE)
    for f in plan.floors:
        with dot.subgraph(name=f"cluster_floor_{f.index}") as cluster:
            where = f" (screen {f.screen})" if f.screen else ""
            cluster.attr(
                label=_esc(f"floor {f.index + 1}{where}: {f.text}"),
                style="rounded,dashed",
                color="#e08a3c",
                fontsize="10",
                tooltip=_esc(f"{f.span.location}: {f.text}"),
            )
            with cluster.subgraph() as stack:
                stack.attr(rank="same")
                for c in f.criteria:
                    add(stack, c.node)
                for upper, lower in itertools.pairwise(f.criteria):
                    _add_edge(stack, node_id(lower.node), node_id(upper.node), INVISIBLE)
    if unused:
        with dot.subgraph(name="cluster_unused") as cluster:
            cluster.attr(label="questions no criterion reads", style="dashed", color="#bbbbbb", fontsize="9")
            for node in unused:
                add(cluster, node)

    # The section column: start, sections in first-match order, default.
    with dot.subgraph(name="sections_column") as column:
        column.attr(rank="same")
        for node in section_nodes:
            add(column, node)
        for node in ("start", "default"):
            column.node(node_id(node))
        for f in plan.floors:
            add(column, f.node)
    # The outcome column, most urgent at the top, the legend under it.
    targets = [s.target for s in plan.sections] + [plan.default]
    first_use: dict[str, int] = {}
    for position, target in enumerate(targets):
        first_use.setdefault(f"{target.kind}:{target.id}", position)
    outcomes = sorted(
        (n for n, d in nodes(data=True) if d["kind"] in ("disposition", "protocol")),
        key=lambda n: (dispositions[n].tier.rank if n in dispositions else -1, first_use.get(n, 0), n),
    )
    with dot.subgraph(name="outcomes_column") as column:
        column.attr(rank="same")
        for node in outcomes:
            add(column, node)
        drawing.slot(column, None, marker)  # the legend, which says whether a path is drawn
        for upper, lower in zip([*outcomes], [*outcomes[1:], "legend"], strict=True):
            _add_edge(
                column,
                node_id(upper) if upper != "legend" else upper,
                node_id(lower) if lower != "legend" else lower,
                INVISIBLE,
            )

    for source, target, data in graph.edges(data=True):
        if source in hidden or target in hidden:  # pragma: no cover - unread: no edges
            continue
        drawing.slot(dot, drawing.edge(source, target, data), marker)
    return dot


def _edge_attrs(
    source: str, target: str, data: dict[str, Any], graph: Any, overlay: Overlay | None
) -> dict[str, str]:
    label = data.get("label", "")
    attrs: dict[str, str] = {}
    if label == "reads":
        attrs.update(label="reads", color="#7a8699", fontcolor="#7a8699", penwidth="0.7")
    elif label == "criterion":
        attrs.update(color="#555555", penwidth="0.8")
    elif label == "yes":
        attrs.update(label="yes", color="#2e7d32", fontcolor="#2e7d32", fontsize="9", penwidth="1.4")
    elif label == "no":
        attrs.update(label="no", color="#555555", fontsize="9", penwidth="1.4")
        if graph.nodes[source]["kind"] == "section" and graph.nodes[target]["kind"] in ("section", "default"):
            attrs["weight"] = "10"
    elif label == "first":
        attrs.update(penwidth="1.4")
    elif label == "then":
        attrs.update(label="then", color="#e08a3c", fontcolor="#e08a3c", fontsize="9", penwidth="1.4")
        attrs["weight"] = "10"
    elif label == "raise":
        attrs.update(
            label="raise to", color="#e65100", fontcolor="#e65100", fontsize="9", penwidth="1.6", style="bold"
        )
    if overlay is not None:
        if _edge_taken(source, target, label, overlay):
            attrs.update(color=PATH_COLOUR, penwidth="2.6", fontcolor=PATH_COLOUR)
        else:
            attrs.update(color=GREY_LINE, fontcolor=GREY_LINE)
    return attrs


def _edge_taken(source: str, target: str, label: str, overlay: Overlay) -> bool:
    if source not in overlay.visited or target not in overlay.visited:
        return False
    value = overlay.values.get(source)
    if label == "yes":
        return source == "default" or value is True
    if label == "raise":
        return overlay.raised == source
    if label == "no":
        return value is False
    return True


def _overlay_style(node: str, kind: str, attrs: dict[str, str], overlay: Overlay) -> dict[str, str]:
    if node in overlay.undecided:  # reached, but waiting for an answer not given yet
        return {
            "color": UNDECIDED_COLOUR,
            "fontcolor": GREY_TEXT,
            "fillcolor": GREY_FILL,
            "style": attrs.get("style", "filled") + ",dashed",
            "penwidth": "1.6",
        }
    if node not in overlay.visited and node != "legend":
        return {"color": GREY_LINE, "fontcolor": GREY_TEXT, "fillcolor": GREY_FILL}
    style: dict[str, str] = {"color": PATH_COLOUR, "penwidth": "2.2"}
    if node in overlay.assumed:
        style.update(color=ASSUMED_COLOUR, penwidth="4", fillcolor="#fff3e0")
        style["label"] = (
            attrs["label"][:-1]
            + f'<BR/><B><FONT COLOR="{ASSUMED_COLOUR}">not ruled out (unknown)</FONT></B>>'
        )
    if node == overlay.fired:
        style.update(color=FIRED_COLOUR, penwidth="4", fillcolor="#fde7ef")
        style["label"] = attrs["label"][:-1] + '<BR/><B><FONT COLOR="#c2185b">fired</FONT></B>>'
    if node == overlay.outcome:
        style.update(penwidth="4")
    return style


def _unread_questions(protocol: Protocol) -> tuple[list[str], list[str]]:
    """Question nodes no criterion or value reads: (declared in this protocol's file,
    declared in an imported file)."""
    graph = protocol.graph
    unread = [n for n, d in graph.nodes(data=True) if d["kind"] == "question" and graph.out_degree(n) == 0]
    own = [n for n in unread if graph.nodes[n]["span"].path == protocol.path]
    return own, [n for n in unread if n not in own]


def _legend(protocol: Protocol, overlay: Overlay | None) -> dict[str, str]:
    """One plain node holding two tables: the urgency tiers and the node shapes."""
    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Urgency tiers (most urgent first)</B></TD></TR>']
    count = len(protocol.plan.tiers)
    for tier in protocol.plan.tiers:
        colour = tier_colour(tier.rank, count)
        text = html.escape(f"{tier.id}: {tier.label}")
        rows.append(f'<TR><TD BGCOLOR="{colour}" WIDTH="18"> </TD><TD ALIGN="LEFT">{text}</TD></TR>')
    rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Shapes</B></TD></TR>')
    for shape, meaning in (
        ("rounded box", "question asked of the caller"),
        ("note / 3-D box / tab", "value / score / points table"),
        ("hexagon", "criterion (a 'when' line)"),
        ("dashed frame", "section with its criteria, tried top to bottom"),
        ("diamond", "section outcome test / default"),
        *([("orange pentagon", "floor: raise the outcome to at least ...")] if protocol.plan.floors else []),
        ("coloured box", "disposition, coloured by tier"),
        ("thin grey arrow", "'reads': a value flows into"),
    ):
        rows.append(f'<TR><TD ALIGN="LEFT">{shape}</TD><TD ALIGN="LEFT">{html.escape(meaning)}</TD></TR>')
    hidden = _unread_questions(protocol)[1]
    if hidden:
        names = ", ".join(n.split(":", 1)[-1] for n in hidden)
        note = (
            f"Questions drawn: those this protocol reads. Not drawn: {len(hidden)} "
            f"shared question(s) it does not read ({names})"
        )
        text = '<BR ALIGN="LEFT"/>'.join(html.escape(line) for line in _lines(note, 60))
        rows.append(f'<TR><TD COLSPAN="2" ALIGN="LEFT">{text}<BR ALIGN="LEFT"/></TD></TR>')
    if overlay is not None:
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Trace overlay</B></TD></TR>')
        rows.append(
            f'<TR><TD BGCOLOR="{PATH_COLOUR}"> </TD><TD ALIGN="LEFT">visited by the evaluation</TD></TR>'
        )
        rows.append(
            f'<TR><TD BGCOLOR="{FIRED_COLOUR}"> </TD><TD ALIGN="LEFT">the criterion that fired</TD></TR>'
        )
        rows.append(
            f'<TR><TD BGCOLOR="{ASSUMED_COLOUR}"> </TD><TD ALIGN="LEFT">'
            "undecided criterion taken toward urgency (the caller did not know)</TD></TR>"
        )
        rows.append(
            f'<TR><TD BGCOLOR="{UNDECIDED_COLOUR}"> </TD><TD ALIGN="LEFT">'
            "dashed: reached but undecided (question not asked yet, or waiting for one)</TD></TR>"
        )
        rows.append(f'<TR><TD BGCOLOR="{GREY_FILL}"> </TD><TD ALIGN="LEFT">not visited</TD></TR>')
    table = '<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">' + "".join(rows) + "</TABLE>"
    return {
        "shape": "plain",
        "fontsize": "9",
        "label": f"<{table}>",
        "id": "legend",
        "tooltip": "legend",
    }
