"""The one walk down the sections: what it finds is certain, and on a wide section it
finds everything (so the exact searches, cubic there, do not run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check.test_checks import _cases
from tests.conftest import PROTOCOLS
from triage_dsl import TriageError, load
from triage_dsl.analysis.domains import domains
from triage_dsl.analysis.findings import Context, _depends
from triage_dsl.analysis.search import decides, satisfiable, satisfy_path
from triage_dsl.analysis.walk import walk
from triage_dsl.protocol import Protocol


def _protocols(tmp_path_factory: pytest.TempPathFactory) -> list[Protocol]:
    found = []
    for path in sorted(PROTOCOLS.rglob("*.triage")):
        try:
            found.append(load(path))
        except TriageError:
            continue
    folder = tmp_path_factory.mktemp("chunks")
    for name, text in _cases("../analysis/findings.triage"):
        path = folder / f"{name}.triage"
        path.write_text(text, encoding="utf-8")
        try:
            found.append(load(path))
        except TriageError:
            continue
    return found


def test_what_the_walk_finds_the_exact_searches_confirm(tmp_path_factory: pytest.TempPathFactory) -> None:
    checked = 0
    for protocol in _protocols(tmp_path_factory):
        ctx = Context(protocol, domains(protocol.plan))
        found = walk(protocol, ctx.doms, ctx.advice)
        for section, criterion in found.witnesses:
            assert satisfy_path(protocol, ctx.doms, decides(section, criterion)) is not None
        for question in found.flips:
            assert _depends(ctx, question), (protocol.id, question)
        checked += len(found.witnesses) + len(found.flips)
    assert checked > 100


def wide(n: int) -> str:
    lines = ['protocol wide title "Wide" version "1" end']
    lines += [f'question q{i}: yes/no ask "q{i}?" end' for i in range(n)]
    lines += [
        'disposition see label "See" tier same_day end',
        'disposition home label "Home" tier home_care end',
    ]
    lines += ["triage", "  section see if any of", *[f"    when q{i}" for i in range(n)], "  end"]
    return "\n".join([*lines, "  default home", "end"]) + "\n"


def test_a_wide_any_of_is_settled_by_the_walk_alone(tmp_path: Path) -> None:
    path = tmp_path / "wide.triage"
    path.write_text(wide(300))
    protocol = load(path)
    ctx = Context(protocol, domains(protocol.plan))
    found = walk(protocol, ctx.doms, ctx.advice)
    assert found.witnesses == {(0, n) for n in range(300)}
    assert found.flips == {f"q{n}" for n in range(300)}


def test_the_search_in_reading_order_finds_exactly_what_the_protocol_ordered_one_finds(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Both orders split only questions the goal waits for and try every class of each,
    so they agree on whether answers exist; the test corpus has unreachable criteria, so
    both answers occur."""
    outcomes = set()
    for protocol in _protocols(tmp_path_factory):
        doms = domains(protocol.plan)
        for s in protocol.plan.sections:
            for n in [None, *range(len(s.criteria))]:
                goal = decides(s.index, n)
                found = satisfiable(protocol, doms, goal)
                assert found == (satisfy_path(protocol, doms, goal) is not None), (protocol.id, s.index, n)
                outcomes.add(found)
    assert outcomes == {True, False}
