"""The interpreter: a plan and a caller's answers -> a result with its full trace.

Sections are tried in order and the first that holds wins (the default when none does).
Criteria and values are evaluated lazily over partial values (``values.py``): a
question's answer is read only when the outcome needs it, and a section that cannot be
decided yet makes the result ``needs_answers`` with the questions to ask, the next one
first. A section left undecided only because the caller did not know an answer is taken
(the more urgent outcome, since sections run from most to least urgent) and the trace
records the assumption. Nothing from a protocol is passed to eval or exec.

Speed (see ``docs/performance.md``): on first use a plan is compiled into a
:class:`Program` -- every expression a Python closure, every points table a list of row
tests, the names each trace step reads, the result pieces that depend only on the
protocol (validated once) -- and kept in ``plan.compiled``. Evaluation then walks
closures, not the AST; answers that are plainly valid skip the general validator; trace
entries and results are built from data that is valid by construction, without running
pydantic's validators again; and with ``trace=False`` no trace step is formatted at all.
The semantics are those of the tree-walking interpreter this replaced, step for step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel

from triage_dsl.check.scope import minutes
from triage_dsl.check.walk import names as names_in
from triage_dsl.graph.plan import (
    CriterionPlan,
    DispositionPlan,
    FloorPlan,
    Plan,
    PopulationPlan,
    QuestionPlan,
    SectionPlan,
    ValuePlan,
    all_dispositions,
    blocks,
)
from triage_dsl.model import result as m
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import (
    UNKNOWN,
    Clean,
    TimeAnswer,
    all_questions,
    answer_json,
    check_answer,
    validate,
)
from triage_dsl.source import Span
from triage_dsl.syntax import ast
from triage_dsl.units import exact_text, readable

_JSON = bool | int | float | str | None
Code = Callable[["Evaluation"], v.Value]
_Partial = v.Partial
_MISS: Any = object()


def _fmt(value: v.Value | Clean | None) -> str:
    if type(value) is TimeAnswer:
        return value.text
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


_answer_json = answer_json


# --------------------------------------------------------------------- building models fast


class _Builder:
    """Builds instances of a pydantic model from data already valid by construction.

    Equivalent to ``cls.model_construct(**values)`` (same fields, same ``model_fields_set``,
    defaults filled in declaration order) at a fraction of its cost; used only where the
    interpreter made every value itself. Fields added to the model later get their
    defaults.
    """

    __slots__ = ("cls", "defaults")

    def __init__(self, cls: type[BaseModel]) -> None:
        self.cls = cls
        self.defaults: list[tuple[str, Any, Callable[[], Any] | None]] = []
        for name, info in cls.model_fields.items():
            factory: Any = info.default_factory
            self.defaults.append((name, None if factory else info.default, factory))

    def __call__(self, values: dict[str, Any]) -> Any:
        data: dict[str, Any] = {}
        for name, default, factory in self.defaults:
            if name in values:
                data[name] = values[name]
            else:
                data[name] = factory() if factory is not None else default
        obj = object.__new__(self.cls)
        _set(obj, "__dict__", data)
        _set(obj, "__pydantic_fields_set__", set(values))
        _set(obj, "__pydantic_extra__", None)
        _set(obj, "__pydantic_private__", None)
        return obj


_set = object.__setattr__
_trace_entry = _Builder(m.TraceEntry)
_triage_result = _Builder(m.TriageResult)
_disposition = _Builder(m.Disposition)
_escalation = _Builder(m.EscalationPlan)


_TRACE_FIELDS = ("step", "kind", "node", "protocol", "location", "text", "reads", "value", "detail", "row")
_TRACE_FIELDS_SET = frozenset(_TRACE_FIELDS)
_TRACE_FAST = tuple(m.TraceEntry.model_fields) == _TRACE_FIELDS


def _entry(
    step: int,
    kind: str,
    node: str,
    protocol: str,
    location: str,
    text: str,
    reads: dict[str, _JSON],
    value: _JSON,
    detail: str,
    row: int | None,
) -> m.TraceEntry:
    data = {
        "step": step,
        "kind": kind,
        "node": node,
        "protocol": protocol,
        "location": location,
        "text": text,
        "reads": reads,
        "value": value,
        "detail": detail,
        "row": row,
    }
    if not _TRACE_FAST:  # pragma: no cover - the model gained a field: take the general path
        entry: m.TraceEntry = _trace_entry(data)
        return entry
    obj = object.__new__(m.TraceEntry)
    _set(obj, "__dict__", data)
    _set(obj, "__pydantic_fields_set__", set(_TRACE_FIELDS_SET))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


# --------------------------------------------------------------------- the compiled program


class _Band(NamedTuple):
    kind: str  # "else" | "compare" | "when" | "options"
    op: str
    bound: ast.Number
    condition: Code | None
    ids: frozenset[str]
    both: bool  # options {yes, no}
    points: ast.Number
    text: str


class _ValueCode(NamedTuple):
    plan: ValuePlan
    code: Code | None  # a value or score
    subject: Code | None  # a points table
    bands: tuple[_Band, ...]
    rows: tuple[tuple[Callable[[Any], bool], ast.Number], ...] | None  # tests of a concrete subject
    reads: tuple[str, ...]
    location: str


class _CriterionCode(NamedTuple):
    plan: CriterionPlan
    code: Code
    reads: tuple[str, ...]
    location: str


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


_CONCRETE_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: float(a) < float(b),
    "<=": lambda a, b: float(a) <= float(b),
    ">": lambda a, b: float(a) > float(b),
    ">=": lambda a, b: float(a) >= float(b),
    "=": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
}


class Program:
    """A plan compiled into closures, with the result pieces that depend only on the
    protocol. Immutable once built, except for memo tables of equal values (safe to share
    between threads)."""

    def __init__(self, protocol: Any) -> None:
        plan: Plan = protocol.plan
        self.plan = plan
        self.protocol_id = plan.protocol_id
        self.where = Locator(protocol)
        self.ref = protocol_ref(protocol)
        self.questions_all = all_questions(plan)
        self.order = plan.question_order
        self.missing_domain = {qid: _domain(q, missing=(qid,)) for qid, q in plan.questions.items()}
        self.unknown_domain = {qid: _domain(q, unknown=(qid,)) for qid, q in plan.questions.items()}
        self.locations = {qid: self.where(q.span) for qid, q in plan.questions.items()}
        self.checkers = {qid: _fast_check(q) for qid, q in self.questions_all.items()}
        self.exprs: dict[int, Code] = {}
        self.values: dict[str, _ValueCode] = {}
        for vid, vp in plan.values.items():
            self.values[vid] = self._value(vp)
        self.sections: dict[str, tuple[_CriterionCode, ...]] = {
            s.node: tuple(
                _CriterionCode(
                    c, self.expr(c.expr), _unique([n.id for n in names_in(c.expr)]), self.where(c.span)
                )
                for c in s.criteria
            )
            for s in blocks(plan)
        }
        # Floors in the order they are tried: most urgent first, ties in written order.
        self.floors = tuple(
            sorted(plan.floors, key=lambda f: (plan.dispositions[f.target.id].tier.rank, f.index))
        )
        self.decided: dict[tuple[str, str], tuple[str, m.DecidedBy]] = {}
        # Every disposition a result may name: a protocol continued with may reach one
        # that this protocol never names itself.
        reachable = all_dispositions(plan).values()
        self.urgencies = {d.id: urgency(d) for d in reachable}
        self.escalations = {
            d.id: escalation_plan(d.escalation, self.where) for d in reachable if d.escalation
        }
        self.dispositions: dict[tuple[str, tuple[str, ...]], m.Disposition] = {}
        self.infos: dict[str, m.QuestionInfo] = {}

    # -- expressions
    def expr(self, e: ast.Expr) -> Code:
        """The closure for ``e`` (compiled once; the AST is kept alive by the plan)."""
        code = self.exprs.get(id(e))
        if code is None:
            code = self._compile(e)
            self.exprs[id(e)] = code
        return code

    def name(self, name_id: str) -> Code:
        q = self.plan.questions.get(name_id)
        if q is not None:
            question = q

            def read_question(ev: Evaluation) -> v.Value:
                value = ev.read.get(name_id, _MISS)
                return ev.question(question) if value is _MISS else value

            return read_question

        def read_value(ev: Evaluation) -> v.Value:
            value = ev.memo.get(name_id, _MISS)
            return ev.value(name_id) if value is _MISS else value

        return read_value

    def _compile(self, e: ast.Expr) -> Code:
        t = type(e)
        if isinstance(e, ast.Name):
            return self.name(e.id)
        if isinstance(e, ast.NumberLit | ast.BoolLit):
            constant = e.value
            return lambda ev: constant
        if isinstance(e, ast.And):
            left, right = self.expr(e.left), self.expr(e.right)

            def and_(ev: Evaluation) -> v.Value:
                a = left(ev)
                if a is False:
                    return False
                if a is True:
                    return right(ev)
                return v.logical_and(a, right(ev))

            return and_
        if isinstance(e, ast.Or):
            left, right = self.expr(e.left), self.expr(e.right)

            def or_(ev: Evaluation) -> v.Value:
                a = left(ev)
                if a is True:
                    return True
                if a is False:
                    return right(ev)
                return v.logical_or(a, right(ev))

            return or_
        if isinstance(e, ast.Not):
            operand = self.expr(e.operand)
            return lambda ev: v.logical_not(operand(ev))
        if isinstance(e, ast.Compare):
            return self._compare(e)
        if isinstance(e, ast.Member):
            operand = self.expr(e.operand)
            options = frozenset(o.id for o in e.options)
            negated = e.negated

            def member(ev: Evaluation) -> v.Value:
                x = operand(ev)
                if type(x) is _Partial:
                    return v.member(x, options, negated)
                return (x in options) != negated

            return member
        if isinstance(e, ast.IsUnknown):
            assert isinstance(e.operand, ast.Name)
            qid = e.operand.id
            read = self.name(qid)
            negated = e.negated

            def is_unknown(ev: Evaluation) -> v.Value:
                read(ev)
                answer = ev.answers.get(qid)
                if answer is None:
                    return v.Partial("bool", missing=(qid,))
                return (answer is UNKNOWN) != negated

            return is_unknown
        if isinstance(e, ast.Arith):
            left, right = self.expr(e.left), self.expr(e.right)
            op = e.op
            tidy = v.tidy

            def arith(ev: Evaluation) -> v.Value:
                a, b = left(ev), right(ev)
                if type(a) is _Partial or type(b) is _Partial:
                    return v.arith(op, a, b)
                if op == "+":
                    return tidy(a + b)  # type: ignore[operator, arg-type]
                if op == "-":
                    return tidy(a - b)  # type: ignore[operator]
                return tidy(a * b)  # type: ignore[operator, arg-type]

            return arith
        if isinstance(e, ast.Negate):
            operand = self.expr(e.operand)
            return lambda ev: v.negate(operand(ev))
        if isinstance(e, ast.Count):
            items = tuple(self.expr(item) for item in e.items)

            def count(ev: Evaluation) -> v.Value:
                values = [item(ev) for item in items]
                for x in values:
                    if type(x) is _Partial:
                        return v.count(values)
                return v.tidy(float(sum(1 for x in values if x is True)))

            return count
        if isinstance(e, ast.Conditional):
            condition, then, otherwise = self.expr(e.condition), self.expr(e.then), self.expr(e.otherwise)

            def conditional(ev: Evaluation) -> v.Value:
                c = condition(ev)
                if c is True:
                    return then(ev)
                if c is False:
                    return otherwise(ev)
                return v.hull(then(ev), otherwise(ev), c)

            return conditional
        raise AssertionError(f"unhandled expression {t.__name__}")  # pragma: no cover

    def _compare(self, e: ast.Compare) -> Code:
        left, right = self.expr(e.left), self.expr(e.right)
        op = e.op
        concrete = _CONCRETE_CMP[op]
        compare = v.compare
        if isinstance(e.right, ast.NumberLit):
            bound = e.right.value
            fbound = float(bound)
            test: Callable[[Any], bool]
            if op in ("<", "<=", ">", ">="):
                test = {
                    "<": lambda a: float(a) < fbound,
                    "<=": lambda a: float(a) <= fbound,
                    ">": lambda a: float(a) > fbound,
                    ">=": lambda a: float(a) >= fbound,
                }[op]
            elif op == "=":
                test = lambda a: bool(a == bound)  # noqa: E731
            else:
                test = lambda a: bool(a != bound)  # noqa: E731

            def compare_constant(ev: Evaluation) -> v.Value:
                a = left(ev)
                if type(a) is _Partial:
                    return compare(op, a, bound)
                return test(a)

            return compare_constant

        def compare_general(ev: Evaluation) -> v.Value:
            a, b = left(ev), right(ev)
            if type(a) is _Partial or type(b) is _Partial:
                return compare(op, a, b)
            return concrete(a, b)

        return compare_general

    # -- values and points tables
    def _value(self, vp: ValuePlan) -> _ValueCode:
        decl = vp.decl
        location = self.where(vp.span)
        if isinstance(decl, ast.Value):
            reads = _unique([n.id for n in names_in(decl.expr)])
            return _ValueCode(vp, self.expr(decl.expr), None, (), None, reads, location)
        exprs: list[ast.Expr] = [decl.subject, *(b.condition for b in decl.bands if b.condition is not None)]
        reads = _unique([n.id for x in exprs for n in names_in(x)])
        bands = tuple(
            _Band(
                band.kind,
                band.op or "",
                band.bound if band.bound is not None else 0,
                self.expr(band.condition) if band.condition is not None else None,
                frozenset(o.id for o in band.options),
                frozenset(o.id for o in band.options) == {"yes", "no"},
                band.points,
                _band_text(band),
            )
            for band in decl.bands
        )
        rows = None
        if all(band.kind != "when" for band in decl.bands):
            rows = tuple((_row_test(band), band.points) for band in decl.bands)
        return _ValueCode(vp, None, self.name(decl.subject.id), bands, rows, reads, location)

    # -- cached result pieces
    def decided_by(self, s: SectionPlan, criterion: CriterionPlan) -> tuple[str, m.DecidedBy]:
        key = (s.node, criterion.node)
        cached = self.decided.get(key)
        if cached is None:
            how = "any of" if s.mode == "any" else "all of"
            explanation = (
                f"section '{_target_text(s.target)}' ({how}) holds: "
                f"{'criterion' if s.mode == 'any' else 'last criterion'} "
                f"'{criterion.text}' is yes ({self.where(criterion.span)})"
            )
            cached = (
                explanation,
                m.DecidedBy(
                    kind="criterion",
                    section=s.node,
                    criterion=criterion.node,
                    location=self.where(criterion.span),
                    text=criterion.text,
                    explanation=explanation,
                ),
            )
            self.decided[key] = cached
        return cached

    def disposition(self, d: DispositionPlan, advice: list[str]) -> m.Disposition:
        key = (d.id, tuple(advice))
        cached = self.dispositions.get(key)
        if cached is None:
            cached = m.Disposition(id=d.id, label=d.label, care_advice=advice, location=self.where(d.span))
            self.dispositions[key] = cached
        # A fresh copy: a result's lists belong to it alone.
        fresh: m.Disposition = _disposition({**cached.__dict__, "care_advice": list(cached.care_advice)})
        return fresh

    def escalation(self, d: DispositionPlan) -> m.EscalationPlan | None:
        cached = self.escalations.get(d.id)
        if cached is None:
            return None
        fresh: m.EscalationPlan = _escalation({**cached.__dict__, "steps": list(cached.steps)})
        return fresh

    def question_info(self, qid: str) -> m.QuestionInfo:
        info = self.infos.get(qid)
        if info is None:
            info = question_info(self.questions_all[qid], self.where)
            self.infos[qid] = info
        return info.model_copy(update={"options": list(info.options)})

    def clean(self, answers: Mapping[str, Any]) -> dict[str, Clean] | None:
        """The clean answers when every one is plainly valid, else None (then the general
        validator decides, with its messages)."""
        checkers = self.checkers
        clean: dict[str, Clean] = {}
        for key, value in answers.items():
            check = checkers.get(key)
            if check is None:
                return None
            if value is None:
                continue
            cleaned = check(value)
            if cleaned is _MISS:
                return None
            clean[key] = cleaned
        return clean


def _row_test(band: ast.Band) -> Callable[[Any], bool]:
    """A points row's test of a concrete subject (the rows of ``Evaluation.points``)."""
    if band.kind == "else":
        return lambda subject: True
    if band.kind == "compare":
        assert band.op is not None and band.bound is not None
        bound = band.bound
        fbound = float(bound)
        return {
            "<": lambda s: float(s) < fbound,
            "<=": lambda s: float(s) <= fbound,
            ">": lambda s: float(s) > fbound,
            ">=": lambda s: float(s) >= fbound,
            "=": lambda s: bool(s == bound),
            "!=": lambda s: bool(s != bound),
        }[band.op]
    ids = frozenset(o.id for o in band.options)

    def options(s: Any) -> bool:
        if s is True or s is False:
            return ("yes" if s else "no") in ids
        return s in ids

    return options


