"""Values during evaluation: concrete answers, and *partial* values that are not yet known.

A concrete value is a plain ``bool``, ``int``/``float`` or option id ``str``. A
:class:`Partial` stands for every value an expression could still take, with the
questions that could narrow it:

- ``missing``: questions not answered yet (asking them may decide the value);
- ``unknown``: questions the caller answered "I don't know" (nothing will decide them).

Numbers are closed intervals ``[low, high]`` (a missing answer spans the question's
declared range), choices a set of options, yes/no both values. Operators compute exact
results when the partial operands already decide them (``[3, 20] >= 3`` is yes), which
is what makes questioning lazy: a question is asked only while the outcome depends on it.
Unknown is thus a value, not an exception (three-valued logic, Kleene's).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

Concrete: TypeAlias = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Partial:
    """A value not yet decided: see the module docstring."""

    kind: str  # "bool" | "number" | "choice"
    low: float = 0.0
    high: float = 0.0
    options: frozenset[str] = frozenset()
    missing: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    # The missing questions to ask first (empty: any of ``missing``): ``a and b`` reads
    # ``b`` only once ``a`` is yes (``or``: once it is no), so while ``a`` is missing the
    # questions of ``a`` come first; see :func:`frontier`.
    first: tuple[str, ...] = ()

    @property
    def waiting(self) -> bool:
        """True when answering a missing question could still decide it."""
        return bool(self.missing)


Value: TypeAlias = Concrete | Partial


def merge(*ids: tuple[str, ...]) -> tuple[str, ...]:
    """Ordered union of question-id tuples (first occurrence wins)."""
    out: list[str] = []
    for group in ids:
        for q in group:
            if q not in out:
                out.append(q)
    return tuple(out)


def deps(*values: Value) -> tuple[tuple[str, ...], tuple[str, ...]]:
    missing = merge(*(v.missing for v in values if isinstance(v, Partial)))
    unknown = merge(*(v.unknown for v in values if isinstance(v, Partial)))
    return missing, unknown


def undecided_bool(*sources: Value) -> Partial:
    missing, unknown = deps(*sources)
    return Partial("bool", missing=missing, unknown=unknown)


def bounds(value: Value) -> tuple[float, float]:
    if isinstance(value, Partial):
        return value.low, value.high
    number = float(value)
    return number, number


def number_partial(low: float, high: float, *sources: Value) -> Value:
    missing, unknown = deps(*sources)
    if low == high and not missing and not unknown:
        return _tidy(low)
    return Partial("number", low=low, high=high, missing=missing, unknown=unknown)


def _tidy(number: float) -> int | float:
    return int(number) if float(number).is_integer() and abs(number) < 2**53 else number


tidy = _tidy  # the interpreter's compiled arithmetic uses it directly


def logical_not(value: Value) -> Value:
    if isinstance(value, Partial):
        return value
    return not value


def frontier(value: Partial) -> tuple[str, ...]:
    """The missing questions to ask first for ``value`` (``first``, else every missing one)."""
    return value.first or value.missing


def _short_circuit(left: Partial, right: Partial) -> Partial:
    """``left and right`` (or ``or``), both undecided: asked left to right, as the
    operator reads them, so the right operand's questions wait while the left's are missing."""
    missing, unknown = deps(left, right)
    first = frontier(left) if left.missing else frontier(right)
    return Partial("bool", missing=missing, unknown=unknown, first=first if first != missing else ())


def logical_and(left: Value, right: Value) -> Value:
    if left is False or right is False:
        return False
    if left is True:
        return right
    if right is True:
        return left
    if isinstance(left, Partial) and isinstance(right, Partial):
        return _short_circuit(left, right)
    return undecided_bool(left, right)  # pragma: no cover - operands are yes/no values


def logical_or(left: Value, right: Value) -> Value:
    if left is True or right is True:
        return True
    if left is False:
        return right
    if right is False:
        return left
    if isinstance(left, Partial) and isinstance(right, Partial):
        return _short_circuit(left, right)
    return undecided_bool(left, right)  # pragma: no cover - operands are yes/no values


def compare(op: str, left: Value, right: Value) -> Value:
    if not isinstance(left, Partial) and not isinstance(right, Partial):
        return _compare_concrete(op, left, right)
    if (isinstance(left, Partial) and left.kind == "bool") or (
        isinstance(right, Partial) and right.kind == "bool"
    ):
        return undecided_bool(left, right)
    l1, l2 = bounds(left)
    r1, r2 = bounds(right)
    if op == "<":
        decided = True if l2 < r1 else False if l1 >= r2 else None
    elif op == "<=":
        decided = True if l2 <= r1 else False if l1 > r2 else None
    elif op == ">":
        decided = True if l1 > r2 else False if l2 <= r1 else None
    elif op == ">=":
        decided = True if l1 >= r2 else False if l2 < r1 else None
    else:
        disjoint = l2 < r1 or r2 < l1
        decided = False if disjoint else None
        if op == "!=" and decided is not None:
            decided = not decided
    if decided is None:
        return undecided_bool(left, right)
    return decided


def _compare_concrete(op: str, left: Concrete, right: Concrete) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    a, b = float(left), float(right)
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def arith(op: str, left: Value, right: Value) -> Value:
    if not isinstance(left, Partial) and not isinstance(right, Partial):
        a, b = left, right
        assert not isinstance(a, str) and not isinstance(b, str)
        if op == "+":
            return _tidy(a + b)
        if op == "-":
            return _tidy(a - b)
        return _tidy(a * b)
    l1, l2 = bounds(left)
    r1, r2 = bounds(right)
    if op == "+":
        low, high = l1 + r1, l2 + r2
    elif op == "-":
        low, high = l1 - r2, l2 - r1
    else:
        products = (l1 * r1, l1 * r2, l2 * r1, l2 * r2)
        low, high = min(products), max(products)
    return number_partial(low, high, left, right)


def negate(value: Value) -> Value:
    if isinstance(value, Partial):
        return Partial("number", -value.high, -value.low, missing=value.missing, unknown=value.unknown)
    assert not isinstance(value, str)
    return _tidy(-value)


def member(value: Value, options: frozenset[str], negated: bool) -> Value:
    if isinstance(value, Partial):
        if value.options <= options:
            return not negated
        if not value.options & options:
            return negated
        return undecided_bool(value)
    return (value in options) != negated


def count(items: list[Value]) -> Value:
    low = sum(1 for v in items if v is True)
    high = low + sum(1 for v in items if isinstance(v, Partial))
    return number_partial(float(low), float(high), *items)


def hull(a: Value, b: Value, condition: Value) -> Value:
    """Either branch of an undecided ``if``: every value both could take."""
    if not isinstance(a, Partial) and not isinstance(b, Partial) and a == b:
        return a
    kind = (
        a.kind
        if isinstance(a, Partial)
        else b.kind
        if isinstance(b, Partial)
        else ("bool" if isinstance(a, bool) else "choice" if isinstance(a, str) else "number")
    )
    if kind == "bool":
        return undecided_bool(condition, a, b)
    if kind == "choice":
        options = (a.options if isinstance(a, Partial) else frozenset([str(a)])) | (
            b.options if isinstance(b, Partial) else frozenset([str(b)])
        )
        missing, unknown = deps(condition, a, b)
        return Partial("choice", options=options, missing=missing, unknown=unknown)
    a1, a2 = bounds(a)
    b1, b2 = bounds(b)
    missing, unknown = deps(condition, a, b)
    return Partial("number", low=min(a1, b1), high=max(a2, b2), missing=missing, unknown=unknown)


def to_json(value: Value) -> Concrete | None:
    """A trace's view of a value: the value itself, or null while undecided."""
    return None if isinstance(value, Partial) else value
