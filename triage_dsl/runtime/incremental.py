"""Incremental evaluation for a session: an answer re-walks only what read it.

A fresh evaluation walks the sections in order (then the protocol continued with, then
the floors) until one decides or waits for an answer. :class:`Walk` does the same walk
with one :class:`~triage_dsl.runtime.evaluation.Evaluation` kept alive between answers,
and marks where each *segment* (a section, the protocol continued with, a floor) starts:
how many values were computed and answers read before it. Values and reads are only
ever added during a walk, in order, so a mark is a handful of lengths and going back to
one is truncation.

When an answer changes (given, corrected, retracted), the first segment that read that
question -- answered, unknown or still missing -- is where the outcome may change:
everything before it read other answers only, so it stands; the walk resumes there. An
answer no segment read changes nothing the walk decided (the population's age is read
outside the walk: see :meth:`Walk.next_question`).

The walk records no trace and no look-ahead: it decides the status and the question to
ask next, which is the first question the deciding segment waits for (the look-ahead only
appends later ones). The full result, trace included, is built by the batch evaluation
when it is asked for; the differential tests hold the two to the same answers.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, NamedTuple

from triage_dsl.graph.plan import DispositionPlan, PopulationPlan
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import Clean, TimeAnswer
from triage_dsl.runtime.evaluation import Evaluation


class _Mark(NamedTuple):
    """Where a segment starts: what it resumes and the evaluation's lengths before it."""

    kind: str  # "section" | "callee" | "floor"
    at: int  # the section's index, or the floor's position in the order floors are tried
    current: DispositionPlan | None  # the outcome floors may raise (floors only)
    memo: int
    read: int
    asked: int
    assumptions: int


class Walk:
    """One protocol's walk over a session's clean answers (shared, changed in place)."""

    def __init__(self, protocol: Any, answers: MutableMapping[str, Clean]) -> None:
        self.protocol = protocol
        self.answers = answers
        self.ev = Evaluation(protocol, answers, [], [], tracing=False)
        self.marks: list[_Mark] = []
        self.callee: Walk | None = None
        self.status = "needs_answers"  # "complete" | "needs_answers"
        self.disposition: DispositionPlan | None = None
        self.waiting_for: str | None = None  # the first question the walk waits for
        self._sections(0)

    # ----------------------------------------------------------------- changes
    def changed(self, qid: str) -> None:
        """``qid``'s answer was given, changed or withdrawn: resume the walk at the first
        segment that read it (nothing to do when none did)."""
        at = self.first_reader(qid)
        if at is None:
            return
        mark = self.marks[at]
        if mark.kind == "callee":
            assert self.callee is not None
            self.callee.changed(qid)
            self._restore(mark)  # the floors after it read the callee's outcome
            del self.marks[at + 1 :]
            self._after_callee()
            return
        self._restore(mark)
        del self.marks[at:]
        if mark.kind == "section":
            self._sections(mark.at)
        else:
            assert mark.current is not None
            self._floors(mark.at, mark.current)

    def first_reader(self, qid: str) -> int | None:
        """The index of the first segment that read ``qid``, or None."""
        found: int | None = None
        read = self.ev.read
        if qid in read:
            position = 0
            for key in read:
                if key == qid:
                    break
                position += 1
            found = 0
            for at, mark in enumerate(self.marks):
                if mark.read > position:
                    break
                found = at
        if self.callee is not None and self.callee.reads(qid):
            at = next(i for i, m in enumerate(self.marks) if m.kind == "callee")
            found = at if found is None else min(found, at)
        return found

    def reads(self, qid: str) -> bool:
        return qid in self.ev.read or (self.callee is not None and self.callee.reads(qid))

    # ----------------------------------------------------------------- the walk
    def _mark(self, kind: str, index: int, current: DispositionPlan | None = None) -> None:
        ev = self.ev
        self.marks.append(
            _Mark(kind, index, current, len(ev.memo), len(ev.read), len(ev.asked), len(ev.assumptions))
        )

    def _restore(self, mark: _Mark) -> None:
        """Undo what the segments from ``mark`` on computed and read."""
        ev = self.ev
        memo, read = ev.memo, ev.read
        while len(memo) > mark.memo:
            memo.popitem()
        while len(read) > mark.read:
            read.popitem()
        del ev.asked[mark.asked :]
        del ev.assumptions[mark.assumptions :]
        ev.used.clear()  # only the result reads it, and the batch evaluation builds that

    def _wait(self, undecided: list[v.Partial]) -> None:
        missing = self.ev.in_protocol_order(v.merge(*(u.missing for u in undecided)))
        self.status, self.disposition, self.waiting_for = "needs_answers", None, missing[0]

    def _complete(self, disposition: DispositionPlan) -> None:
        self.status, self.disposition, self.waiting_for = "complete", disposition, None

    def _sections(self, start: int) -> None:
        """``Evaluation.walk_sections`` from section ``start``, without trace or look-ahead."""
        plan, ev = self.ev.plan, self.ev
        self.callee = None
        for index in range(start, len(plan.sections)):
            s = plan.sections[index]
            self._mark("section", index)
            outcome, _, undecided = ev.section(s)
            if outcome == "no":
                continue
            if outcome == "waiting":
                self._wait(undecided)
                return
            self._conclude(s.target)  # fires, or taken because the caller did not know
            return
        self._conclude(plan.default)

    def _conclude(self, target: Any) -> None:
        plan = self.ev.plan
        if target.kind == "protocol":
            self._mark("callee", 0)
            self.callee = Walk(plan.callees[target.id], self.answers)
            self._after_callee()
            return
        self._floors(0, plan.dispositions[target.id])

    def _after_callee(self) -> None:
        callee = self.callee
        assert callee is not None
        if callee.status != "complete":
            self.status, self.disposition, self.waiting_for = callee.status, None, callee.waiting_for
            return
        assert callee.disposition is not None
        self._floors(0, callee.disposition)

    def _floors(self, start: int, current: DispositionPlan) -> None:
        """``Evaluation.apply_floors`` from the floor at ``start``, without trace or look-ahead."""
        ev = self.ev
        dispositions = ev.plan.dispositions
        floors = ev.program.floors
        for position in range(start, len(floors)):
            f = floors[position]
            target = dispositions[f.target.id]
            if target.tier.rank >= current.tier.rank:
                continue
            self._mark("floor", position, current)
            outcome, _, undecided = ev.section(f)
            if outcome == "no":
                continue
            if outcome == "waiting":
                self._wait(undecided)
                return
            self._complete(target)
            return
        self._complete(current)

    # ----------------------------------------------------------------- what to ask
    def next_question(self, population: PopulationPlan | None) -> tuple[str, str | None]:
        """(status, the question to ask next) as the batch evaluation gives them: an age
        outside the population is an error; an unanswered age is asked first."""
        answers = self.answers
        if population is not None:
            age = answers.get(population.question)
            if isinstance(age, TimeAnswer) and not population.low <= age <= population.high:
                return "error", None
            if age is None and self.status == "needs_answers":
                return self.status, population.question
        return self.status, self.waiting_for
