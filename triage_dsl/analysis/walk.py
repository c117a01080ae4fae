"""One walk down the sections that finds most witnesses at once (linear, not cubic).

The exact searches (``satisfy_path``, ``pairs``) re-evaluate the protocol from its first
section at every step, and run once per criterion or question: for one section of a
thousand criteria that is a thousand searches of a thousand steps of a thousand criteria.
This walk goes down the sections once, keeping answers ``S`` under which every criterion
so far is *no*. At criterion ``k`` it looks, with ``S`` fixed, for answers that make
``k`` alone *yes* (then ``k`` is reachable: ``S`` rules out everything before it) and
for answers that make it *no* (added to ``S``, and the walk goes on). Each look
evaluates one criterion, so the walk costs about one evaluation per criterion.

What it finds is certain; what it does not find is left to the exact searches:

- ``witnesses``: criteria that decide the outcome for some answers;
- ``flips``: questions whose answer changes the outcome. When criterion ``k`` became
  *yes* by the answer to one question ``q`` alone, the answers ``T`` at the end of the
  walk (every criterion so far *no*, a complete decision) and ``T`` with ``q`` set to
  that answer differ only in ``q``, and decide differently when section ``k``'s outcome
  is not ``T``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from triage_dsl.analysis.domains import AnswerClass, Domains
from triage_dsl.analysis.search import criterion_is, satisfy_path
from triage_dsl.runtime.answers import Clean
from triage_dsl.runtime.interpreter import decide

MAX_WALK_STEPS = 100_000


@dataclass
class Walk:
    witnesses: set[tuple[int, int]] = field(default_factory=set)
    """(section index, criterion index) of criteria shown to decide for some answers."""
    flips: set[str] = field(default_factory=set)
    """Questions shown to change the outcome."""


def walk(protocol: Any, doms: Domains, advice: dict[str | None, tuple[str, ...]]) -> Walk:
    """The walk for the protocol's own sections (see the module)."""
    plan = protocol.plan
    found = Walk()
    fixed: tuple[AnswerClass, ...] = ()
    known: dict[str, Clean] = {}  # the answers of fixed

    def extend(path: tuple[AnswerClass, ...]) -> None:
        nonlocal fixed
        for c in path[len(fixed) :]:
            known[c.question] = c.representative
        fixed = path

    singles: list[tuple[str, tuple[str | None, tuple[str, ...]]]] = []
    end: tuple[AnswerClass, ...] | None = None
    for s in plan.sections:
        if s.mode == "all":  # rule the section out by its first criterion that can be no
            for c in s.criteria:
                path = satisfy_path(protocol, doms, criterion_is(c, False), fixed, known)
                if path is not None:
                    extend(path)
                    break
            else:
                break
            continue
        for n, c in enumerate(s.criteria):
            yes = satisfy_path(protocol, doms, criterion_is(c, True), fixed, known)
            if yes is not None:
                found.witnesses.add((s.index, n))
                if len(yes) == len(fixed) + 1 and s.target.kind == "disposition":
                    singles.append((yes[-1].question, (s.target.id, advice.get(c.node, ()))))
            no = satisfy_path(protocol, doms, criterion_is(c, False), fixed, known)
            if no is None:  # the walk cannot go past this criterion
                end = yes
                break
            extend(no)
        else:
            continue
        break
    else:
        end = fixed
    if end is None:
        return found
    decision = decide(protocol, {c.question: c.representative for c in end})
    if decision.status != "complete":
        return found
    outcome = (decision.disposition, advice.get(decision.criterion, ()))
    answered = {c.question for c in end}
    for question, fired in singles:
        # T without the question is complete whatever its answer: it needs a second class
        if fired != outcome and (question in answered or len(doms.classes[question]) > 1):
            found.flips.add(question)
    return found
