"""A recorded evaluation laid over the decision graph: which nodes it visited, with what.

The overlay is read off a result's trace (the JSON that ``triage eval --answers`` prints):
every trace entry names the graph node it evaluated, so nothing here re-evaluates the
protocol. Entries of a protocol continued with (``continue with``) belong to that
protocol's graph and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from triage_dsl.io.files import read_bytes
from triage_dsl.io.strict_json import MAX_RECORD_BYTES, loads
from triage_dsl.model.checked import validated
from triage_dsl.model.result import JSONValue, TriageResult


@dataclass(frozen=True)
class Overlay:
    """The path of one evaluation: visited nodes, the value each took, the deciding criterion."""

    visited: frozenset[str]
    values: dict[str, JSONValue] = field(default_factory=dict)
    answered: frozenset[str] = frozenset()
    fired: str | None = None  # the criterion that held and decided (never an undecided one)
    # reached but not decided: questions not asked yet, criteria and sections waiting on them
    undecided: frozenset[str] = frozenset()
    # undecided criteria whose section (or floor) was taken toward urgency: the caller did
    # not know an answer
    assumed: frozenset[str] = frozenset()
    outcome: str | None = None
    status: str = "complete"
    raised: str | None = None  # the floor node that raised the outcome


def overlay_of(result: TriageResult, protocol_id: str) -> Overlay:
    """The overlay of ``result`` on the graph of protocol ``protocol_id``."""
    visited: set[str] = set()
    values: dict[str, JSONValue] = {}
    answered: set[str] = set()
    outcome: str | None = None
    undecided: set[str] = set()
    assumed: set[str] = set()
    for entry in result.trace:
        if entry.protocol != protocol_id:
            continue
        if entry.kind == "assumption":
            assumed.add(entry.node)  # undecided, and resolved toward the more urgent outcome
            visited.add(entry.node)
            continue
        if entry.kind == "floor" and entry.detail.startswith("not needed"):
            visited.add(entry.node)
            values[entry.node] = "not needed"
            continue
        if entry.value is None and entry.kind != "raise":
            # Not asked yet, or waiting for such a question: reached, not decided.
            undecided.add(entry.node)
            values.setdefault(entry.node, None)
            continue
        visited.add(entry.node)
        if entry.kind == "raise":
            continue  # the floor's own entry holds its value
        values[entry.node] = entry.value
        if entry.kind == "answer":
            answered.add(entry.node)
            given = list(entry.reads.values())
            if len(given) == 1 and isinstance(given[0], str):
                values[entry.node] = given[0]  # an age or duration as given, not its minutes
        elif entry.kind in ("disposition", "continue"):
            outcome = entry.node
    if visited or undecided:
        visited.add("start")
    decided = result.decided_by
    fired = decided.criterion if decided is not None and decided.kind == "criterion" else None
    raised = None
    if result.raised_by is not None and result.raised_by.floor in visited:
        raised = result.raised_by.floor
    if result.decided_by is not None and result.decided_by.kind == "default":
        visited.add("default")
    return Overlay(
        visited=frozenset(visited),
        values=values,
        answered=frozenset(answered),
        fired=fired,
        outcome=outcome,
        status=result.status,
        raised=raised,
        undecided=frozenset(undecided - visited),
        assumed=frozenset(assumed),
    )


def load_result(path: str | Path) -> TriageResult:
    """Read a result JSON file (what ``triage eval --answers`` prints)."""
    raw = loads(read_bytes(path, MAX_RECORD_BYTES), path=str(path))
    return validated(
        TriageResult,
        raw,
        source=str(path),
        what="not a triage result",
        hint="give the JSON that 'triage eval --answers' prints",
    )
