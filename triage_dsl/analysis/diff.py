"""``triage diff OLD NEW``: the semantic difference between two versions of a protocol.

Both versions are explored together over the union of their answer classes (questions
are matched by id). Every region where the disposition or its tier differs is reported
with a witness (answers valid for both, unless one version refuses them) and the
direction of the change. Rewording, reordering declarations or reformatting changes
nothing that is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from triage_dsl.analysis.domains import AnswerClass, Domains, classes_of, collect
from triage_dsl.analysis.joint import Side, pairs
from triage_dsl.graph.plan import all_dispositions
from triage_dsl.runtime.answers import all_questions, answer_json
from triage_dsl.runtime.interpreter import Decision


@dataclass(frozen=True)
class Change:
    witness: dict[str, Any]
    old: dict[str, Any]
    new: dict[str, Any]
    direction: str  # "more urgent" | "less urgent" | "same tier" | "refused by old" | "refused by new"


def _outcome(decision: Decision, tiers: dict[str, tuple[str, int]]) -> dict[str, Any]:
    if decision.status == "invalid":
        return {"status": "error", "disposition": None, "tier": None}
    assert decision.disposition is not None
    tier, rank = tiers[decision.disposition]
    return {"status": "complete", "disposition": decision.disposition, "tier": tier, "rank": rank}


def _tiers(protocol: Any) -> dict[str, tuple[str, int]]:
    return {d.id: (d.tier.id, d.tier.rank) for d in all_dispositions(protocol.plan).values()}


def joint_domains(old: Any, new: Any) -> Domains:
    """Answer classes fine enough for both versions (their thresholds together)."""
    old_tests, new_tests = collect(old.plan), collect(new.plan)
    questions = {**all_questions(new.plan), **all_questions(old.plan)}
    new_questions = all_questions(new.plan)
    for qid, cuts in new_tests.thresholds.items():
        old_tests.thresholds.setdefault(qid, set()).update(cuts)
    for qid, tests in new_tests.number_tests.items():
        old_tests.number_tests.setdefault(qid, []).extend(tests)
    for qid, sets in new_tests.option_sets.items():
        old_tests.option_sets.setdefault(qid, set()).update(sets)
    classes: dict[str, list[AnswerClass]] = {}
    for qid, q in questions.items():
        other = new_questions.get(qid)
        if other is not None and other.type == q.type and q.low is not None and other.low is not None:
            # one domain covering both ranges, so a changed range shows up as a change
            from dataclasses import replace

            q = replace(
                q,
                low=min(q.low, other.low),
                high=max(q.high or 0, other.high or 0),
                unknown_allowed=q.unknown_allowed or other.unknown_allowed,
            )
        elif other is not None and other.type == q.type:
            from dataclasses import replace

            q = replace(q, unknown_allowed=q.unknown_allowed or other.unknown_allowed)
        classes[qid] = classes_of(q, old_tests)
    return Domains(classes, questions)


def diff(old: Any, new: Any) -> list[Change]:
    doms = joint_domains(old, new)
    old_tiers, new_tiers = _tiers(old), _tiers(new)
    changes: dict[tuple[Any, ...], Change] = {}
    for path, da, db in pairs(Side(old, {}), Side(new, {}), doms):
        a, b = _outcome(da, old_tiers), _outcome(db, new_tiers)
        if (a["disposition"], a["tier"]) == (b["disposition"], b["tier"]):
            continue
        if a["status"] == "error" or b["status"] == "error":
            direction = "refused by old" if a["status"] == "error" else "refused by new"
        elif b["rank"] < a["rank"]:
            direction = "more urgent"
        elif b["rank"] > a["rank"]:
            direction = "less urgent"
        else:
            direction = "same tier"
        witness = {c.question: answer_json(c.representative) for c in path}
        key = (a["disposition"], b["disposition"], direction)
        if key not in changes:  # one witness per kind of change keeps the report readable
            changes[key] = Change(witness, _public(a), _public(b), direction)
    return list(changes.values())


def _public(outcome: dict[str, Any]) -> dict[str, Any]:
    return {k: outcome[k] for k in ("status", "disposition", "tier")}


def summary(changes: list[Change]) -> str:
    if not changes:
        return "no difference in behaviour"
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.direction] = counts.get(c.direction, 0) + 1
    parts = ", ".join(f"{n} {d}" for d, n in sorted(counts.items()))
    return f"{len(changes)} change(s) in behaviour: {parts}"
