"""A recorded evaluation laid over the decision graph: which nodes it visited, with what.

The overlay is read off a result's trace (the JSON that ``triage eval --answers`` prints):
every trace entry names the graph node it evaluated, so nothing here re-evaluates the
protocol. Entries of a protocol continued with (``continue with``) belong to that
protocol's graph and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from triage_dsl.errors import ProtocolFileError
from triage_dsl.model.result import JSONValue, TriageResult


@dataclass(frozen=True)
class Overlay:
    """The path of one evaluation: visited nodes, the value each took, the deciding criterion."""

    visited: frozenset[str]
    values: dict[str, JSONValue] = field(default_factory=dict)
    answered: frozenset[str] = frozenset()
    fired: str | None = None
    outcome: str | None = None
    status: str = "complete"
    raised: str | None = None  # the floor node that raised the outcome


def overlay_of(result: TriageResult, protocol_id: str) -> Overlay:
    """The overlay of ``result`` on the graph of protocol ``protocol_id``."""
    visited: set[str] = set()
    values: dict[str, JSONValue] = {}
    answered: set[str] = set()
    outcome: str | None = None
    for entry in result.trace:
        if entry.protocol != protocol_id:
            continue
        visited.add(entry.node)
        if entry.kind in ("assumption", "raise"):
            continue  # the floor's own entry holds its value
        if entry.kind == "floor" and entry.detail.startswith("not needed"):
            values[entry.node] = "not needed"
            continue
        values[entry.node] = entry.value
        if entry.kind == "answer":
            answered.add(entry.node)
            given = list(entry.reads.values())
            if len(given) == 1 and isinstance(given[0], str):
                values[entry.node] = given[0]  # an age or duration as given, not its minutes
        elif entry.kind in ("disposition", "continue"):
            outcome = entry.node
    if visited:
        visited.add("start")
    fired = result.decided_by.criterion if result.decided_by else None
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
    )


def load_result(path: str | Path) -> TriageResult:
    """Read a result JSON file (what ``triage eval --answers`` prints)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ProtocolFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolFileError(f"{path}: cannot read ({exc})") from None
    try:
        return TriageResult.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ProtocolFileError(
            f"{path}: not a triage result ({where}: {first['msg']}); "
            "give the JSON that 'triage eval --answers' prints"
        ) from None
