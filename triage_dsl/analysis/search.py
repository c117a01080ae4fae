"""Searching the answer space for answers that make a goal hold (exact, by classes).

A goal is evaluated by the interpreter's own evaluation of sections and criteria over
partial answers; when it is undecided the search splits the question it waits for.
Used for reachability of criteria and sections, and for which earlier criterion covers
an unreachable one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from triage_dsl.analysis.domains import AnswerClass, Domains
from triage_dsl.analysis.explore import TooLarge
from triage_dsl.graph.plan import CriterionPlan, SectionPlan
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import Clean, answer_json
from triage_dsl.runtime.interpreter import Evaluation

# A goal returns True (holds), False (cannot hold here) or the questions it waits for.
Goal = Callable[[Evaluation], bool | tuple[str, ...]]

MAX_NODES = 500_000


def evaluation(protocol: Any, answers: dict[str, Clean]) -> Evaluation:
    ev = Evaluation(protocol, answers, [], [])
    ev.quiet = True
    return ev


def satisfiable(protocol: Any, doms: Domains, goal: Goal) -> bool:
    """Whether any answers make ``goal`` hold: the same exact search, splitting the
    question the goal reads first rather than the first in protocol order.

    Either order explores every class of a question it splits, so both find an answer
    set whenever one exists; they differ in how much they explore. Splitting in protocol
    order, ``on_anticoagulant and vomiting_blood`` (the anticoagulant question declared
    last, in the shared library) splits the bleeding signs first, and every combination
    of them is tried again under the anticoagulant answer that rules them all out (41,543
    evaluations for one criterion of medication_question, against 878 in reading order).
    Only the answer found would differ, so callers that print a witness keep
    :func:`satisfy_path` and its stable, protocol-ordered witnesses."""
    return satisfy_path(protocol, doms, goal, reading_order=True) is not None


def satisfy_path(
    protocol: Any,
    doms: Domains,
    goal: Goal,
    fixed: tuple[AnswerClass, ...] = (),
    known: Mapping[str, Clean] | None = None,
    *,
    reading_order: bool = False,
) -> tuple[AnswerClass, ...] | None:
    """The answer classes, ``fixed`` first, for which ``goal`` holds, or None if none do.

    ``known`` is the answers of ``fixed`` when the caller has them (saves rebuilding them
    at every step of a long walk); ``reading_order`` splits the question the goal reads
    first instead of the first in protocol order (:func:`satisfiable`)."""
    base = dict(known) if known is not None else {c.question: c.representative for c in fixed}
    start = len(fixed)
    stack: list[tuple[AnswerClass, ...]] = [fixed]
    nodes = 0
    while stack:
        path = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:  # no shipped protocol comes near: reported as A000, not raised
            raise TooLarge(f"more than {MAX_NODES:,} answer sets searched for one criterion")
        answers = {**base, **{c.question: c.representative for c in path[start:]}}
        ev = evaluation(protocol, answers)
        result = goal(ev)
        if result is True:
            return path
        if result is False:
            continue
        question = result[0] if reading_order else ev.in_protocol_order(result)[0]
        for cls in reversed(doms.classes[question]):
            stack.append((*path, cls))
    return None


def _section_before(ev: Evaluation, s: SectionPlan) -> bool | tuple[str, ...]:
    """True when section ``s`` is ruled out (so later ones are reached)."""
    outcome, _, undecided = ev.section(s)
    if outcome == "no":
        return True
    if outcome == "waiting":
        return v.merge(*(u.missing for u in undecided))
    return False


def _criterion_value(ev: Evaluation, c: CriterionPlan) -> bool | tuple[str, ...] | None:
    """True/False, the missing questions, or None when only an unknown answer leaves it open."""
    value = ev.expr(c.expr)
    if isinstance(value, v.Partial):
        return value.missing if value.waiting else None
    return bool(value)


def decides(section_index: int, criterion_index: int | None) -> Goal:
    """Goal: earlier sections are ruled out and this criterion (or, for ``all of``
    sections and ``criterion_index=None``, the whole section) decides the outcome."""

    def goal(ev: Evaluation) -> bool | tuple[str, ...]:
        sections = ev.plan.sections
        for s in sections[:section_index]:
            before = _section_before(ev, s)
            if before is not True:
                return before
        s = sections[section_index]
        if s.mode == "all" or criterion_index is None:
            wanted = s.criteria
            if s.mode == "any":
                return _any_fires(ev, wanted)
            for c in wanted:
                value = _criterion_value(ev, c)
                if value is not True:
                    return False if value is None else value
            return True
        for c in s.criteria[:criterion_index]:
            value = _criterion_value(ev, c)
            if value is True or value is None:
                return False
            if value is not False:
                return value
        value = _criterion_value(ev, s.criteria[criterion_index])
        return False if value is None else value

    return goal


def _any_fires(ev: Evaluation, criteria: tuple[CriterionPlan, ...]) -> bool | tuple[str, ...]:
    waiting: list[tuple[str, ...]] = []
    for c in criteria:
        value = _criterion_value(ev, c)
        if value is True:
            return True
        if isinstance(value, tuple):
            waiting.append(value)
    return v.merge(*waiting) if waiting else False


def criterion_is(c: CriterionPlan, wanted: bool) -> Goal:
    """Goal: criterion ``c`` alone evaluates to ``wanted`` (an unknown answer does not count)."""

    def goal(ev: Evaluation) -> bool | tuple[str, ...]:
        value = _criterion_value(ev, c)
        if value is None:
            return False
        if isinstance(value, bool):
            return value == wanted
        return value

    return goal


def both(first: CriterionPlan, first_value: bool, second: CriterionPlan, second_value: bool) -> Goal:
    """Goal: ``first`` evaluates to first_value and ``second`` to second_value."""

    def goal(ev: Evaluation) -> bool | tuple[str, ...]:
        waiting = []
        for c, want in ((first, first_value), (second, second_value)):
            value = _criterion_value(ev, c)
            if value is None or (isinstance(value, bool) and value != want):
                return False
            if isinstance(value, tuple):
                waiting.append(value)
        return v.merge(*waiting) if waiting else True

    return goal


def json_answers(answers: dict[str, Clean]) -> tuple[tuple[str, object], ...]:
    return tuple((q, answer_json(a)) for q, a in answers.items())