def _fast_check(q: QuestionPlan) -> Callable[[Any], Any]:
    """The common valid answers of one question, cleaned; anything else is _MISS."""
    unknown: Any = UNKNOWN if q.unknown_allowed else _MISS
    if q.type == "yes/no":

        def yes_no(value: Any) -> Any:
            if value is True or value is False:
                return value
            return unknown if type(value) is str and value == "unknown" else _MISS

        return yes_no
    if q.type == "choice":
        options = frozenset(q.option_ids)

        def choice(value: Any) -> Any:
            if type(value) is str:
                if value in options:
                    return value
                if value == "unknown":
                    return unknown
            return _MISS

        return choice
    if q.is_time:  # an age or duration in words ("11 weeks"), read once per text
        read: dict[str, Any] = {}

        def time(value: Any) -> Any:
            if type(value) is not str:
                return _MISS  # objects and dates of birth: the general validator
            if value == "unknown":
                return unknown
            cleaned = read.get(value)
            if cleaned is None:
                answer, problem = check_answer(q, value)  # no clock: a date of birth is _MISS
                cleaned = _MISS if problem is not None else answer
                if len(read) < 4096:
                    read[value] = cleaned
            return cleaned

        return time
    assert q.low is not None and q.high is not None
    low, high = q.low, q.high
    whole = q.type == "whole number"

    def number(value: Any) -> Any:
        t = type(value)
        if t is int or (t is float and not whole):
            if low <= value <= high:  # false for NaN; infinities are out of range
                return value
            return _MISS
        if t is str and value == "unknown":
            return unknown
        return _MISS

    return number


