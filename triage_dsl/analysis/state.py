"""Which answers still matter: the key that lets the searches skip repeated states.

When evaluation waits at section ``i`` of a protocol, every earlier section is already
ruled out, and so is every criterion of section ``i`` already decided; what happens next
depends only on the answers to questions that the open criteria of section ``i`` and
the later sections read (through values and points tables, and into protocols they
continue with). Two paths that agree on those answers lead to the same subtree, so a
search that has explored one need not explore the other. This keeps protocols with many
``a and b`` criteria from growing exponentially.

Floors (``at least``) apply after the sections, so the questions their criteria read
always matter while evaluation waits; waiting at a floor merges no states.
"""

from __future__ import annotations

from typing import Any

from triage_dsl.analysis.domains import AnswerClass
from triage_dsl.check.walk import decl_expressions, names
from triage_dsl.graph.plan import Plan, plans
from triage_dsl.runtime.answers import all_questions
from triage_dsl.runtime.interpreter import Decision
from triage_dsl.syntax import ast


def _reads(plan: Plan, exprs: list[ast.Expr], seen: set[str]) -> set[str]:
    out: set[str] = set()
    stack = list(exprs)
    while stack:
        expr = stack.pop()
        for name in names(expr):
            if name.id in plan.questions:
                out.add(name.id)
            elif name.id in plan.values and name.id not in seen:
                seen.add(name.id)
                stack.extend(decl_expressions(plan.values[name.id].decl))
    return out


_CACHE: dict[tuple[int, int, tuple[int, ...]], tuple[Plan, frozenset[str]]] = {}


def _relevant(plan: Plan, index: int, open_criteria: tuple[int, ...]) -> frozenset[str]:
    cached = _CACHE.get((id(plan), index, open_criteria))
    if cached is not None and cached[0] is plan:
        return cached[1]
    result = _compute(plan, index, open_criteria)
    if len(_CACHE) > 4096:
        _CACHE.clear()
    _CACHE[(id(plan), index, open_criteria)] = (plan, result)
    return result


def _compute(plan: Plan, index: int, open_criteria: tuple[int, ...]) -> frozenset[str]:
    if index >= len(plan.sections):
        # Waiting at a floor: which floors are still tried depends on the outcome so far,
        # so every answer matters (no states are merged).
        return frozenset(all_questions(plan))
    waiting = plan.sections[index]
    exprs = [waiting.criteria[i].expr for i in open_criteria]
    exprs += [c.expr for s in plan.sections[index + 1 :] for c in s.criteria]
    out = _reads(plan, exprs, set())
    targets = [s.target for s in plan.sections[index:]] + [plan.default]
    for target in targets:
        if target.kind == "protocol":
            out |= set(all_questions(plan.callees[target.id].plan))
    return frozenset(out)


def relevant(protocol: Any, decision: Decision) -> frozenset[str] | None:
    """Questions the rest of the evaluation may read (None: the decision is final)."""
    if decision.waiting is None:
        return None
    plan = next((p for p in plans(protocol.plan) if p.protocol_id == decision.waiting[0]), None)
    if plan is None:  # pragma: no cover - the interpreter names its own plans
        return frozenset(all_questions(protocol.plan))
    found = _relevant(plan, decision.waiting[1], decision.waiting[2])
    # Floors apply to the final outcome: those of every plan on the way may still read.
    floors = [c.expr for p in plans(protocol.plan) for f in p.floors for c in f.criteria]
    return found | _reads_all(protocol.plan, floors) if floors else found


def _reads_all(plan: Plan, exprs: list[ast.Expr]) -> frozenset[str]:
    out: set[str] = set()
    for p in plans(plan):
        out |= _reads(p, exprs, set())
    return frozenset(out)


def key(decision: Decision, wanted: frozenset[str] | None, path: tuple[AnswerClass, ...]) -> tuple[Any, ...]:
    """What determines the subtree below this decision."""
    if wanted is None:
        return (decision.status, decision.disposition, decision.criterion)
    return (decision.waiting, tuple(sorted((c.question, id(c)) for c in path if c.question in wanted)))
