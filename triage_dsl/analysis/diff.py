"""``triage diff OLD NEW``: the semantic difference between two versions of a protocol.

Both versions are explored together over the union of their answer classes (questions
are matched by id; the thresholds of both, and the ends of both versions' ranges, cut
the answers). Every region where the disposition or its tier differs is reported, one
change per kind (old outcome, new outcome, direction), with:

- a witness (answers valid for both, unless one version refuses them);
- the region where the versions differ, as bands per question (``39 <= temp_c < 39.5``),
  regions that differ in one question only joined;
- the source lines (``file:line``) in each version: the criterion, section or default
  that decided, the floor that raised the outcome, or the question whose range or
  unknown policy refuses the answer.

An answer one version accepts and the other refuses (a changed range, ``unknown
allowed`` added or removed) is ``refused by old`` or ``refused by new``. Rewording,
reordering declarations or reformatting changes nothing that is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from triage_dsl.analysis.bands import Region, describe, merge_regions
from triage_dsl.analysis.domains import AnswerClass, Domains, classes_of, collect
from triage_dsl.analysis.joint import Side, _decide
from triage_dsl.analysis.state import key, relevant
from triage_dsl.graph.plan import all_dispositions
from triage_dsl.runtime.answers import UNKNOWN, all_questions, answer_json, check_answer
from triage_dsl.runtime.interpreter import Decision

MAX_REGIONS = 12
"""Regions listed per change; the count of the rest is given."""


@dataclass(frozen=True)
class Change:
    """One kind of change: old and new outcome, direction, a witness, where and why."""

    witness: dict[str, Any]
    old: dict[str, Any]
    new: dict[str, Any]
    direction: str  # "more urgent" | "less urgent" | "same tier" | "refused by old" | "refused by new"
    regions: tuple[dict[str, str], ...] = ()
    """Where old and new differ: each region maps questions to bands (others: any answer)."""
    more_regions: int = 0
    """Regions not listed (past :data:`MAX_REGIONS`)."""
    old_lines: tuple[str, ...] = field(default=())
    new_lines: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "old": self.old,
            "new": self.new,
            "witness": self.witness,
            "regions": list(self.regions),
            "more_regions": self.more_regions,
            "lines": {"old": list(self.old_lines), "new": list(self.new_lines)},
        }


_Urgency = tuple[str, int, float | None, str | None]  # tier, rank, time frame (minutes, text)


def _outcome(decision: Decision, tiers: dict[str, _Urgency]) -> dict[str, Any]:
    if decision.status == "invalid":
        return {"status": "error", "disposition": None, "tier": None, "time_frame": None}
    assert decision.disposition is not None
    tier, rank, minutes, within = tiers[decision.disposition]
    return {
        "status": "complete",
        "disposition": decision.disposition,
        "tier": tier,
        "time_frame": within,
        "rank": rank,
        "minutes": minutes,
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """The same outcome: the same disposition, tier and time frame."""
    return all(a[k] == b[k] for k in ("status", "disposition", "tier", "minutes"))


def _tiers(protocol: Any) -> dict[str, _Urgency]:
    """Each disposition's urgency: its tier, and its time frame (its own, else its tier's)."""
    return {
        d.id: (d.tier.id, d.tier.rank, d.within_minutes, d.within_text)
        for d in all_dispositions(protocol.plan).values()
    }


def _range_tests(tests: Any, qid: str, low: float | None, high: float | None) -> None:
    """The ends of a version's range as cuts and tests, so answers one version refuses
    form classes of their own."""
    for op, bound in ((">=", low), ("<=", high)):
        if bound is None:
            continue
        exact = Fraction(str(bound))
        tests.thresholds.setdefault(qid, set()).add(exact)
        tests.number_tests.setdefault(qid, []).append((op, Fraction(1), exact))


def joint_domains(old: Any, new: Any) -> Domains:
    """Answer classes fine enough for both versions (their thresholds and ranges together)."""
    old_tests, new_tests = collect(old.plan), collect(new.plan)
    questions = {**all_questions(new.plan), **all_questions(old.plan)}
    old_questions, new_questions = all_questions(old.plan), all_questions(new.plan)
    for qid, cuts in new_tests.thresholds.items():
        old_tests.thresholds.setdefault(qid, set()).update(cuts)
    for qid, tests in new_tests.number_tests.items():
        old_tests.number_tests.setdefault(qid, []).extend(tests)
    for qid, sets in new_tests.option_sets.items():
        old_tests.option_sets.setdefault(qid, set()).update(sets)
    for qid, labels in new_tests.labels.items():
        old_tests.labels.setdefault(qid, {}).update(labels)
    classes: dict[str, list[AnswerClass]] = {}
    for qid, q in questions.items():
        other = new_questions.get(qid)
        if other is not None and other.type == q.type:
            if q.low is not None and other.low is not None:
                # one domain covering both ranges, each range's ends a cut of its own
                for version in (old_questions.get(qid), other):
                    if version is not None:
                        _range_tests(old_tests, qid, version.low, version.high)
                q = replace(q, low=min(q.low, other.low), high=max(q.high or 0, other.high or 0))
            q = replace(q, unknown_allowed=q.unknown_allowed or other.unknown_allowed)
        classes[qid] = classes_of(q, old_tests)
    return Domains(classes, questions)


def _refused(protocol: Any, path: tuple[AnswerClass, ...]) -> list[str]:
    """Where ``protocol`` refuses the answers of ``path`` (file:line): the range of a
    question whose answer is outside it, or the question that does not allow unknown."""
    questions = all_questions(protocol.plan)
    out = []
    for c in path:
        q = questions.get(c.question)
        if q is None:
            continue
        if c.representative is UNKNOWN:
            if not q.unknown_allowed:
                out.append(f"{protocol.relative(q.span.path)}:{q.span.line}")
        elif check_answer(q, c.representative)[1] is not None:
            decl = protocol.graph.nodes.get(q.node, {}).get("decl")
            span = getattr(decl, "range_span", None) or q.span
            out.append(f"{protocol.relative(span.path)}:{span.line}")
    return out


def _node_line(protocol: Any, node: str | None) -> str | None:
    if node is None or node not in protocol.graph:
        return None
    span = protocol.graph.nodes[node].get("span")
    return f"{protocol.relative(span.path)}:{span.line}" if span is not None else None


def _lines(protocol: Any, decision: Decision, refused: list[str]) -> list[str]:
    """Where in ``protocol`` this outcome comes from (file:line)."""
    if decision.status == "invalid":
        return refused
    lines = [_node_line(protocol, decision.criterion), _node_line(protocol, decision.section)]
    if decision.criterion is None and decision.section == "default":
        lines = [_node_line(protocol, "default")]
    if decision.raised_by:
        lines.append(decision.raised_by)
    return [line for line in lines if line]


@dataclass
class _Kind:
    witness: dict[str, Any]
    old: dict[str, Any]
    new: dict[str, Any]
    direction: str
    regions: list[Region] = field(default_factory=list)
    old_lines: list[str] = field(default_factory=list)
    new_lines: list[str] = field(default_factory=list)


def _direction(a: dict[str, Any], b: dict[str, Any]) -> str:
    if a["status"] == "error" or b["status"] == "error":
        return "refused by old" if a["status"] == "error" else "refused by new"
    if b["rank"] < a["rank"]:
        return "more urgent"
    if b["rank"] > a["rank"]:
        return "less urgent"
    old, new = a["minutes"], b["minutes"]
    if old != new:  # the same tier, another time frame (no time frame: the least urgent)
        return "more urgent" if new is not None and (old is None or new < old) else "less urgent"
    return "same tier"


def _add(lines: list[str], new: list[str]) -> None:
    lines.extend(line for line in new if line not in lines)


Leaf = tuple[tuple[AnswerClass, ...], Decision, Decision]


def differing(a: Side, b: Side, doms: Domains, same: Callable[[Decision, Decision], bool]) -> list[Leaf]:
    """Every region (a path of answer classes) where both sides are decided and their
    outcomes differ (``same`` says they do not), with the two decisions.

    Like :func:`~triage_dsl.analysis.joint.pairs` it explores a state (same undecided
    sections, same answers to what they read) once; unlike it, a path that reaches a
    state already explored gets that state's differing regions again under its own
    answers, so the regions reported cover every answer set that differs, not only the
    first path to each outcome.
    """
    memo: dict[tuple[Any, ...], list[Leaf]] = {}

    def explore(path: tuple[AnswerClass, ...]) -> list[Leaf]:
        answers = {c.question: c.representative for c in path}
        da, db = _decide(a, answers), _decide(b, answers)
        if da.status != "needs_answers" and db.status != "needs_answers":
            return [] if same(da, db) else [((), da, db)]
        state = (key(da, relevant(a.protocol, da), path), key(db, relevant(b.protocol, db), path))
        if state in memo:
            return memo[state]
        waiting = sorted(
            (d for d in (da, db) if d.status == "needs_answers"),
            key=lambda d: d.waiting[1] if d.waiting else 0,
        )
        chosen = {c.question for c in path}
        question = next(
            (q for d in waiting for q in d.missing if q not in chosen and q in doms.classes), None
        )
        found: list[Leaf] = []
        if question is None:  # pragma: no cover - a decision waits only on unanswered questions
            return found
        for cls in doms.classes[question]:
            found += [((cls, *suffix), x, y) for suffix, x, y in explore((*path, cls))]
        memo[state] = found
        return found

    return [(path, da, db) for path, da, db in explore(())]


def diff(old: Any, new: Any) -> list[Change]:
    """Every kind of change in behaviour from ``old`` to ``new`` (empty: the same)."""
    doms = joint_domains(old, new)
    old_tiers, new_tiers = _tiers(old), _tiers(new)
    kinds: dict[tuple[Any, ...], _Kind] = {}

    def same(da: Decision, db: Decision) -> bool:
        return _same(_outcome(da, old_tiers), _outcome(db, new_tiers))

    for path, da, db in differing(Side(old, {}), Side(new, {}), doms, same):
        a, b = _outcome(da, old_tiers), _outcome(db, new_tiers)
        direction = _direction(a, b)
        refused_old = _refused(old, path) if da.status == "invalid" else []
        refused_new = _refused(new, path) if db.status == "invalid" else []
        kind = kinds.get((a["disposition"], b["disposition"], direction))
        if kind is None:
            witness = {c.question: answer_json(c.representative) for c in path}
            kind = _Kind(witness, _public(a), _public(b), direction)
            kinds[(a["disposition"], b["disposition"], direction)] = kind
        # every question on the path was asked by one side or the other: all are part of the region
        kind.regions.append({c.question: frozenset({doms.classes[c.question].index(c)}) for c in path})
        _add(kind.old_lines, _lines(old, da, refused_old))
        _add(kind.new_lines, _lines(new, db, refused_new))
    changes = []
    for kind in kinds.values():
        regions = [describe(r, doms) for r in merge_regions(kind.regions, doms)]
        changes.append(
            Change(
                kind.witness,
                kind.old,
                kind.new,
                kind.direction,
                tuple(regions[:MAX_REGIONS]),
                max(0, len(regions) - MAX_REGIONS),
                tuple(kind.old_lines),
                tuple(kind.new_lines),
            )
        )
    return changes


def _public(outcome: dict[str, Any]) -> dict[str, Any]:
    return {k: outcome[k] for k in ("status", "disposition", "tier", "time_frame")}


def outcome_text(outcome: dict[str, Any], within: bool = False) -> str:
    """``ed (urgent)`` (``ed (urgent, within 1 hour)`` with ``within``: the time frame),
    or ``refused`` for answers a version does not accept."""
    if outcome["status"] == "error":
        return "refused"
    frame = f", {outcome['time_frame'] or 'no time frame'}" if within else ""
    return f"{outcome['disposition']} ({outcome['tier']}{frame})"


def region_text(region: dict[str, str]) -> str:
    """``39 <= temp_c < 39.5 and cough = yes`` (``any answers`` for an empty region)."""
    return " and ".join(f"({b})" if " or " in b else b for b in region.values()) or "any answers"


def summary(changes: list[Change]) -> str:
    if not changes:
        return "no difference in behaviour"
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.direction] = counts.get(c.direction, 0) + 1
    parts = ", ".join(f"{n} {d}" for d, n in sorted(counts.items()))
    return f"{len(changes)} change(s) in behaviour: {parts}"


def render_text(changes: list[Change]) -> str:
    """The text report: each change, its witness, its regions and the lines of both versions."""
    import json

    out: list[str] = []
    for c in changes:
        # the time frames are shown where they are what changed
        frames = c.old["status"] == c.new["status"] == "complete" and c.old["tier"] == c.new["tier"]
        frames = frames and c.old["time_frame"] != c.new["time_frame"]
        out.append(f"{c.direction}: {outcome_text(c.old, frames)} -> {outcome_text(c.new, frames)}")
        for region in c.regions:
            out.append(f"    where {region_text(region)}")
        if c.more_regions:
            out.append(
                f"    ... and {c.more_regions} more region(s) (--format json lists the first {MAX_REGIONS})"
            )
        out.append(f"    witness: {json.dumps(c.witness)}")
        out.append(f"    old: {', '.join(c.old_lines) or '-'}")
        out.append(f"    new: {', '.join(c.new_lines) or '-'}")
    out.append(summary(changes))
    return "\n".join(out) + "\n"