def _domain(q: QuestionPlan, missing: tuple[str, ...] = (), unknown: tuple[str, ...] = ()) -> v.Partial:
    if q.type == "yes/no":
        return v.Partial("bool", missing=missing, unknown=unknown)
    if q.type == "choice":
        return v.Partial("choice", options=frozenset(q.option_ids), missing=missing, unknown=unknown)
    assert q.low is not None and q.high is not None
    return v.Partial("number", low=q.low, high=q.high, missing=missing, unknown=unknown)


_COMPILE_LOCK = threading.Lock()


def program(protocol: Any) -> Program:
    """The protocol's compiled program (built once, then shared)."""
    cache = protocol.plan.compiled
    compiled = cache.get("program")
    if compiled is None:
        with _COMPILE_LOCK:
            compiled = cache.get("program")
            if compiled is None:
                compiled = Program(protocol)
                cache["program"] = compiled
    return compiled  # type: ignore[no-any-return]


class Evaluation:
    """The state of one evaluation; a plan is shared, this is not.

    ``quiet`` evaluates without recording anything (look-ahead, the analyses);
    ``tracing=False`` records the answers read and the assumptions but builds no trace.
    """

    def __init__(
        self,
        protocol: Any,
        answers: Mapping[str, Clean],
        trace: list[m.TraceEntry],
        asked: list[str],
        *,
        tracing: bool = True,
    ) -> None:
        self.protocol = protocol
        self.program = program(protocol)
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
            _entry(
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
                        m.Assumption(
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
                        shown = readable(answer, q.type)
                        self.record(
                            "answer",
                            q.node,
                            self.program.locations[qid],
                            q.prompt,
                            reads={qid: answer.text},
                            value=float(answer),
                            detail=f"answered {answer.text}"
                            + ("" if shown == answer.text else f" ({shown})"),
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
            missing = self.in_protocol_order(v.merge(*(u.missing for u in undecided)))
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
                later = self.in_protocol_order(v.merge(*(u.missing for u in undecided)))
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
                    m.Assumption(
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
            "raised_by": m.RaisedBy(
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
                        m.Assumption(
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
                    m.DecidedBy(
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
            missing = self.in_protocol_order(v.merge(*(u.missing for u in undecided)))
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
            m.DecidedBy(
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


def _all_advice(s: SectionPlan | FloorPlan) -> tuple[str, ...]:
    return tuple(a for c in s.criteria for a in c.advice)


def _within(d: DispositionPlan) -> str:
    return f", {d.within_text}" if d.within_text else ""


def _no_detail(s: SectionPlan | FloorPlan, criterion: CriterionPlan | None, where: Locator) -> str:
    if s.mode == "any":
        false = "; ".join(f"'{c.text}' ({where(c.span)})" for c in s.criteria)
        return f"none of its criteria holds: {false} are all no"
    if criterion is None:
        return ""
    return f"criterion '{criterion.text}' ({where(criterion.span)}) does not hold"


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
        if band.unit is not None:
            return f"{band.op} {band.amount} {band.unit}"
        return f"{band.op} {band.bound:g}"
    if band.kind == "options":
        return ", ".join(o.id for o in band.options)
    if band.kind == "when":
        return "when ..."
    return "else"


# --------------------------------------------------------------------- result assembly


class Locator:
    """``path:line`` of a span, the path relative to the protocol's root folder (what
    results show: the same bytes whatever the working directory)."""

    def __init__(self, protocol: Any) -> None:
        self._relative: Callable[[str], str] = getattr(protocol, "relative", lambda path: path)
        self._paths: dict[str, str] = {}

    def path(self, path: str) -> str:
        found = self._paths.get(path)
        if found is None:
            found = self._paths[path] = self._relative(path)
        return found

    def __call__(self, span: Span) -> str:
        return f"{self.path(span.path)}:{span.line}"

    def location(self, location: str) -> str:
        """A ``path:line`` text made the same way."""
        path, _, line = location.rpartition(":")
        return f"{self.path(path)}:{line}" if path else location


def protocol_ref(protocol: Any) -> m.ProtocolRef:
    relative = getattr(protocol, "relative", None)
    return m.ProtocolRef(
        id=protocol.id,
        title=protocol.title,
        version=protocol.version,
        path=relative(protocol.path) if relative else protocol.path,
        sha256=protocol.sha256,
        content_sha256=getattr(protocol, "content_sha256", None),
        status=getattr(protocol, "status", None),
    )


def question_info(q: QuestionPlan, where: Callable[[Span], str] | None = None) -> m.QuestionInfo:
    return m.QuestionInfo(
        id=q.id,
        prompt=q.prompt,
        help=q.help,
        type=q.type,
        unit=q.unit,
        range=(q.low, q.high) if q.low is not None and q.high is not None else None,
        range_text=q.time_range_text() if q.is_time else None,
        options=[m.OptionInfo(id=o, label=label) for o, label in q.options],
        unknown_allowed=q.unknown_allowed,
        location=where(q.span) if where else q.span.location,
    )


def escalation_plan(plan: ast.Escalation, where: Callable[[Span], str] | None = None) -> m.EscalationPlan:
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
        id=plan.id,
        steps=steps,
        fallback=plan.fallback,
        worst_case_minutes=total,
        location=where(plan.span) if where else plan.span.location,
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
    # (protocol id, section index, indexes of its criteria still undecided)
    waiting: tuple[str, int, tuple[int, ...]] | None = None
    raised_by: str | None = None  # file:line of the floor that raised the outcome, if any


def decide(protocol: Any, answers: Mapping[str, Clean]) -> Decision:
    """Evaluate already-validated answers quietly (the engine behind the analyses).

    ``answers`` map question ids to clean values (``UNKNOWN`` for "does not know").
    """
    evaluation = Evaluation(protocol, answers, [], [], tracing=False)
    evaluation.quiet = True
    outcome = evaluation.run()
    read = tuple(evaluation.used)
    if outcome["status"] != "complete":
        return Decision(
            "needs_answers", None, None, None, None, tuple(outcome["missing"]), read, outcome.get("waiting")
        )
    d: DispositionPlan = outcome["disposition"]
    decided: m.DecidedBy = outcome["decided_by"]
    raised: m.RaisedBy | None = outcome.get("raised_by")
    return Decision(
        "complete",
        d.id,
        d.tier.rank,
        decided.section,
        decided.criterion,
        (),
        read,
        raised_by=raised.floor_location if raised is not None else None,
    )


def _outside_population(
    protocol: Any, population: PopulationPlan, clean: Mapping[str, Clean], trace: bool
) -> m.TriageResult | None:
    """The error result for a patient's age outside the protocol's population, or None."""
    qid = population.question
    answer = clean.get(qid)
    if not isinstance(answer, TimeAnswer) or population.low <= answer <= population.high:
        return None
    given = answer_json(answer)
    message = (
        f"{qid} = {given} is outside this protocol's population: {population.text}; "
        "use a protocol for this age group"
    )
    entries = []
    if trace:
        q = program(protocol).questions_all[qid]
        entries = [
            _entry(
                1,
                "answer",
                q.node,
                protocol.id,
                program(protocol).where(q.span),
                q.prompt,
                {qid: given},
                float(answer),
                f"answered {given}",
                None,
            ),
            _entry(
                2,
                "population",
                "population",
                protocol.id,
                program(protocol).where.location(population.location),
                f"population {population.text}",
                {qid: given},
                False,
                message,
                None,
            ),
        ]
    return m.TriageResult(
        protocol=program(protocol).ref,
        status="error",
        error=message,
        errors=[m.AnswerProblem(question=qid, code="outside_population", message=message)],
        answers={qid: given},
        trace=entries,
    )


def _age_first(population: PopulationPlan, answers: Mapping[str, Any], outcome: dict[str, Any]) -> None:
    """An unanswered patient age is asked first while the outcome waits: the population
    decides whether this protocol applies at all."""
    qid = population.question
    if answers.get(qid) is None and outcome["status"] == "needs_answers":
        outcome["missing"] = [qid, *(q for q in outcome["missing"] if q != qid)]


def _population_step(evaluation: Evaluation, population: PopulationPlan, outcome: dict[str, Any]) -> None:
    """The population check in the trace; an unanswered age is asked first."""
    qid = population.question
    answer = evaluation.answers.get(qid)
    reads: dict[str, _JSON] = {}
    value: _JSON = None
    if answer is None and outcome["status"] == "needs_answers":
        _age_first(population, evaluation.answers, outcome)
        detail = f"'{qid}' is asked first: this protocol's population is {population.text}"
    elif answer is None:
        detail = (
            f"not checked: '{qid}' was not answered and the outcome did not need it "
            f"(this protocol's population is {population.text})"
        )
    else:
        evaluation.used[qid] = None  # the answer was read: it belongs in the record
        reads = {qid: answer_json(answer)}
        if answer is UNKNOWN:
            detail = f"not checked: the caller does not know '{qid}' (population {population.text})"
        else:
            value = True
            detail = f"{qid} = {answer_json(answer)} is within this protocol's population: {population.text}"
    evaluation.record(
        "population",
        "population",
        evaluation.program.where.location(population.location),
        f"population {population.text}",
        reads=reads,
        value=value,
        detail=detail,
    )


def evaluate_protocol(
    protocol: Any, answers: Mapping[str, Any], *, trace: bool = True, now: datetime | None = None
) -> m.TriageResult:
    """Evaluate ``protocol`` against ``answers`` (JSON-like values). Never raises on bad answers.

    ``now`` (an aware datetime) is the evaluation's clock: it turns a date of birth into
    an age; without it a date of birth is refused."""
    compiled = program(protocol)
    ref = compiled.ref
    if not isinstance(answers, Mapping):
        return m.TriageResult(
            protocol=ref,
            status="error",
            error="answers must be a JSON object of question id -> answer",
            errors=[m.AnswerProblem(question="", code="wrong_type", message="answers must be a JSON object")],
        )
    clean = compiled.clean(answers)
    if clean is None:
        clean, problems = validate(protocol.plan, answers, now)
        if problems:
            return m.TriageResult(
                protocol=ref, status="error", error="; ".join(p.message for p in problems), errors=problems
            )
    population = protocol.plan.population
    if population is not None:
        refused = _outside_population(protocol, population, clean, trace)
        if refused is not None:
            return refused
    entries: list[m.TraceEntry] = []
    asked: list[str] = []
    evaluation = Evaluation(protocol, clean, entries, asked, tracing=trace)
    outcome = evaluation.run()
    if population is not None:
        _population_step(evaluation, population, outcome)
    scores = evaluation.scores()
    used: dict[str, Any] = {}
    for q in asked:
        if q in clean:
            used[q] = _answer_json(clean[q])
    for q in evaluation.used:
        if q in clean and q not in used:
            used[q] = _answer_json(clean[q])
    common: dict[str, Any] = {
        "protocol": ref,
        "scores": scores,
        "answers": used,
        "asked": asked,
        "assumptions": evaluation.assumptions,
        "trace": entries,
    }
    if outcome["status"] == "needs_answers":
        missing: list[str] = outcome["missing"]
        common["status"] = "needs_answers"
        common["missing"] = missing
        common["next_question"] = compiled.question_info(missing[0]) if missing else None
        needs: m.TriageResult = _triage_result(common)
        return needs
    d: DispositionPlan = outcome["disposition"]
    criterion_advice = outcome["criterion_advice"]
    advice = [*criterion_advice, *(a for a in d.advice if a not in criterion_advice)]
    common["status"] = "complete"
    common["disposition"] = compiled.disposition(d, advice)
    common["urgency"] = compiled.urgencies[d.id]
    common["escalation"] = compiled.escalation(d)
    common["decided_by"] = outcome["decided_by"]
    if "raised_by" in outcome:
        common["raised_by"] = outcome["raised_by"]
    complete: m.TriageResult = _triage_result(common)
    return complete
