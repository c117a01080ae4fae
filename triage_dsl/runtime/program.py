"""A plan compiled into closures: the :class:`Program` the interpreter walks.

On first use a plan is compiled -- every expression a Python closure (comparisons against
constants specialised, concrete values short-circuiting the partial-value operations),
every points table a list of row tests, the names each trace step reads, the result
pieces that depend only on the protocol (validated once) -- and kept in
``plan.compiled``. Nothing from a protocol is passed to eval or exec.
"""

from __future__ import annotations

import math
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
from triage_dsl.runtime import values as v
from triage_dsl.runtime.answers import (
    UNKNOWN,
    UNKNOWN_WORD,
    Clean,
    TimeAnswer,
    all_questions,
    check_answer,
    printable,
)
from triage_dsl.runtime.build import (
    Locator,
    Models,
    Shape,
    _band_text,
    _target_text,
    escalation_plan,
    models,
    protocol_ref,
    question_info,
    urgency,
)
from triage_dsl.syntax import ast
from triage_dsl.units import MAX_WHOLE_MINUTES, WHOLE_FACTORS, plural

if TYPE_CHECKING:
    from triage_dsl.model import result as m
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


class _Final(NamedTuple):
    """What a complete result with one disposition and advice is built from."""

    result: Shape  # the result's fields given, and those the same in every such result
    raised: Shape  # the same, raised by a floor
    disposition: dict[str, Any]  # the disposition's fields, copied into each result's
    make_disposition: Callable[[dict[str, Any]], m.Disposition]
    escalation: dict[str, Any] | None  # the escalation plan's fields, likewise
    make_escalation: Callable[[dict[str, Any]], m.EscalationPlan]


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
    between threads).

    ``kinds`` are the result classes it builds: the pydantic models, or the plain ones
    (:mod:`triage_dsl.model.plain`) for a command that never imports pydantic."""

    def __init__(self, protocol: Any, kinds: Models | None = None) -> None:
        plan: Plan = protocol.plan
        self.plan = plan
        self.kinds = kinds = kinds or models()
        self.m: Any = kinds.m
        self.protocol_id = plan.protocol_id
        self.where = Locator(protocol)
        self.ref = protocol_ref(protocol, kinds)
        self.questions_all = all_questions(plan)
        self.order = plan.question_order
        self.missing_domain = {qid: _domain(q, missing=(qid,)) for qid, q in plan.questions.items()}
        self.unknown_domain = {qid: _domain(q, unknown=(qid,)) for qid, q in plan.questions.items()}
        self.locations = {qid: self.where(q.span) for qid, q in plan.questions.items()}
        self.checkers = {qid: _fast_check(q) for qid, q in self.questions_all.items()}
        self.plainly = _Plainly(self.questions_all)
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
        self.urgencies = {d.id: urgency(d, kinds) for d in reachable}
        self.escalations = {
            d.id: escalation_plan(d.escalation, self.where, kinds) for d in reachable if d.escalation
        }
        self.dispositions: dict[tuple[str, tuple[str, ...]], m.Disposition] = {}
        self.infos: dict[str, m.QuestionInfo] = {}
        self.finals: dict[tuple[str, tuple[str, ...]], _Final] = {}

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
                self.m.DecidedBy(
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

    def _disposition(self, d: DispositionPlan, advice: list[str]) -> m.Disposition:
        """The disposition with ``advice``, made once (a template: never handed out)."""
        key = (d.id, tuple(advice))
        cached = self.dispositions.get(key)
        if cached is None:
            cached = self.m.Disposition(
                id=d.id, label=d.label, care_advice=advice, location=self.where(d.span)
            )
            self.dispositions[key] = cached
        return cached

    def complete(
        self,
        outcome: dict[str, Any],
        scores: dict[str, Any],
        answers: dict[str, Any],
        asked: list[str],
        assumptions: list[m.Assumption],
        entries: list[m.TraceEntry],
    ) -> m.TriageResult:
        """The complete result of ``outcome``: the same fields, values and fields set as
        ``kinds.result`` makes of them, from templates made once per disposition and
        advice (its disposition and escalation plan fresh copies: a result's lists
        belong to it alone)."""
        d: DispositionPlan = outcome["disposition"]
        criterion_advice = outcome["criterion_advice"]
        final = self.finals.get((d.id, tuple(criterion_advice)))
        if final is None:
            final = self._final(d, criterion_advice)
        result, raised, disposition, make_disposition, escalation, make_escalation = final
        if "raised_by" in outcome:
            result = raised
            data = result.template.copy()
            data["raised_by"] = outcome["raised_by"]
        else:
            data = result.template.copy()
        made = disposition.copy()
        made["care_advice"] = list(made["care_advice"])
        data["disposition"] = make_disposition(made)
        if escalation is not None:
            plan = escalation.copy()
            plan["steps"] = list(plan["steps"])
            data["escalation"] = make_escalation(plan)
        data["scores"] = scores
        data["answers"] = answers
        data["asked"] = asked
        data["assumptions"] = assumptions
        data["trace"] = entries
        data["decided_by"] = outcome["decided_by"]
        built: m.TriageResult = result.make(data)
        return built

    def _final(self, d: DispositionPlan, criterion_advice: Any) -> _Final:
        advice = [*criterion_advice, *(a for a in d.advice if a not in criterion_advice)]
        disposition = self._disposition(d, advice).__dict__
        escalation = self.escalations.get(d.id)
        plan = escalation.__dict__ if escalation is not None else None
        kinds = self.kinds
        fixed = {"protocol": self.ref, "status": "complete", "urgency": self.urgencies[d.id]}
        given = (
            *fixed,
            "scores",
            "answers",
            "asked",
            "assumptions",
            "trace",
            "disposition",
            "escalation",
            "decided_by",
        )
        final = _Final(
            Shape(kinds.result, given, fixed),
            Shape(kinds.result, (*given, "raised_by"), fixed),
            disposition,
            Shape(kinds.disposition, tuple(disposition)).make,
            plan,
            Shape(kinds.escalation, tuple(plan) if plan is not None else ()).make,
        )
        self.finals[(d.id, tuple(criterion_advice))] = final
        return final

    def question_info(self, qid: str) -> m.QuestionInfo:
        """``qid`` as an agent's screen shows it: one instance per question, shared by
        every result and session (frozen, its options read-only)."""
        info = self.infos.get(qid)
        if info is None:
            info = question_info(self.questions_all[qid], self.where, self.kinds)
            self.infos[qid] = info
        return info

    def clean(self, answers: Mapping[str, Any]) -> dict[str, Clean] | None:
        """The clean answers when every one is plainly valid, else None (then the general
        validator decides, with its messages)."""
        checked = self.clean_plain(answers)
        return None if checked is None else checked[0]

    def clean_plain(self, answers: Mapping[str, Any]) -> tuple[dict[str, Clean], bool] | None:
        """:meth:`clean`, and whether every clean answer is its JSON as given (no age or
        duration, no "unknown"): then the result's answers are the clean ones as they are.

        The common answers are taken by the value's type without a call (a bool for a
        yes/no question, an int in range for a number, a float in range for a number
        that need not be whole, an option id for a choice); anything else goes to the
        question's checker (:func:`_fast_check`), which gives ``check_answer``'s clean
        value or MISS. ``tests/runtime/test_fast_answers.py`` checks the two agree."""
        plainly = self.plainly
        yes_no, integers, floats, choices = plainly.yes_no, plainly.integers, plainly.floats, plainly.choices
        checkers = self.checkers
        # A dict is copied at once (in C) and its other answers are put right in place:
        # the same keys in the same order as built one by one, the unanswered removed.
        copied = type(answers) is dict
        clean: dict[str, Clean] = answers.copy() if copied else {}  # type: ignore[attr-defined]
        as_given = True
        for key, value in answers.items():
            t = type(value)
            if type(key) is not str:  # a key merely equal to a question id: the validator
                return None
            if t is bool:
                if key in yes_no:
                    if not copied:
                        clean[key] = value
                    continue
            elif t is int:
                bounds = integers.get(key)
                if bounds is not None and bounds[0] <= value <= bounds[1]:
                    if not copied:
                        clean[key] = value
                    continue
            elif t is float:
                bounds = floats.get(key)
                if bounds is not None and bounds[0] <= value <= bounds[1]:  # false for NaN
                    if not copied:
                        clean[key] = value
                    continue
            elif t is str:
                options = choices.get(key)
                if options is not None and value in options:
                    if not copied:
                        clean[key] = value
                    continue
            check = checkers.get(key)
            if check is None:
                return None
            if value is None:
                if copied:
                    del clean[key]
                continue
            cleaned = check(value)
            if cleaned is MISS:
                return None
            if cleaned is UNKNOWN or type(cleaned) is TimeAnswer:
                as_given = False
            clean[key] = cleaned
        return clean, as_given


class _Plainly:
    """The questions whose common answers :meth:`Program.clean_plain` takes by type:
    yes/no questions; numbers with their range (an int; a float when the number need
    not be whole and the range is finite, so an infinity is never in it); the option ids
    of choices ("unknown" is never one: the checker refuses it as an option)."""

    __slots__ = ("choices", "floats", "integers", "yes_no")

    def __init__(self, questions: Mapping[str, QuestionPlan]) -> None:
        self.yes_no = frozenset(qid for qid, q in questions.items() if q.type == "yes/no")
        self.integers: dict[str, tuple[float, float]] = {}
        self.floats: dict[str, tuple[float, float]] = {}
        self.choices: dict[str, frozenset[str]] = {}
        for qid, q in questions.items():
            if q.type in ("number", "whole number") and q.low is not None and q.high is not None:
                self.integers[qid] = (q.low, q.high)
                if q.type == "number" and math.isfinite(q.low) and math.isfinite(q.high):
                    self.floats[qid] = (q.low, q.high)
            elif q.type == "choice":
                self.choices[qid] = frozenset(q.option_ids) - {UNKNOWN_WORD}


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


def program(protocol: Any, plain: bool = False) -> Program:
    """The protocol's compiled program (built once, then shared); ``plain``: the one
    that builds plain results (:mod:`triage_dsl.model.plain`), kept apart."""
    cache = protocol.plan.compiled
    name = "program-plain" if plain else "program"
    compiled = cache.get(name)
    if compiled is None:
        with _COMPILE_LOCK:
            compiled = cache.get(name)
            if compiled is None:
                compiled = Program(protocol, models(plain))
                cache[name] = compiled
    return compiled  # type: ignore[no-any-return]
