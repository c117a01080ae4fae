"""The interpreter: a plan and a caller's answers -> a result with its full trace.

Sections are tried in order and the first that holds wins (the default when none does).
Criteria and values are evaluated lazily over partial values (``values.py``): a
question's answer is read only when the outcome needs it, and a section that cannot be
decided yet makes the result ``needs_answers`` with the questions to ask, the next one
first. A section left undecided only because the caller did not know an answer is taken
(the more urgent outcome, since sections run from most to least urgent) and the trace
records the assumption. Nothing from a protocol is passed to eval or exec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from triage_dsl.check.scope import minutes
from triage_dsl.check.walk import names as names_in
from triage_dsl.graph.plan import CriterionPlan, DispositionPlan, Plan, QuestionPlan, SectionPlan
from triage_dsl.model import result as m
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import UNKNOWN, Clean, validate
from triage_dsl.source import Span
from triage_dsl.syntax import ast

_JSON = bool | int | float | str | None


def _fmt(value: v.Value | Clean | None) -> str:
    if value is UNKNOWN:
        return "unknown (caller does not know)"
    if isinstance(value, v.Partial):
        return "undecided"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return "not answered"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _answer_json(value: Clean) -> bool | int | float | str:
    return "unknown" if value is UNKNOWN else value  # type: ignore[return-value]


class Evaluation:
    """The state of one evaluation; a plan is shared, this is not."""

    def __init__(
        self, protocol: Any, answers: Mapping[str, Clean], trace: list[m.TraceEntry], asked: list[str]
    ) -> None:
        self.protocol = protocol
        self.plan: Plan = protocol.plan
        self.answers = answers
        self.trace = trace
        self.asked = asked
        self.memo: dict[str, v.Value] = {}
        self.read: dict[str, v.Value] = {}
        self.used: list[str] = []  # every answer read, for the decision or for the record
        self.assumptions: list[m.Assumption] = []
        self.quiet = False

    # ----------------------------------------------------------------- trace
    def record(
        self,
        kind: str,
        node: str,
        span: Span,
        text: str,
        *,
        reads: dict[str, _JSON] | None = None,
        value: _JSON = None,
        detail: str = "",
        row: int | None = None,
    ) -> None:
        if self.quiet:
            return
        self.trace.append(
            m.TraceEntry(
                step=len(self.trace) + 1,
                kind=kind,
                node=node,
                protocol=self.plan.protocol_id,
                location=span.location,
                text=text,
                reads=reads or {},
                value=value,
                detail=detail,
                row=row,
            )
        )

    # ----------------------------------------------------------------- answers
    def question(self, q: QuestionPlan) -> v.Value:
        if q.id in self.read:
            return self.read[q.id]
        answer = self.answers.get(q.id)
        value: v.Value
        if answer is None:
            value = self._domain(q, missing=(q.id,))
            if not self.quiet:
                self.record(
                    "answer",
                    q.node,
                    q.span,
                    q.prompt,
                    value=None,
                    detail="not answered yet: the outcome depends on it",
                )
        elif answer is UNKNOWN:
            if q.unknown_means is not None:
                value = q.unknown_means
                reason = (
                    f"the caller did not know; the protocol says unknown means "
                    f"{_fmt(value)} for '{q.id}' ({q.span.location})"
                )
                if not self.quiet:
                    self.assumptions.append(
                        m.Assumption(
                            question=q.id, node=q.node, location=q.span.location, assumed=value, reason=reason
                        )
                    )
            else:
                value = self._domain(q, unknown=(q.id,))
                reason = "the caller does not know"
            if not self.quiet:
                self.asked.append(q.id)
                self.record(
                    "answer",
                    q.node,
                    q.span,
                    q.prompt,
                    reads={q.id: "unknown"},
                    value="unknown",
                    detail=reason,
                )
        else:
            value = answer  # type: ignore[assignment]
            if not self.quiet:
                self.asked.append(q.id)
                self.record(
                    "answer",
                    q.node,
                    q.span,
                    q.prompt,
                    reads={q.id: _answer_json(answer)},
                    value=_answer_json(answer),
                    detail=f"answered {_fmt(answer)}",
                )
        if answer is not None and q.id not in self.used:
            self.used.append(q.id)
        if not self.quiet or answer is not None:
            self.read[q.id] = value
        return value

    @staticmethod
    def _domain(q: QuestionPlan, missing: tuple[str, ...] = (), unknown: tuple[str, ...] = ()) -> v.Partial:
        if q.type == "yes/no":
            return v.Partial("bool", missing=missing, unknown=unknown)
        if q.type == "choice":
            return v.Partial("choice", options=frozenset(q.option_ids), missing=missing, unknown=unknown)
        assert q.low is not None and q.high is not None
        return v.Partial("number", low=q.low, high=q.high, missing=missing, unknown=unknown)

    # ----------------------------------------------------------------- expressions
    def name(self, name_id: str) -> v.Value:
        q = self.plan.questions.get(name_id)
        if q is not None:
            return self.question(q)
        return self.value(name_id)

    def expr(self, e: ast.Expr) -> v.Value:
        t = type(e)
        if t is ast.Name:
            return self.name(e.id)  # type: ignore[union-attr]
        if t is ast.NumberLit or t is ast.BoolLit:
            return e.value  # type: ignore[union-attr]
        if t is ast.And:
            left = self.expr(e.left)  # type: ignore[union-attr]
            if left is False:
                return False
            return v.logical_and(left, self.expr(e.right))  # type: ignore[union-attr]
        if t is ast.Or:
            left = self.expr(e.left)  # type: ignore[union-attr]
            if left is True:
                return True
            return v.logical_or(left, self.expr(e.right))  # type: ignore[union-attr]
        if t is ast.Not:
            return v.logical_not(self.expr(e.operand))  # type: ignore[union-attr]
        if t is ast.Compare:
            return v.compare(e.op, self.expr(e.left), self.expr(e.right))  # type: ignore[union-attr]
        if t is ast.Member:
            assert isinstance(e, ast.Member)
            return v.member(self.expr(e.operand), frozenset(o.id for o in e.options), e.negated)
        if t is ast.IsUnknown:
            assert isinstance(e, ast.IsUnknown) and isinstance(e.operand, ast.Name)
            self.name(e.operand.id)
            answer = self.answers.get(e.operand.id)
            if answer is None:
                return v.Partial("bool", missing=(e.operand.id,))
            return (answer is UNKNOWN) != e.negated
        if t is ast.Arith:
            assert isinstance(e, ast.Arith)
            return v.arith(e.op, self.expr(e.left), self.expr(e.right))
        if t is ast.Negate:
            return v.negate(self.expr(e.operand))  # type: ignore[union-attr]
        if t is ast.Count:
            assert isinstance(e, ast.Count)
            return v.count([self.expr(item) for item in e.items])
        if t is ast.Conditional:
            assert isinstance(e, ast.Conditional)
            condition = self.expr(e.condition)
            if condition is True:
                return self.expr(e.then)
            if condition is False:
                return self.expr(e.otherwise)
            return v.hull(self.expr(e.then), self.expr(e.otherwise), condition)
        raise AssertionError(f"unhandled expression {t.__name__}")  # pragma: no cover

    def reads_of(self, exprs: list[ast.Expr]) -> dict[str, _JSON]:
        reads: dict[str, _JSON] = {}
        for expr in exprs:
            for name in names_in(expr):
                if name.id in self.read:
                    answer = self.answers.get(name.id)
                    reads[name.id] = _answer_json(answer) if answer is not None else None
                elif name.id in self.memo:
                    reads[name.id] = v.to_json(self.memo[name.id])
        return reads

    # ----------------------------------------------------------------- values
    def value(self, value_id: str) -> v.Value:
        if value_id in self.memo:
            return self.memo[value_id]
        plan = self.plan.values[value_id]
        decl = plan.decl
        detail = ""
        row: int | None = None
        if isinstance(decl, ast.Value):
            result = self.expr(decl.expr)
            exprs: list[ast.Expr] = [decl.expr]
        else:
            result, detail, row = self.points(decl)
            exprs = [decl.subject, *(b.condition for b in decl.bands if b.condition is not None)]
        self.memo[value_id] = result
        if not detail:
            detail = _undecided_detail(result) if isinstance(result, v.Partial) else f"= {_fmt(result)}"
        self.record(
            plan.kind,
            plan.node,
            plan.span,
            plan.text,
            reads=self.reads_of(exprs),
            value=v.to_json(result),
            detail=detail,
            row=row,
        )
        return result

    def points(self, p: ast.Points) -> tuple[v.Value, str, int | None]:
        subject = self.name(p.subject.id)
        possible: list[ast.Band] = []
        sources: list[v.Value] = [subject]
        for index, band in enumerate(p.bands):
            test = self.band_test(band, subject)
            if isinstance(test, v.Partial):
                possible.append(band)
                sources.append(test)
                continue
            if test:
                if not possible:
                    return (
                        band.points,
                        f"{_fmt(subject)} falls in row '{_band_text(band)}': {band.points:g} points",
                        index,
                    )
                possible.append(band)
                break
        if not possible:  # the checker makes tables total; keep the value honest anyway
            return v.Partial("number", 0, 0, missing=v.deps(*sources)[0]), "no row matched", None
        low = float(min(b.points for b in possible))
        high = float(max(b.points for b in possible))
        return (
            v.number_partial(low, high, *sources),
            f"between {low:g} and {high:g} points until answered",
            None,
        )

    def band_test(self, band: ast.Band, subject: v.Value) -> v.Value:
        if band.kind == "else":
            return True
        if band.kind == "compare":
            assert band.op is not None and band.bound is not None
            return v.compare(band.op, subject, band.bound)
        if band.kind == "when":
            assert band.condition is not None
            return self.expr(band.condition)
        ids = frozenset(o.id for o in band.options)
        if isinstance(subject, bool) or (isinstance(subject, v.Partial) and subject.kind == "bool"):
            if isinstance(subject, v.Partial):
                return subject if ids != {"yes", "no"} else True
            return ("yes" if subject else "no") in ids
        return v.member(subject, ids, False)

    # ----------------------------------------------------------------- criteria and sections
    def criterion(self, c: CriterionPlan) -> v.Value:
        result = self.expr(c.expr)
        detail = (
            _undecided_detail(result)
            if isinstance(result, v.Partial)
            else ("holds" if result else "does not hold")
        )
        self.record(
            "criterion",
            c.node,
            c.span,
            c.text,
            reads=self.reads_of([c.expr]),
            value=v.to_json(result),
            detail=detail,
        )
        return result

    def section(self, s: SectionPlan) -> tuple[str, CriterionPlan | None, list[v.Partial]]:
        """('fires'|'no'|'waiting'|'unknown', the deciding criterion, undecided values)."""
        undecided: list[v.Partial] = []
        undecided_criteria: list[CriterionPlan] = []
        false_criteria: list[CriterionPlan] = []
        for c in s.criteria:
            value = self.criterion(c)
            if isinstance(value, v.Partial):
                undecided.append(value)
                undecided_criteria.append(c)
                if not value.waiting and s.mode == "any":
                    return "unknown", c, undecided
                continue
            if value and s.mode == "any":
                return "fires", c, []
            if not value:
                false_criteria.append(c)
                if s.mode == "all":
                    return "no", c, []
        if any(u.waiting for u in undecided):
            return "waiting", None, undecided
        if undecided:
            return "unknown", undecided_criteria[0], undecided
        if s.mode == "all":
            return "fires", s.criteria[-1], []
        return "no", None, []

    def run(self) -> dict[str, Any]:
        """Walk the sections; returns the pieces of a result (see ``evaluate``)."""
        plan = self.plan
        for index, s in enumerate(plan.sections):
            outcome, criterion, undecided = self.section(s)
            target = s.target
            if outcome == "fires":
                assert criterion is not None
                how = "any of" if s.mode == "any" else "all of"
                explanation = (
                    f"section '{_target_text(target)}' ({how}) holds: "
                    f"{'criterion' if s.mode == 'any' else 'last criterion'} "
                    f"'{criterion.text}' is yes ({criterion.span.location})"
                )
                self.record("section", s.node, s.span, s.text, value=True, detail=explanation)
                return self.conclude(
                    target,
                    m.DecidedBy(
                        kind="criterion",
                        section=s.node,
                        criterion=criterion.node,
                        location=criterion.span.location,
                        text=criterion.text,
                        explanation=explanation,
                    ),
                    advice=criterion.advice if s.mode == "any" else _all_advice(s),
                )
            if outcome == "no":
                why = (
                    "none of its criteria holds"
                    if s.mode == "any"
                    else f"criterion '{criterion.text}' does not hold"
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
                        m.Assumption(
                            question=qid,
                            node=criterion.node,
                            location=criterion.span.location,
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
                    f"(criterion '{criterion.text}', {criterion.span.location}); "
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
                    m.DecidedBy(
                        kind="unknown_answer",
                        section=s.node,
                        criterion=criterion.node,
                        location=criterion.span.location,
                        text=criterion.text,
                        explanation=explanation,
                    ),
                    advice=criterion.advice,
                )
            # waiting: the outcome depends on questions not yet answered
            missing = self.in_protocol_order(v.merge(*(u.missing for u in undecided)))
            self.record(
                "section",
                s.node,
                s.span,
                s.text,
                value=None,
                detail=f"undecided: waiting for {_quote_list(tuple(missing))}",
            )
            missing = self.look_ahead(index + 1, missing)
            return {"status": "needs_answers", "missing": missing}
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
            m.DecidedBy(
                kind="default",
                section="default",
                location=plan.default_span.location,
                text=f"default {_target_text(plan.default)}",
                explanation=explanation,
            ),
            advice=(),
        )

    def in_protocol_order(self, ids: tuple[str, ...]) -> list[str]:
        """Questions in the order the protocol declares them (the order an agent asks)."""
        order = self.plan.question_order
        return sorted(ids, key=lambda q: order.get(q, len(order)))

    def look_ahead(self, start: int, missing: list[str]) -> list[str]:
        """Unanswered questions of later sections: they matter if this one turns out no."""
        was_quiet, self.quiet = self.quiet, True
        try:
            for s in self.plan.sections[start:]:
                outcome, _, undecided = self.section(s)
                later = self.in_protocol_order(v.merge(*(u.missing for u in undecided)))
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
            inner = Evaluation(callee, self.answers, self.trace, self.asked)
            outcome = inner.run()
            self.assumptions.extend(inner.assumptions)
            self.used.extend(q for q in inner.used if q not in self.used)
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


def _all_advice(s: SectionPlan) -> tuple[str, ...]:
    return tuple(a for c in s.criteria for a in c.advice)


def _target_text(target: ast.Target) -> str:
    return target.id if target.kind == "disposition" else f"continue with {target.id}"


def _quote_list(ids: tuple[str, ...]) -> str:
    return ", ".join(f"'{i}'" for i in ids)


def _undecided_detail(value: v.Partial) -> str:
    if value.missing:
        return f"undecided: waiting for {_quote_list(value.missing)}"
    return f"undecided: the caller does not know {_quote_list(value.unknown)}"


def _band_text(band: ast.Band) -> str:
    if band.kind == "compare":
        return f"{band.op} {band.bound:g}"
    if band.kind == "options":
        return ", ".join(o.id for o in band.options)
    if band.kind == "when":
        return "when ..."
    return "else"


# --------------------------------------------------------------------- result assembly


def protocol_ref(protocol: Any) -> m.ProtocolRef:
    return m.ProtocolRef(
        id=protocol.id,
        title=protocol.title,
        version=protocol.version,
        path=protocol.path,
        sha256=protocol.sha256,
    )


def question_info(q: QuestionPlan) -> m.QuestionInfo:
    return m.QuestionInfo(
        id=q.id,
        prompt=q.prompt,
        help=q.help,
        type=q.type,
        unit=q.unit,
        range=(q.low, q.high) if q.low is not None and q.high is not None else None,
        options=[m.OptionInfo(id=o, label=label) for o, label in q.options],
        unknown_allowed=q.unknown_allowed,
        location=q.span.location,
    )


def escalation_plan(plan: ast.Escalation) -> m.EscalationPlan:
    steps: list[m.EscalationStep] = []
    total = 0.0
    for step in plan.steps:
        if isinstance(step, ast.TellStep):
            steps.append(m.EscalationStep(kind="tell_caller", text=step.text, worst_case_minutes=0))
            continue
        wait = minutes(step.wait) if step.wait else 0.0
        every = minutes(step.retry_every) if step.retry_every else wait
        worst = wait + step.retries * every
        total += worst
        steps.append(
            m.EscalationStep(
                kind="notify",
                role=step.role,
                channel=step.channel,
                wait_minutes=wait if step.wait else None,
                retries=int(step.retries),
                retry_every_minutes=every if step.retries else None,
                worst_case_minutes=worst,
            )
        )
    return m.EscalationPlan(
        id=plan.id, steps=steps, fallback=plan.fallback, worst_case_minutes=total, location=plan.span.location
    )


def urgency(d: DispositionPlan) -> m.Urgency:
    return m.Urgency(
        tier=d.tier.id,
        label=d.tier.label,
        rank=d.tier.rank,
        time_frame=d.within_text,
        time_frame_minutes=d.within_minutes,
    )


class Decision(NamedTuple):
    """What the analyses need of one evaluation, without building a result or a trace."""

    status: str  # "complete" | "needs_answers"
    disposition: str | None
    tier_rank: int | None
    section: str | None  # the deciding section node ("default" for the default)
    criterion: str | None  # the deciding criterion node, if any
    missing: tuple[str, ...]
    read: tuple[str, ...]  # answered questions the evaluation read


def decide(protocol: Any, answers: Mapping[str, Clean]) -> Decision:
    """Evaluate already-validated answers quietly (the engine behind the analyses).

    ``answers`` map question ids to clean values (``UNKNOWN`` for "does not know").
    """
    evaluation = Evaluation(protocol, answers, [], [])
    evaluation.quiet = True
    outcome = evaluation.run()
    read = tuple(evaluation.used)
    if outcome["status"] != "complete":
        return Decision("needs_answers", None, None, None, None, tuple(outcome["missing"]), read)
    d: DispositionPlan = outcome["disposition"]
    decided: m.DecidedBy = outcome["decided_by"]
    return Decision("complete", d.id, d.tier.rank, decided.section, decided.criterion, (), read)


def evaluate_protocol(protocol: Any, answers: Mapping[str, Any], *, trace: bool = True) -> m.TriageResult:
    """Evaluate ``protocol`` against ``answers`` (JSON-like values). Never raises on bad answers."""
    ref = protocol_ref(protocol)
    if not isinstance(answers, Mapping):
        return m.TriageResult(
            protocol=ref,
            status="error",
            error="answers must be a JSON object of question id -> answer",
            errors=[m.AnswerProblem(question="", code="wrong_type", message="answers must be a JSON object")],
        )
    clean, problems = validate(protocol.plan, answers)
    if problems:
        return m.TriageResult(
            protocol=ref, status="error", error="; ".join(p.message for p in problems), errors=problems
        )
    entries: list[m.TraceEntry] = []
    asked: list[str] = []
    evaluation = Evaluation(protocol, clean, entries, asked)
    outcome = evaluation.run()
    scores = evaluation.scores()
    used = {q: _answer_json(clean[q]) for q in [*asked, *evaluation.used] if q in clean}
    common: dict[str, Any] = {
        "protocol": ref,
        "scores": scores,
        "answers": used,
        "asked": asked,
        "assumptions": evaluation.assumptions,
        "trace": entries if trace else [],
    }
    if outcome["status"] == "needs_answers":
        missing: list[str] = outcome["missing"]
        questions = {**_callee_questions(protocol.plan), **protocol.plan.questions}
        return m.TriageResult(
            status="needs_answers",
            missing=missing,
            next_question=question_info(questions[missing[0]]) if missing else None,
            **common,
        )
    d: DispositionPlan = outcome["disposition"]
    advice = [*outcome["criterion_advice"], *(a for a in d.advice if a not in outcome["criterion_advice"])]
    return m.TriageResult(
        status="complete",
        disposition=m.Disposition(id=d.id, label=d.label, care_advice=advice, location=d.span.location),
        urgency=urgency(d),
        escalation=escalation_plan(d.escalation) if d.escalation else None,
        decided_by=outcome["decided_by"],
        **common,
    )


def _callee_questions(plan: Plan) -> dict[str, QuestionPlan]:
    out: dict[str, QuestionPlan] = {}
    for callee in plan.callees.values():
        out.update(_callee_questions(callee.plan))
        out.update(callee.plan.questions)
    return out
