"""One evaluation's state: sections tried in order over partial values, the trace recorded.

Sections are tried in order and the first that holds wins (the default when none does).
Criteria and values are evaluated lazily over partial values (``values.py``): a
question's answer is read only when the outcome needs it, and a section that cannot be
decided yet makes the result ``needs_answers`` with the questions to ask, the next one
first. A section left undecided only because the caller did not know an answer is taken
(the more urgent outcome, since sections run from most to least urgent) and the trace
records the assumption.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from triage_dsl.graph.plan import (
    CriterionPlan,
    DispositionPlan,
    FloorPlan,
    Plan,
    QuestionPlan,
    SectionPlan,
)
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import (
    UNKNOWN,
    Clean,
    TimeAnswer,
    time_words,
)
from triage_dsl.runtime.build import (
    _JSON,
    _all_advice,
    _answer_json,
    _fmt,
    _no_detail,
    _quote_list,
    _target_text,
    _undecided_detail,
    _within,
)
from triage_dsl.runtime.program import (
    _CONCRETE_CMP,
    _Band,
    _CriterionCode,
    _Partial,
    _ValueCode,
    program,
)
from triage_dsl.source import Span
from triage_dsl.syntax import ast
from triage_dsl.units import exact_text

if TYPE_CHECKING:
    from triage_dsl.model import result as m


class Evaluation:
    """The state of one evaluation; a plan is shared, this is not.

    ``quiet`` evaluates without recording anything (look-ahead, the analyses);
    ``tracing=False`` records the answers read and the assumptions but builds no trace;
    ``plain`` builds plain results (:mod:`triage_dsl.model.plain`) instead of pydantic ones.
    """

    def __init__(
        self,
        protocol: Any,
        answers: Mapping[str, Clean],
        trace: list[m.TraceEntry],
        asked: list[str],
        *,
        tracing: bool = True,
        plain: bool = False,
    ) -> None:
        self.protocol = protocol
        self.program = program(protocol, plain)
        self.plan: Plan = protocol.plan
        self.answers = answers
        self.trace = trace
        self.asked = asked
        self.memo: dict[str, v.Value] = {}
        self.read: dict[str, v.Value] = {}
        self.used: dict[str, None] = {}  # every answer read, for the decision or for the record
        self.assumptions: list[m.Assumption] = []
        self.tracing = tracing
        self._quiet = False
        self.recording = tracing
        self.open_criteria: tuple[int, ...] = ()  # of the section evaluation waits at

    @property
    def quiet(self) -> bool:
        return self._quiet

    @quiet.setter
    def quiet(self, quiet: bool) -> None:
        self._quiet = quiet
        self.recording = self.tracing and not quiet

    # ----------------------------------------------------------------- trace
    def record(
        self,
        kind: str,
        node: str,
        span: Span | str,
        text: str,
        *,
        reads: dict[str, _JSON] | None = None,
        value: _JSON = None,
        detail: str = "",
        row: int | None = None,
    ) -> None:
        if not self.recording:
            return
        trace = self.trace
        trace.append(
            self.program.kinds.entry(
                len(trace) + 1,
                kind,
                node,
                self.program.protocol_id,
                span if isinstance(span, str) else self.program.where(span),
                text,
                reads if reads is not None else {},
                value,
                detail,
                row,
            )
        )

    # ----------------------------------------------------------------- answers
    def question(self, q: QuestionPlan) -> v.Value:
        qid = q.id
        if qid in self.read:
            return self.read[qid]
        answer = self.answers.get(qid)
        value: v.Value
        if answer is None:
            value = self.program.missing_domain[qid]
            if self.recording:
                self.record(
                    "answer",
                    q.node,
                    self.program.locations[qid],
                    q.prompt,
                    value=None,
                    detail="not answered yet: the outcome depends on it",
                )
        elif answer is UNKNOWN:
            if q.unknown_means is not None:
                value = q.unknown_means
                if not self._quiet:
                    reason = (
                        f"the caller did not know; the protocol says unknown means "
                        f"{exact_text(value) if q.is_time else _fmt(value)} "  # type: ignore[arg-type]
                        f"for '{qid}' ({self.program.where(q.span)})"
                    )
                    self.assumptions.append(
                        self.program.m.Assumption(
                            question=qid,
                            node=q.node,
                            location=self.program.where(q.span),
                            assumed=value,
                            reason=reason,
                        )
                    )
            else:
                value = self.program.unknown_domain[qid]
                reason = "the caller does not know"
            if not self._quiet:
                self.asked.append(qid)
                if self.recording:
                    self.record(
                        "answer",
                        q.node,
                        self.program.locations[qid],
                        q.prompt,
                        reads={qid: "unknown"},
                        value="unknown",
                        detail=reason,
                    )
        else:
            value = answer  # type: ignore[assignment]
            if not self._quiet:
                self.asked.append(qid)
                if self.recording:
                    if type(answer) is TimeAnswer:
                        # The answer as given, and the minutes the protocol compares.
                        self.record(
                            "answer",
                            q.node,
                            self.program.locations[qid],
                            q.prompt,
                            reads={qid: answer.text},
                            value=float(answer),
                            detail=f"answered {time_words(answer, q.type)}",
                        )
                    else:
                        self.record(
                            "answer",
                            q.node,
                            self.program.locations[qid],
                            q.prompt,
                            reads={qid: answer},  # type: ignore[dict-item]
                            value=answer,  # type: ignore[arg-type]
                            detail=f"answered {_fmt(answer)}",
                        )
        if answer is not None:
            self.used[qid] = None
        if answer is not None or not self._quiet:
            self.read[qid] = value
        return value

    # ----------------------------------------------------------------- expressions
    def name(self, name_id: str) -> v.Value:
        q = self.plan.questions.get(name_id)
        if q is not None:
            return self.question(q)
        return self.value(name_id)

    def expr(self, e: ast.Expr) -> v.Value:
        """Evaluate any expression of this plan (compiled on first use)."""
        return self.program.expr(e)(self)

    def reads_of(self, names: tuple[str, ...]) -> dict[str, _JSON]:
        reads: dict[str, _JSON] = {}
        read, memo, answers = self.read, self.memo, self.answers
        for name in names:
            if name in read:
                answer = answers.get(name)
                reads[name] = _answer_json(answer) if answer is not None else None
            elif name in memo:
                value = memo[name]
                reads[name] = None if type(value) is _Partial else value  # type: ignore[assignment]
        return reads

    # ----------------------------------------------------------------- values
    def value(self, value_id: str) -> v.Value:
        if value_id in self.memo:
            return self.memo[value_id]
        code = self.program.values[value_id]
        if code.code is not None:
            result = code.code(self)
            self.memo[value_id] = result
            if self.recording:
                plan = code.plan
                self.record(
                    plan.kind,
                    plan.node,
                    code.location,
                    plan.text,
                    reads=self.reads_of(code.reads),
                    value=None if type(result) is _Partial else result,  # type: ignore[arg-type]
                    detail=_undecided_detail(result) if type(result) is _Partial else f"= {_fmt(result)}",
                )
            return result
        result, subject, row, low, high = self.points(code)
        self.memo[value_id] = result
        if self.recording:
            plan = code.plan
            if row is not None:
                band = code.bands[row]
                detail = f"{_fmt(subject)} falls in row '{band.text}': {band.points:g} points"
            elif low is None:
                detail = "no row matched"
            else:
                detail = f"between {low:g} and {high:g} points until answered"
            self.record(
                plan.kind,
                plan.node,
                code.location,
                plan.text,
                reads=self.reads_of(code.reads),
                value=None if type(result) is _Partial else result,  # type: ignore[arg-type]
                detail=detail,
                row=row,
            )
        return result

    def points(self, code: _ValueCode) -> tuple[v.Value, v.Value, int | None, float | None, float]:
        """(value, subject, the matching row or None, low and high points while undecided)."""
        assert code.subject is not None
        subject = code.subject(self)
        concrete = type(subject) is not _Partial
        if concrete and code.rows is not None:
            for index, (row_test, points) in enumerate(code.rows):
                if row_test(subject):
                    return points, subject, index, None, 0.0
        possible: list[_Band] = []
        sources: list[v.Value] = [subject]
        for index, band in enumerate(code.bands):
            kind = band.kind
            test: v.Value
            if kind == "compare":
                if concrete:
                    test = _CONCRETE_CMP[band.op](subject, band.bound)
                else:
                    test = v.compare(band.op, subject, band.bound)
            elif kind == "else":
                test = True
            elif kind == "when":
                assert band.condition is not None
                test = band.condition(self)
            elif subject is True or subject is False:
                test = ("yes" if subject else "no") in band.ids
            elif type(subject) is _Partial and subject.kind == "bool":
                test = subject if not band.both else True
            else:
                test = v.member(subject, band.ids, False)
            if type(test) is _Partial:
                possible.append(band)
                sources.append(test)
                continue
            if test:
                if not possible:
                    return band.points, subject, index, None, 0.0
                possible.append(band)
                break
        if not possible:  # the checker makes tables total; keep the value honest anyway
            return v.Partial("number", 0, 0, missing=v.deps(*sources)[0]), subject, None, None, 0.0
        low = float(min(b.points for b in possible))
        high = float(max(b.points for b in possible))
        return v.number_partial(low, high, *sources), subject, None, low, high

    # ----------------------------------------------------------------- criteria and sections
    def criterion(self, c: CriterionPlan) -> v.Value:
        for code in self.program.sections[f"section:{c.section}"]:
            if code.plan is c:
                return self._criterion(code)
        raise AssertionError(f"criterion {c.node} is not in this plan")  # pragma: no cover

    def _criterion(self, code: _CriterionCode) -> v.Value:
        result = code.code(self)
        if self.recording:
            c = code.plan
            partial = type(result) is _Partial
            self.record(
                "criterion",
                c.node,
                code.location,
                c.text,
                reads=self.reads_of(code.reads),
                value=None if partial else result,  # type: ignore[arg-type]
                detail=(
                    _undecided_detail(result)  # type: ignore[arg-type]
                    if partial
                    else ("holds" if result else "does not hold")
                ),
            )
        return result

    def section(self, s: SectionPlan | FloorPlan) -> tuple[str, CriterionPlan | None, list[v.Partial]]:
        """('fires'|'no'|'waiting'|'unknown', the deciding criterion, undecided values)."""
        undecided: list[v.Partial] = []
        undecided_criteria: list[CriterionPlan] = []
        any_mode = s.mode == "any"
        for code in self.program.sections[s.node]:
            c = code.plan
            value = self._criterion(code)
            if type(value) is _Partial:
                undecided.append(value)
                undecided_criteria.append(c)
                if not value.missing and any_mode:
                    return "unknown", c, undecided
                continue
            if value and any_mode:
                return "fires", c, []
            if not value and not any_mode:
                return "no", c, []
        if any(u.waiting for u in undecided):
            self.open_criteria = tuple(c.index for c in undecided_criteria)
            return "waiting", None, undecided
        if undecided:
            return "unknown", undecided_criteria[0], undecided
        if not any_mode:
            return "fires", s.criteria[-1], []
        return "no", None, []

    def run(self) -> dict[str, Any]:
        """Walk the sections, then the floors; returns the pieces of a result (see
        ``evaluate``)."""
        outcome = self.walk_sections()
        if not self.program.floors:
            return outcome
        if outcome["status"] == "complete":
            return self.apply_floors(outcome)
        outcome["missing"] = self.floor_look_ahead(outcome["missing"], None)
        return outcome

    def apply_floors(self, outcome: dict[str, Any]) -> dict[str, Any]:
        """Raise a complete outcome to the most urgent floor that holds (never lower it).

        Floors are tried most urgent first, so the first that holds wins and every floor
        after it is no longer needed; a floor no more urgent than the outcome is not
        evaluated. A floor that cannot be decided because the caller did not know holds
        (the more urgent outcome); one waiting for answers makes the result
        ``needs_answers``.
        """
        current: DispositionPlan = outcome["disposition"]
        order = self.program.floors
        for position, f in enumerate(order):
            target = self.plan.dispositions[f.target.id]
            if target.tier.rank >= current.tier.rank:
                self.record(
                    "floor",
                    f.node,
                    f.span,
                    f.text,
                    value=None,
                    detail=(
                        "not needed: the outcome is already at least as urgent "
                        f"('{current.id}', tier {current.tier.id})"
                    ),
                )
                continue
            result, criterion, undecided = self.section(f)
            if result == "fires":
                assert criterion is not None
                how = "criterion" if f.mode == "any" else "last criterion"
                self.record(
                    "floor",
                    f.node,
                    f.span,
                    f.text,
                    value=True,
                    detail=f"holds: {how} '{criterion.text}' is yes",
                )
                return self.raise_to(f, criterion, outcome, "criterion", (), position)
            if result == "no":
                self.record(
                    "floor",
                    f.node,
                    f.span,
                    f.text,
                    value=False,
                    detail=_no_detail(f, criterion, self.program.where),
                )
                continue
            if result == "unknown":
                assert criterion is not None
                unknown = v.merge(*(u.unknown for u in undecided))
                return self.raise_to(f, criterion, outcome, "unknown_answer", unknown, position)
            missing = self.to_ask(undecided)
            self.record(
                "floor",
                f.node,
                f.span,
                f.text,
                value=None,
                detail=f"undecided: waiting for {_quote_list(tuple(missing))}",
            )
            # Waiting at a floor: the index counts on after the sections (the analyses read it).
            open_criteria = self.open_criteria
            return {
                "status": "needs_answers",
                "missing": self.floor_look_ahead(missing, current, start=position + 1),
                "waiting": (self.plan.protocol_id, len(self.plan.sections) + position, open_criteria),
            }
        return outcome

    def floor_look_ahead(
        self, missing: list[str], current: DispositionPlan | None, start: int = 0
    ) -> list[str]:
        """Unanswered questions of floors that could still raise the outcome (all floors
        while the outcome itself is undecided), after the questions already missing."""
        was_quiet, self.quiet = self.quiet, True
        try:
            for f in self.program.floors[start:]:
                rank = self.plan.dispositions[f.target.id].tier.rank
                if current is not None and rank >= current.tier.rank:
                    continue
                outcome, _, undecided = self.section(f)
                later = self.to_ask(undecided)
                missing.extend(q for q in later if q not in missing)
                if outcome in ("fires", "unknown"):
                    break
        finally:
            self.quiet = was_quiet
        return missing

    def raise_to(
        self,
        f: FloorPlan,
        criterion: CriterionPlan,
        outcome: dict[str, Any],
        kind: str,
        unknown: tuple[str, ...],
        position: int,
    ) -> dict[str, Any]:
        before: DispositionPlan = outcome["disposition"]
        after = self.plan.dispositions[f.target.id]
        where = self.program.where(criterion.span)
        if kind == "unknown_answer":
            for qid in unknown:
                self.assumptions.append(
                    self.program.m.Assumption(
                        question=qid,
                        node=criterion.node,
                        location=where,
                        assumed=None,
                        reason=(
                            f"the caller does not know '{qid}', so criterion '{criterion.text}' of "
                            f"floor 'at least {after.id}' could not be decided; the floor is taken "
                            "because it is the more urgent outcome"
                        ),
                    )
                )
            because = (
                f"'{criterion.text}' could not be ruled out: the caller does not know "
                f"{_quote_list(unknown)} ({where})"
            )
            self.record(
                "assumption",
                criterion.node,
                criterion.span,
                criterion.text,
                reads={q: "unknown" for q in unknown},
                value=True,
                detail=(
                    f"floor 'at least {after.id}' is taken because it could not be ruled out; "
                    "undecided criteria resolve toward the more urgent outcome"
                ),
            )
            self.record("floor", f.node, f.span, f.text, value=True, detail=f"holds: {because}")
        else:
            because = f"'{criterion.text}' ({where})"
        explanation = (
            f"raised from '{before.id}' (tier {before.tier.id}) to '{after.id}' (tier {after.tier.id}) "
            f"because {because}; floor at {self.program.where(f.span)}"
        )
        self.record("raise", f.node, f.span, f.text, value=after.id, detail=explanation)
        for later in self.program.floors[position + 1 :]:
            self.record(
                "floor",
                later.node,
                later.span,
                later.text,
                value=None,
                detail=(
                    "not needed: the outcome is already at least as urgent "
                    f"('{after.id}', tier {after.tier.id})"
                ),
            )
        self.record(
            "disposition",
            after.node,
            after.span,
            after.label,
            value=after.id,
            detail=f"{after.label} (tier {after.tier.id}{_within(after)})",
        )
        advice = criterion.advice if f.mode == "any" else _all_advice(f)
        return {
            **outcome,
            "disposition": after,
            "criterion_advice": (*advice, *(a for a in outcome["criterion_advice"] if a not in advice)),
            "raised_by": self.program.m.RaisedBy(
                kind="criterion" if kind == "criterion" else "unknown_answer",
                floor=f.node,
                floor_location=self.program.where(f.span),
                screen=f.screen,
                criterion=criterion.node,
                location=self.program.where(criterion.span),
                text=criterion.text,
                from_disposition=before.id,
                from_tier=before.tier.id,
                to_disposition=after.id,
                to_tier=after.tier.id,
                explanation=explanation,
            ),
            "protocol": self.protocol,
        }

    def walk_sections(self) -> dict[str, Any]:
        """Walk the sections: the first that holds gives the outcome, else the default."""
        plan = self.plan
        for index, s in enumerate(plan.sections):
            outcome, criterion, undecided = self.section(s)
            target = s.target
            if outcome == "fires":
                assert criterion is not None
                explanation, decided_by = self.program.decided_by(s, criterion)
                self.record("section", s.node, s.span, s.text, value=True, detail=explanation)
                return self.conclude(
                    target,
                    decided_by,
                    advice=criterion.advice if s.mode == "any" else _all_advice(s),
                )
            if outcome == "no":
                if s.mode == "any":
                    false = "; ".join(f"'{c.text}' ({self.program.where(c.span)})" for c in s.criteria)
                    why = f"none of its criteria holds: {false} are all no"
                else:
                    why = (
                        f"criterion '{criterion.text}' ({self.program.where(criterion.span)}) does not hold"
                        if criterion
                        else ""
                    )
                self.record("section", s.node, s.span, s.text, value=False, detail=why)
                continue
            if outcome == "unknown":
                assert criterion is not None
                unknown = v.merge(*(u.unknown for u in undecided))
                for qid in unknown:
                    q = plan.questions[qid]
                    self.assumptions.append(
                        self.program.m.Assumption(
                            question=qid,
                            node=criterion.node,
                            location=self.program.where(criterion.span),
                            assumed=None,
                            reason=(
                                f"the caller does not know '{qid}', so criterion "
                                f"'{criterion.text}' could not be decided; the section is taken "
                                "because it is the more urgent outcome"
                            ),
                        )
                    )
                    del q
                explanation = (
                    f"section '{_target_text(target)}' is taken because it could not "
                    f"be ruled out: the caller does not know {_quote_list(unknown)} "
                    f"(criterion '{criterion.text}', {self.program.where(criterion.span)}); "
                    "undecided criteria resolve toward the more urgent outcome"
                )
                self.record(
                    "assumption",
                    criterion.node,
                    criterion.span,
                    criterion.text,
                    reads={q: "unknown" for q in unknown},
                    value=True,
                    detail=explanation,
                )
                self.record("section", s.node, s.span, s.text, value=True, detail=explanation)
                return self.conclude(
                    target,
                    self.program.m.DecidedBy(
                        kind="unknown_answer",
                        section=s.node,
                        criterion=criterion.node,
                        location=self.program.where(criterion.span),
                        text=criterion.text,
                        explanation=explanation,
                    ),
                    advice=criterion.advice,
                )
            # waiting: the outcome depends on questions not yet answered
            missing = self.to_ask(undecided)
            self.record(
                "section",
                s.node,
                s.span,
                s.text,
                value=None,
                detail=f"undecided: waiting for {_quote_list(tuple(missing))}",
            )
            open_criteria = self.open_criteria
            missing = self.look_ahead(index + 1, missing)
            return {
                "status": "needs_answers",
                "missing": missing,
                "waiting": (self.plan.protocol_id, index, open_criteria),
            }
        explanation = "no section's criteria held, so the protocol's default applies"
        self.record(
            "default",
            "default",
            plan.default_span,
            f"default {_target_text(plan.default)}",
            value=True,
            detail=explanation,
        )
        return self.conclude(
            plan.default,
            self.program.m.DecidedBy(
                kind="default",
                section="default",
                location=self.program.where(plan.default_span),
                text=f"default {_target_text(plan.default)}",
                explanation=explanation,
            ),
            advice=(),
        )

    def in_protocol_order(self, ids: tuple[str, ...]) -> list[str]:
        """Questions in the order the protocol declares them (the order an agent asks)."""
        order = self.program.order
        return sorted(ids, key=lambda q: order.get(q, len(order)))

    def to_ask(self, undecided: list[v.Partial]) -> list[str]:
        """The questions undecided criteria wait for, in the order to ask them: first
        those each criterion reads next (``a and b`` reads ``b`` only once ``a`` is
        known), then the rest, each group in the order the protocol declares them."""
        missing = self.in_protocol_order(v.merge(*(u.missing for u in undecided)))
        if not any(u.first for u in undecided if u.missing):
            return missing
        now = {q for u in undecided if u.missing for q in v.frontier(u)}
        return [q for q in missing if q in now] + [q for q in missing if q not in now]

    def look_ahead(self, start: int, missing: list[str]) -> list[str]:
        """Unanswered questions of later sections: they matter if this one turns out no."""
        was_quiet, self.quiet = self.quiet, True
        try:
            for s in self.plan.sections[start:]:
                outcome, _, undecided = self.section(s)
                later = self.to_ask(undecided)
                missing.extend(q for q in later if q not in missing)
                if outcome in ("fires", "unknown"):
                    break
        finally:
            self.quiet = was_quiet
        return missing

    def conclude(
        self, target: ast.Target, decided_by: m.DecidedBy, advice: tuple[str, ...]
    ) -> dict[str, Any]:
        if target.kind == "protocol":
            callee = self.plan.callees[target.id]
            self.record(
                "continue",
                f"protocol:{target.id}",
                target.span,
                f"continue with {target.id}",
                value=target.id,
                detail=f"{decided_by.explanation}; continuing with protocol '{target.id}'",
            )
            inner = Evaluation(callee, self.answers, self.trace, self.asked, tracing=self.tracing)
            outcome = inner.run()
            self.assumptions.extend(inner.assumptions)
            self.used.update(inner.used)
            return outcome
        d = self.plan.dispositions[target.id]
        self.record(
            "disposition",
            d.node,
            d.span,
            d.label,
            value=d.id,
            detail=f"{d.label} (tier {d.tier.id}{', ' + d.within_text if d.within_text else ''})",
        )
        return {
            "status": "complete",
            "disposition": d,
            "decided_by": decided_by,
            "criterion_advice": advice,
            "protocol": self.protocol,
        }

    def scores(self) -> dict[str, float | int | None]:
        """Every declared score: computed for the record, read-only (asks nothing)."""
        out: dict[str, float | int | None] = {}
        for score_id in self.plan.scores:
            if score_id not in self.memo:
                was_quiet, self.quiet = self.quiet, True
                try:
                    value = self.value(score_id)
                finally:
                    self.quiet = was_quiet
                plan = self.plan.values[score_id]
                if not isinstance(value, v.Partial):
                    self.memo[score_id] = value
                    self.record(
                        "score",
                        plan.node,
                        plan.span,
                        plan.text,
                        value=value,
                        detail=f"= {_fmt(value)} (for the record; the decision did not need it)",
                    )
                else:
                    self.memo.pop(score_id, None)
            known = self.memo.get(score_id)
            out[score_id] = None if known is None or isinstance(known, (v.Partial, str)) else known
        return out
