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

Within the segment the walk waits at, each criterion's value is kept: an answer
re-evaluates only the criteria whose expressions can read that question (through the
values they use: the decision graph's edges, ``_dependencies``), the others' values
stand.

The walk records no trace and no look-ahead: it decides the status and the question to
ask next, which is the first question the deciding segment waits for (the look-ahead only
appends later ones). The full result, trace included, is built by the batch evaluation
when it is asked for; the differential tests hold the two to the same answers.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import MutableMapping
from typing import Any, NamedTuple

from triage_dsl.graph.plan import DispositionPlan, FloorPlan, PopulationPlan, SectionPlan
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import Clean, TimeAnswer
from triage_dsl.runtime.evaluation import Evaluation
from triage_dsl.runtime.program import Program, program

_Partial = v.Partial
# A criterion's place in the question order while the walk waits at its segment:
# (rank, index, question) for one waiting for an answer, the rank of the first question
# it reads next in declaration order; the two below for the others. The least is the
# question to ask (ties, for questions outside the order: the first criterion's).
_Rank = tuple[int, int, str]
_NOTHING_MISSING = sys.maxsize - 1  # undecided, and no answer can decide it
_DECIDED = sys.maxsize


class _Dependencies(NamedTuple):
    """The questions each value and each criterion can read, directly or through values,
    and each criterion's value while none of them is answered (as at the start)."""

    values: dict[str, frozenset[str]]
    criteria: dict[str, tuple[frozenset[str], ...]]  # by section or floor node, in order
    unanswered: dict[str, tuple[v.Value, ...]]
    # by section or floor node: question -> the indexes of the criteria that can read it
    readers: dict[str, dict[str, tuple[int, ...]]]
    # missing questions -> (the rank in declaration order, the first in that order)
    firsts: dict[tuple[str, ...], tuple[int, str]]


_DEPENDENCIES: weakref.WeakKeyDictionary[Program, _Dependencies] = weakref.WeakKeyDictionary()
_MAX_FIRSTS = 4096
# The walk over no answers, the same for every session of a protocol: copied, not redone.
_FIRST: weakref.WeakKeyDictionary[Program, Walk] = weakref.WeakKeyDictionary()


def _dependencies(protocol: Any, program: Program) -> _Dependencies:
    found = _DEPENDENCIES.get(program)
    if found is not None:
        return found
    questions = program.plan.questions
    values: dict[str, frozenset[str]] = {}

    def closure(names: tuple[str, ...]) -> frozenset[str]:
        out: set[str] = set()
        for name in names:
            if name in questions:
                out.add(name)
            elif name in program.values:
                if name not in values:
                    values[name] = closure(program.values[name].reads)
                out |= values[name]
        return frozenset(out)

    for vid in program.values:
        if vid not in values:
            values[vid] = closure(program.values[vid].reads)
    criteria = {node: tuple(closure(c.reads) for c in codes) for node, codes in program.sections.items()}
    start = Evaluation(protocol, {}, [], [], tracing=False)
    unanswered = {node: tuple(c.code(start) for c in codes) for node, codes in program.sections.items()}
    readers: dict[str, dict[str, tuple[int, ...]]] = {}
    for node, reads in criteria.items():
        by_question: dict[str, list[int]] = {}
        for index, questions_read in enumerate(reads):
            for qid in questions_read:
                by_question.setdefault(qid, []).append(index)
        readers[node] = {qid: tuple(indexes) for qid, indexes in by_question.items()}
    found = _DEPENDENCIES[program] = _Dependencies(values, criteria, unanswered, readers, {})
    return found


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

    @classmethod
    def start(cls, protocol: Any, answers: MutableMapping[str, Clean]) -> Walk:
        """The walk over ``answers``; over none, a copy of the protocol's first walk."""
        if answers:
            return cls(protocol, answers)
        compiled = program(protocol)
        first = _FIRST.get(compiled)
        if first is None:
            first = _FIRST[compiled] = cls(protocol, {})
        return first.copy(answers)

    def copy(self, answers: MutableMapping[str, Clean]) -> Walk:
        """This walk over ``answers`` (equal to the answers it read: none, for the first
        walk), sharing nothing that changes."""
        walk = Walk.__new__(Walk)
        walk.protocol = self.protocol
        walk.answers = answers
        walk.ev = ev = Evaluation(self.protocol, answers, [], [], tracing=False)
        ev.memo.update(self.ev.memo)
        ev.read.update(self.ev.read)
        walk.deps = self.deps
        walk.open = list(self.open)
        walk.ranks = list(self.ranks)
        walk.marks = list(self.marks)
        walk.callee = self.callee.copy(answers) if self.callee is not None else None
        walk.status, walk.disposition, walk.waiting_for = self.status, self.disposition, self.waiting_for
        return walk

    def __init__(self, protocol: Any, answers: MutableMapping[str, Clean]) -> None:
        self.protocol = protocol
        self.answers = answers
        self.ev = Evaluation(protocol, answers, [], [], tracing=False)
        self.deps = _dependencies(protocol, self.ev.program)
        self.open: list[v.Value] = []  # the criteria's values of the segment the walk waits at
        self.ranks: list[_Rank] = []  # and their places in the question order
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
        if at == len(self.marks) - 1 and self.waiting_for is not None and mark.kind != "callee":
            # Waiting at the segment that first read it: keep the criteria that cannot read it.
            self._forget(qid, mark)
            if mark.kind == "section":
                s = self.ev.plan.sections[mark.at]
                outcome, best = self._resume(s, qid)
                if outcome == "waiting":
                    self._wait(best)
                elif outcome == "no":
                    self._sections(mark.at + 1)
                else:
                    self._conclude(s.target)  # fires, or taken because the caller did not know
            else:
                assert mark.current is not None
                f = self.ev.program.floors[mark.at]
                outcome, best = self._resume(f, qid)
                if outcome == "waiting":
                    self._wait(best)
                elif outcome == "no":
                    self._floors(mark.at + 1, mark.current)
                else:
                    self._complete(self.ev.plan.dispositions[f.target.id])
            return
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
            position = list(read).index(qid)
            # the last segment that starts at or before it (marks' lengths never decrease)
            marks = self.marks
            found = 0
            for at in range(len(marks) - 1, 0, -1):
                if marks[at].read <= position:
                    found = at
                    break
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

    def _forget(self, qid: str, mark: _Mark) -> None:
        """Forget ``qid``'s answer and the values computed since ``mark`` that can read it."""
        ev = self.ev
        ev.read.pop(qid, None)
        depends = self.deps.values
        memo = ev.memo
        if len(memo) > mark.memo:
            for vid in list(memo)[mark.memo :]:
                if qid in depends[vid]:
                    del memo[vid]

    def _section(self, s: SectionPlan | FloorPlan) -> tuple[str, _Rank | None]:
        """``Evaluation.section`` without trace: 'fires', 'no', 'unknown', or 'waiting'
        with the place of the question to ask (the least of the criteria's ranks)."""
        any_mode = s.mode == "any"
        undecided = False
        values: list[v.Value] = []
        ev = self.ev
        deps = self.deps.criteria[s.node]
        unanswered = self.deps.unanswered[s.node]
        answers, read, missing = self.answers, ev.read, ev.program.missing_domain
        for index, code in enumerate(ev.program.sections[s.node]):
            if deps[index].isdisjoint(answers):
                # None of its questions is answered: its value at the start, and every
                # question it can read counts as read (an answer to one re-walks from here).
                value = unanswered[index]
                for qid in deps[index]:
                    if qid not in read:
                        read[qid] = missing[qid]
            else:
                value = code.code(ev)
            values.append(value)
            if type(value) is _Partial:
                undecided = True
                if not value.missing and any_mode:
                    return "unknown", None
                continue
            if value and any_mode:
                return "fires", None
            if not value and not any_mode:
                return "no", None
        if undecided:
            ranks = [self._rank(value, index) for index, value in enumerate(values)]
            best = min(ranks)
            if best[0] < _NOTHING_MISSING:
                self.open, self.ranks = values, ranks
                return "waiting", best
            return "unknown", None
        return ("fires" if not any_mode else "no"), None

    def _resume(self, s: SectionPlan | FloorPlan, qid: str) -> tuple[str, _Rank | None]:
        """:meth:`_section` of the section the walk waited at, after ``qid``'s answer
        changed: only the criteria that can read ``qid`` are evaluated again, in order.
        The others keep their value, which decided nothing (the walk waited: in this
        section no criterion fired, none said no in an ``all`` section, and none was
        unknown in an ``any`` section), so the first criterion evaluated again that
        decides is where the section stops, as a walk from its start would."""
        any_mode = s.mode == "any"
        node = s.node
        # Changed in place: whatever the outcome, they are the segment's own (the walk
        # waits at this segment, or leaves it and sets them again where it waits next).
        values, ranks = self.open, self.ranks
        indexes = self.deps.readers[node].get(qid, ())
        if indexes:
            ev = self.ev
            deps = self.deps.criteria[node]
            unanswered = self.deps.unanswered[node]
            answers, read, missing = self.answers, ev.read, ev.program.missing_domain
            codes = ev.program.sections[node]
            for index in indexes:
                if deps[index].isdisjoint(answers):
                    value = unanswered[index]
                    for question in deps[index]:
                        if question not in read:
                            read[question] = missing[question]
                else:
                    value = codes[index].code(ev)
                values[index] = value
                if type(value) is _Partial:
                    if value.missing:
                        ranks[index] = self._rank(value, index)
                    elif any_mode:
                        return "unknown", None
                    else:
                        ranks[index] = (_NOTHING_MISSING, index, "")
                elif value:
                    if any_mode:
                        return "fires", None
                    ranks[index] = (_DECIDED, index, "")
                elif not any_mode:
                    return "no", None
                else:
                    ranks[index] = (_DECIDED, index, "")
        best = min(ranks)
        if best[0] < _NOTHING_MISSING:
            return "waiting", best
        if best[0] == _NOTHING_MISSING:
            return "unknown", None
        return ("fires" if not any_mode else "no"), None

    def _rank(self, value: v.Value, index: int) -> _Rank:
        """The place of criterion ``index`` (of value ``value``) in the question order: of
        the questions it reads next (``Evaluation.to_ask``), the first the protocol
        declares."""
        if type(value) is not _Partial:
            return (_DECIDED, index, "")
        missing = value.missing
        if not missing:
            return (_NOTHING_MISSING, index, "")
        missing = value.first or missing
        firsts = self.deps.firsts
        earliest = firsts.get(missing)
        if earliest is None:
            order = self.ev.program.order
            last = len(order)
            if len(firsts) > _MAX_FIRSTS:  # bounded, whatever the protocol
                firsts.clear()
            qid = min(missing, key=lambda q: order.get(q, last))
            earliest = firsts[missing] = (order.get(qid, last), qid)
        return (earliest[0], index, earliest[1])

    def _wait(self, best: _Rank | None) -> None:
        """Wait for the question at ``best`` (the least of the criteria's ranks)."""
        assert best is not None
        self.status, self.disposition, self.waiting_for = "needs_answers", None, best[2]

    def _complete(self, disposition: DispositionPlan) -> None:
        self.status, self.disposition, self.waiting_for = "complete", disposition, None

    def _sections(self, start: int) -> None:
        """``Evaluation.walk_sections`` from section ``start``, without trace or look-ahead."""
        plan = self.ev.plan
        self.callee = None
        for index in range(start, len(plan.sections)):
            s = plan.sections[index]
            self._mark("section", index)
            outcome, best = self._section(s)
            if outcome == "no":
                continue
            if outcome == "waiting":
                self._wait(best)
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
            outcome, best = self._section(f)
            if outcome == "no":
                continue
            if outcome == "waiting":
                self._wait(best)
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
