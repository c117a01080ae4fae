"""A plan compiled into closures: the :class:`Program` the interpreter walks.

On first use a plan is compiled -- every expression a Python closure (comparisons against
constants specialised, concrete values short-circuiting the partial-value operations),
every points table a list of row tests, the names each trace step reads, the result
pieces that depend only on the protocol (validated once) -- and kept in
``plan.compiled``. Nothing from a protocol is passed to eval or exec.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from triage_dsl.check.walk import names as names_in
from triage_dsl.graph.plan import (
    CriterionPlan,
    DispositionPlan,
    Plan,
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
    check_answer,
    printable,
)
from triage_dsl.runtime.build import (
    Locator,
    _band_text,
    _disposition,
    _escalation,
    _target_text,
    escalation_plan,
    protocol_ref,
    question_info,
    urgency,
)
from triage_dsl.syntax import ast
from triage_dsl.units import MAX_WHOLE_MINUTES, WHOLE_FACTORS, plural

if TYPE_CHECKING:
    from triage_dsl.runtime.evaluation import Evaluation

Code = Callable[["Evaluation"], v.Value]
_Partial = v.Partial
MISS: Any = object()
"""Not there (a memo without the value, an answer the fast check cannot clean): a marker
that is no answer and no value, compared with ``is``."""


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
                value = ev.read.get(name_id, MISS)
                return ev.question(question) if value is MISS else value

            return read_question

        def read_value(ev: Evaluation) -> v.Value:
            value = ev.memo.get(name_id, MISS)
            return ev.value(name_id) if value is MISS else value

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
        """``qid`` as an agent's screen shows it: one instance per question, shared by
        every result and session (frozen, its options read-only)."""
        info = self.infos.get(qid)
        if info is None:
            info = question_info(self.questions_all[qid], self.where)
            self.infos[qid] = info
        return info

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
            if cleaned is MISS:
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
    """The common valid answers of one question, cleaned; anything else is MISS."""
    unknown: Any = UNKNOWN if q.unknown_allowed else MISS
    if q.type == "yes/no":

        def yes_no(value: Any) -> Any:
            if value is True or value is False:
                return value
            return unknown if type(value) is str and value == "unknown" else MISS

        return yes_no
    if q.type == "choice":
        options = frozenset(q.option_ids)

        def choice(value: Any) -> Any:
            if type(value) is str:
                if value in options:
                    return value
                if value == "unknown":
                    return unknown
            return MISS

        return choice
    if q.is_time:  # an age or duration in words ("11 weeks"), read once per text
        read: dict[str, Any] = {}
        object_answer = _whole_time(q)

        def time(value: Any) -> Any:
            if type(value) is not str:
                # {"value": 11, "unit": "weeks"}; other objects and dates of birth: the
                # general validator
                return object_answer(value) if type(value) is dict else MISS
            if value == "unknown":
                return unknown
            cleaned = read.get(value)
            if cleaned is None:
                answer, problem = check_answer(q, value)  # no clock: a date of birth is MISS
                cleaned = MISS if problem is not None else answer
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
            return MISS
        if t is str and value == "unknown":
            return unknown
        return MISS

    return number


def _whole_time(q: QuestionPlan) -> Callable[[dict[Any, Any]], Any]:
    """An age or duration given as ``{"value": <integer>, "unit": <unit>}`` within the
    question's range, read as ``check_answer`` reads it (whole minutes, the words
    ``<integer> <unit as given>``); anything else is MISS (the general validator)."""
    assert q.low is not None and q.high is not None
    low, high = q.low, q.high
    units: dict[str, tuple[int, str]] = {}  # the unit as given -> its minutes, " <unit>"

    def whole(value: dict[Any, Any]) -> Any:
        if len(value) != 2:
            return MISS
        amount, unit = value.get("value"), value.get("unit")
        # an integer of at most 20 digits: written as it is (``describe``)
        if type(amount) is not int or type(unit) is not str or not -(10**20) < amount < 10**20:
            return MISS
        known = units.get(unit)
        if known is None:
            name = plural(unit)
            factor = WHOLE_FACTORS.get(name) if name is not None else None
            if factor is None:
                return MISS
            known = (factor, f" {printable(unit)}")
            if len(units) < 64:
                units[unit] = known
        minutes = amount * known[0]
        if minutes < 0 or minutes > MAX_WHOLE_MINUTES or not low <= minutes <= high:
            return MISS
        return TimeAnswer(float(minutes), f"{amount}{known[1]}")

    return whole


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
