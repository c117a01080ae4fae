"""Formatting never changes behaviour: the shipped library and generated protocols give the
same decision table and no `triage diff` after formatting, and a second format changes
nothing."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROTOCOLS
from tests.fuzz.conftest import FUZZ
from tests.fuzz.test_fuzz_source import protocols
from triage_dsl import compile_text
from triage_dsl.analysis import NotSeparable, TooLarge
from triage_dsl.analysis.diff import diff
from triage_dsl.analysis.table import build_table, to_json
from triage_dsl.compiler import compile_file
from triage_dsl.fmt.files import format_files
from triage_dsl.fmt.safety import format_source, shape
from triage_dsl.source import Source

SHIPPED = sorted(p for p in PROTOCOLS.rglob("*") if p.suffix in (".triage", ".scenarios"))
SHIPPED_PROTOCOLS = [p for p in SHIPPED if p.suffix == ".triage" and "\nprotocol " in "\n" + p.read_text()]


def table(protocol: Any) -> str:
    """The decision table as JSON, floors named without their line number (or why the
    analyses cannot build it)."""
    try:
        built = build_table(protocol)
    except (NotSeparable, TooLarge) as exc:
        return f"{type(exc).__name__}: {str(exc).split(': ', 1)[-1]}"
    return re.sub(r"\.triage:\d+", ".triage", json.dumps(to_json(built), sort_keys=True))


@pytest.fixture(scope="module")
def messy_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped library with its layout scrambled, then formatted."""
    root = tmp_path_factory.mktemp("library")
    shutil.copytree(PROTOCOLS, root / "protocols")
    rng = random.Random(7)
    for path in sorted((root / "protocols").rglob("*.triage")):
        path.write_text(scramble(path.read_text(), rng))
    format_files([root / "protocols"])
    return root / "protocols"


def scramble(text: str, rng: random.Random) -> str:
    """Re-indent every line at random and double some spaces outside strings and comments."""
    lines = []
    for line in text.splitlines():
        body = line.strip()
        if not body.startswith("#") and '"' not in body:
            body = body.replace(" ", "  " if rng.random() < 0.3 else " ")
        lines.append(" " * rng.randrange(0, 6) + body)
        if rng.random() < 0.1:
            lines.append("")
    return "\n".join(lines) + "\n"


def test_the_shipped_library_is_formatted() -> None:
    assert [r.path for r in format_files([PROTOCOLS], write=False) if r.changed] == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_formatting_is_idempotent_on_shipped_files(path: Path) -> None:
    once = format_source(Source(str(path), path.read_text()))
    assert format_source(Source(str(path), once)) == once


def plan(protocol: Any) -> object:
    """The compiled plan without positions and paths (continued protocols by their plan)."""
    callees = {name: plan(callee) for name, callee in protocol.plan.callees.items()}
    return (shape(protocol.plan, frozenset({"path", "location", "callees"})), callees)


@pytest.mark.parametrize("path", SHIPPED_PROTOCOLS, ids=lambda p: p.name)
def test_a_scrambled_then_formatted_protocol_behaves_the_same(path: Path, messy_library: Path) -> None:
    formatted_path = messy_library / path.relative_to(PROTOCOLS)
    assert formatted_path.read_text() != scramble(path.read_text(), random.Random(7))
    original, formatted = compile_file(path), compile_file(formatted_path)
    assert plan(formatted) == plan(original)
    assert diff(original, formatted) == []


@st.composite
def messy(draw: st.DrawFn) -> str:
    """A generated protocol with its whitespace scrambled and comments added at line ends."""
    text = draw(protocols())
    out = []
    for line in text.splitlines():
        words = line.split(" ")
        glue = [draw(st.sampled_from([" ", "  ", "\n", " \t "])) if '"' not in line else " " for _ in words]
        line = "".join(w + g for w, g in zip(words, glue, strict=True)).rstrip()
        if draw(st.booleans()):
            line += "  # note " + draw(st.text(alphabet="abc #", max_size=6))
        out.append(draw(st.sampled_from(["", " ", "    "])) + line)
    return "\n".join(out) + "\n"


@settings(FUZZ, max_examples=max(10, FUZZ.max_examples // 5))
@given(messy())
def test_formatting_generated_protocols_keeps_behaviour(text: str) -> None:
    formatted = format_source(Source("fuzz.triage", text))
    assert format_source(Source("fuzz.triage", formatted)) == formatted
    original, again = compile_text(text, "fuzz.triage"), compile_text(formatted, "fuzz.triage")
    assert plan(again) == plan(original)
    before = table(original)
    assert table(again) == before
    if before.startswith("{"):
        assert diff(original, again) == []
