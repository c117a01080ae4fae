"""Compiled protocols kept in the cache folder: read back only while every file is unchanged,
and then the same protocol (same results, same graph) as a fresh compile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS
from triage_dsl import Protocol, compiler, stored
from triage_dsl.compiler import compile_file, compile_source, read_source, roots_for
from triage_dsl.errors import CompileError
from triage_dsl.io.cache import cache_dir
from triage_dsl.runtime.interpreter import evaluate_protocol

SHIPPED = sorted(
    [
        *PROTOCOLS.glob("rules/*.triage"),
        *PROTOCOLS.glob("telephone/*.triage"),
        *PROTOCOLS.glob("pathways/*.triage"),
    ]
)

LIBRARY = """library shared end
question fever: yes/no ask "Fever?" red flag end
"""
PROTOCOL = """protocol kept title "Kept" version "1" end
import "shared.triage"
disposition see label "See a doctor" tier same_day end
disposition home label "Home care" tier home_care end
triage section see if any of when fever end default home end
"""


def _fresh() -> None:
    """Forget what this process compiled (the in-memory cache), not what is stored."""
    compiler._CACHE.clear()


def _stored_one(path: Path) -> Protocol | None:
    source = read_source(path)
    return stored.load(source, roots_for(source.path, None))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_a_stored_protocol_gives_the_same_results(path: Path) -> None:
    try:
        fresh = compile_source(read_source(path))
    except CompileError:
        pytest.skip("a library")
    _fresh()
    compile_file(path)  # stores it (or it is stored already)
    kept = _stored_one(path)
    assert kept is not None and kept is not fresh
    answers = {q.id: (q.low if q.low is not None else False) for q in fresh.plan.questions.values()}
    for trace in (True, False):
        a = evaluate_protocol(fresh, answers, trace=trace, generated=False).model_dump_json()
        b = evaluate_protocol(kept, answers, trace=trace, generated=False).model_dump_json()
        assert a == b
    assert list(kept.graph.nodes(data=True)) == list(fresh.graph.nodes(data=True))
    assert list(kept.graph.edges(data=True)) == list(fresh.graph.edges(data=True))
    assert kept.files == fresh.files and kept.diagnostics == fresh.diagnostics


def test_read_back_in_a_later_run_and_refreshed_when_an_import_changes(tmp_path: Path) -> None:
    (tmp_path / "shared.triage").write_text(LIBRARY, encoding="utf-8")
    path = tmp_path / "kept.triage"
    path.write_text(PROTOCOL, encoding="utf-8")
    first = compile_file(path)
    _fresh()
    again = compile_file(path)
    assert again is not first and _stored_one(path) is not None  # read back, not compiled
    assert again.plan.questions["fever"].prompt == "Fever?"
    (tmp_path / "shared.triage").write_text(LIBRARY.replace("Fever?", "Any fever?"), encoding="utf-8")
    assert _stored_one(path) is None  # its import changed: not used
    _fresh()
    assert compile_file(path).plan.questions["fever"].prompt == "Any fever?"


def test_a_damaged_file_is_compiled_afresh(tmp_path: Path) -> None:
    (tmp_path / "shared.triage").write_text(LIBRARY, encoding="utf-8")
    path = tmp_path / "kept.triage"
    path.write_text(PROTOCOL, encoding="utf-8")
    compile_file(path)
    folder = cache_dir()
    assert folder is not None
    source = read_source(path)
    name = f"protocol-{stored._key(source, roots_for(source.path, None))}.pickle"
    (folder / name).write_bytes(b"not a pickle")
    assert _stored_one(path) is None
    _fresh()
    assert compile_file(path).id == "kept"
    assert _stored_one(path) is not None  # written again


def test_a_pickled_protocol_has_no_runtime_cache_and_no_networkx_view() -> None:
    protocol = compile_file(PROTOCOLS / "rules" / "news2.triage")
    evaluate_protocol(protocol, json.loads((PROTOCOLS / "examples" / "news2_high.json").read_text()))
    assert protocol.graph is not None and protocol.plan.compiled
    state = protocol.__getstate__()
    assert "_networkx" not in state
    assert protocol.plan.__getstate__()["compiled"] == {}
