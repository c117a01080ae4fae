"""Walking two evaluations side by side over the same answers.

``pairs`` explores the answers of two (protocol, fixed answers) sides together, splitting
whichever question either side still needs, until both are decided; each yield is a
region with both decisions. It serves ``diff`` (old and new protocol) and, with one
protocol and two values of a question, the dead-question and monotonicity analyses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from triage_dsl.analysis.domains import AnswerClass, Domains
from triage_dsl.analysis.explore import TooLarge
from triage_dsl.analysis.state import key, relevant
from triage_dsl.runtime.answers import Clean, check_answer
from triage_dsl.runtime.interpreter import Decision, decide

MAX_STATES = 500_000
"""Distinct states one comparison may visit before the analyses give up (A000)."""

INVALID = Decision("invalid", None, None, None, None, (), ())


@dataclass(frozen=True)
class Side:
    protocol: Any
    fixed: dict[str, Clean]
    # The protocol's questions (its own and its callees'), and whether each (question,
    # answer) seen so far is valid: an exploration asks the same few of each again and
    # again. Caches: not part of the side's value.
    questions: dict[str, Any] = field(init=False, compare=False, repr=False)
    validity: dict[tuple[str, type, Clean], bool] = field(
        init=False, compare=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "questions", _questions(self.protocol))


def _decide(side: Side, answers: dict[str, Clean]) -> Decision:
    merged = {**answers, **side.fixed}
    questions = side.questions
    validity = side.validity
    for qid, value in merged.items():
        q = questions.get(qid)
        if q is None or value is None:
            continue
        try:
            seen = (qid, type(value), value)  # type() keeps True, 1 and 1.0 apart
            valid = validity.get(seen)
            if valid is None:
                valid = validity[seen] = _valid(q, value)
        except TypeError:  # an answer that cannot be a key: checked every time
            valid = _valid(q, value)
        if not valid:
            return INVALID
    return decide(side.protocol, {k: v for k, v in merged.items() if k in questions})


def _questions(protocol: Any) -> dict[str, Any]:
    from triage_dsl.runtime.answers import all_questions

    return all_questions(protocol.plan)


def _valid(q: Any, value: Clean) -> bool:
    from triage_dsl.runtime.answers import UNKNOWN

    if value is UNKNOWN:
        return bool(q.unknown_allowed)
    _, problem = check_answer(q, value)
    return problem is None


def pairs(a: Side, b: Side, doms: Domains) -> Iterator[tuple[tuple[AnswerClass, ...], Decision, Decision]]:
    """Regions where both sides are decided, each with the two decisions.

    A state already explored (same undecided sections, same answers to what they read) is
    skipped: its regions would repeat outcomes already yielded.
    """
    stack: list[tuple[AnswerClass, ...]] = [()]
    seen: set[tuple[Any, ...]] = set()
    while stack:
        path = stack.pop()
        answers = {c.question: c.representative for c in path}
        da = _decide(a, answers)
        db = da if b is a else _decide(b, answers)  # one side walked alone: evaluated once
        ka = key(da, relevant(a.protocol, da), path)
        state = (ka, ka if b is a else key(db, relevant(b.protocol, db), path))
        if state in seen:
            continue
        seen.add(state)
        if len(seen) > MAX_STATES:  # no shipped protocol comes near: reported as A000
            raise TooLarge(f"more than {MAX_STATES:,} states compared for one question")
        # The side stuck earliest is split first, so the two sides move through the
        # sections together and repeated states are recognised.
        waiting = sorted(
            (d for d in (da, db) if d.status == "needs_answers"),
            key=lambda d: d.waiting[1] if d.waiting else 0,
        )
        if not waiting:
            yield path, da, db
            continue
        chosen = {c.question for c in path}
        question = next(
            (q for d in waiting for q in d.missing if q not in chosen and q in doms.classes), None
        )
        if question is None:  # pragma: no cover - a decision waits only on unanswered questions
            yield path, da, db
            continue
        for cls in reversed(doms.classes[question]):
            stack.append((*path, cls))
