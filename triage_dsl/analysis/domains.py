"""Answer domains split into classes: the finite answer space the analyses explore.

For each question, the comparisons the decision graph makes on it (criteria, values and
points-table rows, read off the plan) cut its domain into *atoms*: the points named by a
threshold and the open intervals between them, the options of a choice, yes and no, and
"unknown" where the caller may not know. Atoms on which every test of the question gives
the same result are merged into one *class*; one representative answer stands for the
whole class, because the interpreter cannot tell its members apart. This is exact as long
as every comparison involves at most one number answer, linearly (``2 * temp_c + 1 > 77``
is fine; ``sbp - dbp < 25`` is not): :class:`NotSeparable` says where that fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from triage_dsl.check.walk import children
from triage_dsl.graph.plan import Plan, QuestionPlan, blocks, plans
from triage_dsl.runtime.answers import UNKNOWN, Clean, TimeAnswer, all_questions
from triage_dsl.source import Span
from triage_dsl.syntax import ast
from triage_dsl.units import FACTORS, best_unit, in_unit, quantity_text


class NotSeparable(Exception):
    """A comparison combines several number answers: the interval analysis is not exact."""

    def __init__(self, span: Span, questions: tuple[str, ...]) -> None:
        self.span = span
        self.questions = questions
        super().__init__(
            f"{span.where}: this comparison combines the number answers {', '.join(questions)}; "
            "the analyses split each answer's range separately and cannot be exact here"
        )


@dataclass(frozen=True)
class Atom:
    """A closed point ``[low, low]`` or an open interval ``(low, high)`` of a number domain."""

    low: float
    high: float

    @property
    def is_point(self) -> bool:
        return self.low == self.high

    def contains(self, x: float) -> bool:
        return x == self.low if self.is_point else self.low < x < self.high


@dataclass(frozen=True)
class AnswerClass:
    """Answers the protocol cannot tell apart: a union of atoms, options, or one value."""

    question: str
    kind: str  # "number" | "choice" | "yes/no" | "unknown"
    atoms: tuple[Atom, ...] = ()
    options: tuple[str, ...] = ()
    value: Clean | None = None
    representative: Clean = field(default=False)
    # An age or duration (values in minutes): how to write a number of minutes, the
    # thresholds in the units the protocol wrote them in (``3 months``).
    labels: tuple[tuple[float, str], ...] | None = None

    def number_text(self, x: float) -> str:
        """A bound of this class as the protocol would write it."""
        if self.labels is None:
            return _fmt(x)
        return time_label(x, self.labels)

    def contains(self, answer: Clean) -> bool:
        if answer is UNKNOWN or self.kind == "unknown":
            return self.kind == "unknown" and answer is UNKNOWN
        if self.kind == "number":
            return (
                not isinstance(answer, bool)
                and isinstance(answer, int | float)
                and any(a.contains(float(answer)) for a in self.atoms)
            )
        if self.kind == "choice":
            return answer in self.options
        return answer is self.value

    def describe(self) -> str:
        if self.kind == "unknown":
            return "unknown"
        if self.kind == "yes/no":
            return "yes" if self.value else "no"
        if self.kind == "choice":
            return ", ".join(self.options)
        return " or ".join(_atom_text(a, self.number_text) for a in _merge_atoms(self.atoms))


def _fmt(x: float) -> str:
    return f"{x:g}"


def time_label(minutes: float, labels: tuple[tuple[float, str], ...] = ()) -> str:
    """Minutes as a time: the protocol's own words for a threshold it names, else the
    largest unit that states it whole (``77 days`` is ``11 weeks``), else a readable form."""
    for value, text in labels:
        if value == minutes:
            return text
    exact = Fraction(str(minutes))
    return in_unit(exact, best_unit(exact))


def _merge_atoms(atoms: tuple[Atom, ...]) -> list[Atom]:
    """Adjacent atoms as intervals; a point between two intervals joins them."""
    merged: list[list[Any]] = []  # [low, high, low_closed, high_closed]
    for atom in sorted(atoms, key=lambda a: (a.low, a.high)):
        closed = atom.is_point
        if merged and merged[-1][1] == atom.low and (merged[-1][3] or closed):
            merged[-1][1] = atom.high
            merged[-1][3] = closed
            continue
        merged.append([atom.low, atom.high, closed, closed])
    return [_Interval(m[0], m[1], m[2], m[3]) for m in merged]


@dataclass(frozen=True)
class _Interval(Atom):
    low_closed: bool = True
    high_closed: bool = True


def _atom_text(a: Atom, fmt: Any = _fmt) -> str:
    if isinstance(a, _Interval):
        if a.low == a.high:
            return str(fmt(a.low))
        left = "[" if a.low_closed else "("
        right = "]" if a.high_closed else ")"
        return f"{left}{fmt(a.low)}, {fmt(a.high)}{right}"
    return str(fmt(a.low)) if a.is_point else f"({fmt(a.low)}, {fmt(a.high)})"


def interval_text(atoms: tuple[Atom, ...]) -> list[tuple[float, float, bool, bool]]:
    """The class as merged intervals ``(low, high, low_closed, high_closed)``."""
    out = []
    for m in _merge_atoms(atoms):
        assert isinstance(m, _Interval)
        out.append((m.low, m.high, m.low_closed, m.high_closed))
    return out


# ------------------------------------------------------------------ collecting tests


Linear = tuple[Fraction, Fraction, str | None]  # coef * question + constant


class _Tests:
    """Every test the plan makes on each question: thresholds and option sets."""

    def __init__(self, plan: Plan, questions: dict[str, QuestionPlan], values: dict[str, Any]) -> None:
        self.plan = plan
        self.questions = questions
        self.values = values
        self.thresholds: dict[str, set[Fraction]] = {}
        self.number_tests: dict[str, list[tuple[str, Fraction, Fraction]]] = {}  # op, coef, bound
        self.option_sets: dict[str, set[frozenset[str]]] = {}
        # Thresholds written as times (``3 months``), in the author's words.
        self.labels: dict[str, dict[Fraction, str]] = {}
        self.linear_cache: dict[str, Linear | None] = {}

    def linear(self, e: ast.Expr) -> Linear | None:
        """``e`` as coef * q + c in at most one number question, or None if not linear."""
        if isinstance(e, ast.NumberLit):
            return (Fraction(0), Fraction(str(e.value)), None)
        if isinstance(e, ast.Name):
            q = self.questions.get(e.id)
            if q is not None:
                return (Fraction(1), Fraction(0), e.id) if q.type in ast.NUMERIC_TYPES else None
            if e.id in self.linear_cache:
                return self.linear_cache[e.id]
            decl = self.values.get(e.id)
            result = None
            if isinstance(decl, ast.Value):
                self.linear_cache[e.id] = None  # cycles are refused by the checker
                result = self.linear(decl.expr)
            elif isinstance(decl, ast.Points):
                result = (Fraction(0), Fraction(0), None)  # a points value: constant per class
            self.linear_cache[e.id] = result
            return result
        if isinstance(e, ast.Negate):
            inner = self.linear(e.operand)
            return None if inner is None else (-inner[0], -inner[1], inner[2])
        if isinstance(e, ast.Arith):
            left, right = self.linear(e.left), self.linear(e.right)
            if left is None or right is None:
                return None
            if e.op in ("+", "-"):
                sign = 1 if e.op == "+" else -1
                if left[2] and right[2] and left[2] != right[2] and left[0] and right[0]:
                    return None
                name = left[2] if left[0] else right[2] if right[0] else None
                return (left[0] + sign * right[0], left[1] + sign * right[1], name)
            if left[0] and right[0]:
                return None
            if left[0]:
                return (left[0] * right[1], left[1] * right[1], left[2])
            return (right[0] * left[1], right[1] * left[1], right[2])
        return (Fraction(0), Fraction(0), None)  # counts, conditionals of points: no raw answer

    def raw_numbers(self, e: ast.Expr, seen: set[str] | None = None) -> set[str]:
        """Number questions whose value flows arithmetically into ``e``."""
        seen = seen if seen is not None else set()
        if isinstance(e, ast.Name):
            q = self.questions.get(e.id)
            if q is not None:
                return {e.id} if q.type in ast.NUMERIC_TYPES else set()
            decl = self.values.get(e.id)
            if isinstance(decl, ast.Value) and e.id not in seen:
                seen.add(e.id)
                return self.raw_numbers(decl.expr, seen)
            return set()
        if isinstance(e, ast.Compare | ast.Member | ast.IsUnknown | ast.Count | ast.And | ast.Or | ast.Not):
            return set()
        if isinstance(e, ast.Conditional):
            return self.raw_numbers(e.then, seen) | self.raw_numbers(e.otherwise, seen)
        out: set[str] = set()
        for child in children(e):
            out |= self.raw_numbers(child, seen)
        return out

    def add_compare(self, op: str, left: ast.Expr, right: ast.Expr, span: Span) -> None:
        raw = self.raw_numbers(left) | self.raw_numbers(right)
        if not raw:
            return
        a, b = self.linear(left), self.linear(right)
        if len(raw) > 1 or a is None or b is None:
            raise NotSeparable(span, tuple(sorted(raw)))
        coef = a[0] - b[0]
        const = b[1] - a[1]  # coef * q  op  const
        question = next(iter(raw))
        if coef == 0:
            return
        bound = const / coef
        if coef < 0:
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        self.thresholds.setdefault(question, set()).add(bound)
        constant = right if isinstance(right, ast.NumberLit) else left
        if (
            isinstance(constant, ast.NumberLit)
            and constant.unit is not None
            and Fraction(str(constant.value)) == bound
        ):
            text = quantity_text(constant.amount or "", constant.unit)
            self.labels.setdefault(question, {}).setdefault(bound, text)
        self.number_tests.setdefault(question, []).append((op, Fraction(1), bound))

    def walk(self, e: ast.Expr) -> None:
        if isinstance(e, ast.Compare):
            self.add_compare(e.op, e.left, e.right, e.span)
        elif isinstance(e, ast.Member) and isinstance(e.operand, ast.Name):
            self.choice_set(e.operand.id, frozenset(o.id for o in e.options))
        for child in children(e):
            self.walk(child)

    def choice_set(self, name: str, options: frozenset[str]) -> None:
        target = self._choice_source(name)
        if target is not None:
            self.option_sets.setdefault(target, set()).add(options)

    def _choice_source(self, name: str) -> str | None:
        if name in self.questions:
            return name
        decl = self.values.get(name)
        if isinstance(decl, ast.Value) and isinstance(decl.expr, ast.Name):
            return self._choice_source(decl.expr.id)
        return None

    def points(self, p: ast.Points) -> None:
        subject = ast.Name(p.subject.span, p.subject.id)
        for band in p.bands:
            if band.kind == "compare":
                assert band.op is not None and band.bound is not None
                bound = ast.NumberLit(band.span, band.bound, band.unit, band.amount)
                self.add_compare(band.op, subject, bound, band.span)
            elif band.kind == "options":
                self.choice_set(p.subject.id, frozenset(o.id for o in band.options))
            elif band.kind == "when" and band.condition is not None:
                self.walk(band.condition)


def collect(plan: Plan) -> _Tests:
    questions = all_questions(plan)
    values: dict[str, Any] = {}
    for p in plans(plan):
        values.update({vid: v.decl for vid, v in p.values.items()})
    tests = _Tests(plan, questions, values)
    for p in plans(plan):
        for value in p.values.values():
            if isinstance(value.decl, ast.Points):
                tests.points(value.decl)
            else:
                tests.walk(value.decl.expr)
        for block in blocks(p):
            for criterion in block.criteria:
                tests.walk(criterion.expr)
    return tests


# ------------------------------------------------------------------ classes


def holds(op: str, x: Fraction, bound: Fraction) -> bool:
    """``x op bound``, exactly (fractions, not floats)."""
    return {
        "<": x < bound,
        "<=": x <= bound,
        ">": x > bound,
        ">=": x >= bound,
        "=": x == bound,
        "!=": x != bound,
    }[op]


def _nice_between(low: float, high: float, whole: bool) -> float | int | None:
    """A short number strictly between low and high (an integer when possible)."""
    first = math.floor(low) + 1
    if first < high:
        middle = math.floor((low + high) / 2)
        return middle if low < middle < high else first
    if whole:
        return None
    for digits in range(1, 12):
        candidate = round((low + high) / 2, digits)
        if low < candidate < high:
            return candidate
    return (low + high) / 2


def _nice_time_between(low: Fraction, high: Fraction) -> Fraction | None:
    """A whole number of the largest unit strictly between low and high minutes."""
    for unit in ("years", "months", "weeks", "days", "hours", "minutes"):
        factor = FACTORS[unit]
        first = math.floor(low / factor) + 1
        if first * factor < high:
            middle = math.floor((low + high) / 2 / factor)
            return (middle if low < middle * factor < high else first) * factor
    return None


def number_classes(q: QuestionPlan, tests: _Tests) -> list[AnswerClass]:
    assert q.low is not None and q.high is not None
    whole = q.type == "whole number"
    low, high = Fraction(str(q.low)), Fraction(str(q.high))
    if q.is_time:
        return _time_classes(q, tests, low, high)
    cuts = sorted({low, high} | {t for t in tests.thresholds.get(q.id, set()) if low <= t <= high})
    atoms: list[tuple[Atom, Fraction]] = []
    for i, cut in enumerate(cuts):
        if not whole or cut.denominator == 1:
            atoms.append((Atom(float(cut), float(cut)), cut))
        if i + 1 < len(cuts):
            inner = _nice_between(float(cut), float(cuts[i + 1]), whole)
            if inner is not None:
                atoms.append((Atom(float(cut), float(cuts[i + 1])), Fraction(str(inner))))
    signature: dict[tuple[bool, ...], list[tuple[Atom, Fraction]]] = {}
    for atom, sample in atoms:
        sig = tuple(holds(op, sample, bound) for op, _, bound in tests.number_tests.get(q.id, []))
        signature.setdefault(sig, []).append((atom, sample))
    classes = []
    for members in signature.values():
        chosen = _pick(members, low, high)
        value: int | float = int(chosen) if chosen.denominator == 1 else float(chosen)
        classes.append(AnswerClass(q.id, "number", atoms=tuple(a for a, _ in members), representative=value))
    classes.sort(key=lambda c: min(a.low for a in c.atoms))
    return classes


def _time_classes(q: QuestionPlan, tests: _Tests, low: Fraction, high: Fraction) -> list[AnswerClass]:
    """The classes of an age or duration: as for numbers, with representatives that are
    whole units (``6 weeks``) and answers written with their units."""
    written = dict(tests.labels.get(q.id, {}))
    for value, unit in zip((q.low, q.high), q.range_units, strict=True):
        if value is not None and unit is not None:
            written.setdefault(Fraction(str(value)), in_unit(value, unit))
    labels = tuple(sorted((float(k), v) for k, v in written.items()))
    cuts = sorted({low, high} | {t for t in tests.thresholds.get(q.id, set()) if low <= t <= high})
    atoms: list[tuple[Atom, Fraction]] = []
    for i, cut in enumerate(cuts):
        atoms.append((Atom(float(cut), float(cut)), cut))
        if i + 1 < len(cuts):
            inner = _nice_time_between(cut, cuts[i + 1])
            if inner is None:
                between = _nice_between(float(cut), float(cuts[i + 1]), False)
                inner = Fraction(str(between)) if between is not None else None
            if inner is not None:
                atoms.append((Atom(float(cut), float(cuts[i + 1])), inner))
    signature: dict[tuple[bool, ...], list[tuple[Atom, Fraction]]] = {}
    for atom, sample in atoms:
        sig = tuple(holds(op, sample, bound) for op, _, bound in tests.number_tests.get(q.id, []))
        signature.setdefault(sig, []).append((atom, sample))
    classes = []
    for members in signature.values():
        chosen = _pick(members, low, high)
        answer = TimeAnswer(float(chosen), time_label(float(chosen), labels))
        classes.append(
            AnswerClass(
                q.id, "number", atoms=tuple(a for a, _ in members), representative=answer, labels=labels
            )
        )
    classes.sort(key=lambda c: min(a.low for a in c.atoms))
    return classes


def _pick(members: list[tuple[Atom, Fraction]], low: Fraction, high: Fraction) -> Fraction:
    """A readable representative: a threshold the protocol names, else a value inside an
    interval, else an end of the declared range."""
    for atom, rep in members:
        if atom.is_point and low < rep < high:
            return rep
    for atom, rep in members:
        if not atom.is_point:
            return rep
    return members[0][1]


def classes_of(q: QuestionPlan, tests: _Tests) -> list[AnswerClass]:
    out: list[AnswerClass]
    if q.type == "yes/no":
        out = [
            AnswerClass(q.id, "yes/no", value=True, representative=True),
            AnswerClass(q.id, "yes/no", value=False, representative=False),
        ]
    elif q.type == "choice":
        groups: dict[tuple[bool, ...], list[str]] = {}
        sets = sorted(tests.option_sets.get(q.id, set()), key=sorted)
        for option in q.option_ids:
            groups.setdefault(tuple(option in s for s in sets), []).append(option)
        out = [AnswerClass(q.id, "choice", options=tuple(g), representative=g[0]) for g in groups.values()]
    else:
        out = number_classes(q, tests)
    if q.unknown_allowed:
        out.append(AnswerClass(q.id, "unknown", representative=UNKNOWN))
    return out


@dataclass(frozen=True)
class Domains:
    """Every question's classes, in protocol order."""

    classes: dict[str, list[AnswerClass]]
    questions: dict[str, QuestionPlan]


_DOMAINS: dict[int, tuple[Plan, Domains]] = {}


def domains(plan: Plan) -> Domains:
    """Split every question's answers into classes (raises NotSeparable); cached per plan,
    since a compiled plan never changes."""
    cached = _DOMAINS.get(id(plan))
    if cached is not None and cached[0] is plan:
        return cached[1]
    tests = collect(plan)
    questions = all_questions(plan)
    result = Domains({qid: classes_of(q, tests) for qid, q in questions.items()}, questions)
    if len(_DOMAINS) > 256:
        _DOMAINS.clear()
    _DOMAINS[id(plan)] = (plan, result)
    return result
