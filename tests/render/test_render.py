"""``triage render``: the DOT drawn from the decision graph, the trace overlay, the CLI."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS, ROOT
from triage_dsl import compile_text, evaluate
from triage_dsl.cli import main
from triage_dsl.render import overlay_of, protocol_dot
from triage_dsl.render.dot import _lines, node_id

DATA = ROOT / "tests" / "data" / "render"
SMALL = DATA / "small.triage"
HAS_DOT = shutil.which("dot") is not None


def small() -> object:
    return compile_text(SMALL.read_text(encoding="utf-8"), path="small.triage")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", ["small", "small_trace"])
def test_dot_matches_the_golden_file(name: str) -> None:
    protocol = small()
    overlay = None
    if name == "small_trace":
        result = evaluate(protocol, {"stiff_neck": False, "temp_c": 39.5})  # type: ignore[arg-type]
        overlay = overlay_of(result, "small_fever")
    source = protocol_dot(protocol, overlay=overlay).source  # type: ignore[arg-type]
    golden = DATA / f"{name}.dot"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(source, encoding="utf-8")
    assert source == golden.read_text(encoding="utf-8"), "run with UPDATE_GOLDEN=1 to accept a change"


FLOORS = DATA / "floors.triage"


@pytest.mark.parametrize("name", ["floors", "floors_trace"])
def test_floors_dot_matches_the_golden_file(name: str) -> None:
    protocol = compile_text(FLOORS.read_text(encoding="utf-8"), path="floors.triage")
    overlay = None
    if name == "floors_trace":
        answers = {"collapsed": False, "temp_c": 38.5, "immunosuppressed": True, "worried": False}
        result = evaluate(protocol, answers)
        assert result.raised_by is not None
        overlay = overlay_of(result, "floors_render")
        assert overlay.raised == result.raised_by.floor and overlay.outcome == "disposition:see_today"
    source = protocol_dot(protocol, overlay=overlay).source
    golden = DATA / f"{name}.dot"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(source, encoding="utf-8")
    assert source == golden.read_text(encoding="utf-8"), "run with UPDATE_GOLDEN=1 to accept a change"
    # every floor and floor criterion is drawn, with its raise edge
    for node in ("floor:0", "floor:1", "floor_criterion:1.1"):
        assert f'"{node_id(node)}" [' in source
    assert f'"{node_id("floor:1")}" -> "{node_id("disposition:see_today")}" [label="raise to"' in source


def test_every_graph_node_is_drawn_with_its_location() -> None:
    protocol = small()
    source = protocol_dot(protocol).source  # type: ignore[arg-type]
    for node, data in protocol.graph.nodes(data=True):  # type: ignore[attr-defined]
        assert f'"{node_id(node)}"' in source or f"{node_id(node)} " in source
        assert f"small.triage:{data['span'].line}:" in source


def test_overlay_marks_the_visited_nodes_and_the_criterion_that_fired() -> None:
    protocol = small()
    result = evaluate(protocol, {"stiff_neck": False, "temp_c": 39.5})  # type: ignore[arg-type]
    overlay = overlay_of(result, "small_fever")
    assert overlay.fired == "criterion:1.0"
    assert overlay.outcome == "disposition:see_today"
    assert {"question:stiff_neck", "question:temp_c", "value:high_fever", "section:1"} <= overlay.visited
    assert "disposition:call_911" not in overlay.visited
    assert overlay.values["question:temp_c"] == 39.5


@pytest.mark.parametrize(
    ("text", "width", "lines"),
    [
        ("-> routine_appointment", 18, ["-> routine_", "appointment"]),
        ("Is there pain in the midfoot zone?", 20, ["Is there pain in the", "midfoot zone?"]),
        ("short", 30, ["short"]),
    ],
)
def test_labels_wrap_at_spaces_and_underscores(text: str, width: int, lines: list[str]) -> None:
    assert _lines(text, width) == lines


def test_render_without_output_prints_dot() -> None:
    code, out, _ = run("render", str(PROTOCOLS / "rules" / "ottawa_ankle.triage"))
    assert code == 0
    assert out.startswith("digraph ottawa_ankle {")
    assert "label=yes" in out and "label=no" in out and "label=reads" in out


@pytest.mark.skipif(not HAS_DOT, reason="graphviz 'dot' is not installed (apt-get install graphviz)")
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_render_writes_each_format(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"graph.{fmt}"
    code, _, err = run("render", str(SMALL), "-o", str(target))
    assert code == 0, err
    head = target.read_bytes()[:8]
    assert {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}[fmt] in head


def test_render_without_dot_writes_dot_and_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, _, err = run("render", str(SMALL), "-o", str(tmp_path / "graph.svg"))
    assert code == 1
    assert "apt-get install graphviz" in err
    assert (tmp_path / "graph.dot").read_text().startswith("digraph small_fever {")
    assert not (tmp_path / "graph.svg").exists()


def test_render_trace_from_eval_output(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"stiff_neck": True}))
    code, result_json, _ = run("eval", str(SMALL), "--answers", str(answers))
    assert code == 0
    result = tmp_path / "result.json"
    result.write_text(result_json)
    code, out, err = run("render", str(SMALL), "--trace", str(result))
    assert code == 0, err
    assert "fired" in out and "answer: yes" in out


def test_render_trace_refuses_another_protocols_result(tmp_path: Path) -> None:
    news2 = PROTOCOLS / "rules" / "news2.triage"
    code, result_json, _ = run(
        "eval", str(news2), "--answers", str(PROTOCOLS / "examples" / "news2_high.json")
    )
    result = tmp_path / "result.json"
    result.write_text(result_json)
    code, _, err = run("render", str(SMALL), "--trace", str(result))
    assert code == 2
    assert "news2" in err


def test_render_trace_refuses_a_file_that_is_not_a_result(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    code, _, err = run("render", str(SMALL), "--trace", str(bad))
    assert code == 2
    assert "not a triage result" in err


@pytest.mark.skipif(not HAS_DOT, reason="graphviz 'dot' is not installed (apt-get install graphviz)")
def test_a_hundred_node_protocol_keeps_first_match_order_top_to_bottom() -> None:
    import html
    import re

    from triage_dsl import load

    protocol = load(DATA / "large.triage")
    assert len(protocol.graph) >= 95
    svg = html.unescape(protocol_dot(protocol).pipe(format="svg").decode())
    top: dict[str, float] = {}
    for m in re.finditer(r'<g id="(n-[\w-]+)" class="node">(.*?)</a>', svg, re.S):
        at = re.search(r'(?:points="[-\d.]+,|cy="|d="M[-\d.]+,)([-\d.]+)', m.group(2))
        assert at is not None
        top[m.group(1)] = float(at.group(1))
    sections = [s.node for s in protocol.plan.sections]
    ys = [top[node_id(s)] for s in sections] + [top["n-default"]]
    assert ys == sorted(ys)
    for section in protocol.plan.sections:
        criteria = [top[node_id(c.node)] for c in section.criteria]
        assert criteria == sorted(criteria)


def test_protocol_text_cannot_add_attributes_or_characters_to_the_drawing(tmp_path: Path) -> None:
    """A tooltip starting with a file named '<...' and ending with '>' was written as an
    HTML-like label, unquoted, so the question's text added attributes (a javascript:
    link in the SVG); and graphviz decoded character references such as '&#27;' in
    plain strings, putting raw control characters in the SVG (not well-formed XML)."""
    import xml.etree.ElementTree as ET

    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    text = (
        'protocol p title "Title &#27;&#x202E; &amp;" version "1" end\n'
        'question q: yes/no ask "Fever?> URL=\\"javascript:alert(1)\\" fontcolor=<red>" end\n'
        'disposition seen label "Seen &#1;" tier same_day end\n'
        'disposition home label "Home" tier home_care end\n'
        "triage section seen if any of when q end default home end\n"
    )
    path = tmp_path / "<x.triage"
    path.write_text(text)
    out = tmp_path / "x.svg"
    code, _, err = run("render", str(path), "-o", str(out))
    assert code == 0, err
    svg = ET.parse(out).getroot()  # well-formed: no raw control character
    hrefs = [v for e in svg.iter() for k, v in e.attrib.items() if k.endswith("href")]
    assert not [h for h in hrefs if "javascript" in h]
    titles = " ".join(v for e in svg.iter() for k, v in e.attrib.items() if k.endswith("title"))
    assert 'Fever?> URL="javascript:alert(1)" fontcolor=<red>' in titles  # shown as written
    assert "&#27;&#x202E; &amp;" in " ".join(svg.itertext()) + titles
