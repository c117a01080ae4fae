"""Pass: types, choice options and constants against declared ranges.

Types are ``bool``, ``number``, ``time`` (an age or a duration: both are time, so they
compare with each other, never with a bare number) and ``choice`` (of one question).
The pass also refuses a
constant that no answer could reach (``spo2 > 250`` when spo2 ranges 0 to 100), an option
that is not one of the question's, and a points table that could score nothing.
"""

from __future__ import annotations

from triage_dsl.check.declarations import range_text, unit_problem
from triage_dsl.check.scope import BOOL, ERROR, NUMBER, TIME, Scope, Type
from triage_dsl.check.walk import blocks, depth
from triage_dsl.errors import did_you_mean
from triage_dsl.source import Span
from triage_dsl.syntax import ast

MAX_EXPRESSION_DEPTH = 48


def _describe(t: Type) -> str:
    if t[0] == "choice":
        return f"a choice of '{t[1]}'"
    return {"bool": "yes/no", "number": "a number", "time": "a time (age or duration)", "error": "?"}[t[0]]


class _Typer:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.visiting: set[str] = set()

    def of_name(self, name: ast.Name) -> Type:
        scope = self.scope
        if name.id in scope.types:
            return scope.types[name.id]
        if name.id in scope.questions:
            q = scope.questions[name.id]
            t: Type = {
                "yes/no": BOOL,
                "number": NUMBER,
                "whole number": NUMBER,
                "age": TIME,
                "duration": TIME,
            }.get(q.type, ("choice", q.id))
        elif name.id in scope.values and name.id not in self.visiting:
            self.visiting.add(name.id)
            t = self.of_decl(scope.values[name.id])
            self.visiting.discard(name.id)
        else:
            return ERROR
        scope.types[name.id] = t
        return t

    def of_decl(self, decl: ast.Value | ast.Points) -> Type:
        if isinstance(decl, ast.Value):
            t = self.expr(decl.expr)
            if decl.kind == "score" and t[0] not in ("number", "error"):
                self.scope.report(
                    decl.expr.span,
                    "T030",
                    f"score '{decl.id}' must be a number, not {_describe(t)}",
                    "a score is summed points or a count",
                )
            return t
        self.points(decl)
        return NUMBER

    def expect(self, expr: ast.Expr, want: Type, context: str) -> Type:
        got = self.expr(expr)
        if got[0] != "error" and got[0] != want[0]:
            self.scope.report(
                expr.span,
                "T031",
                f"{context} needs {_describe(want)}, but this is {_describe(got)}",
                _type_hint(expr, got, want),
            )
        return got

    def expr(self, e: ast.Expr) -> Type:
        if isinstance(e, ast.NumberLit):
            if e.unit is None:
                return NUMBER
            return ERROR if unit_problem(self.scope, e.span, e.unit) else TIME
        if isinstance(e, ast.BoolLit):
            return BOOL
        if isinstance(e, ast.Name):
            return self.of_name(e)
        if isinstance(e, ast.Not):
            self.expect(e.operand, BOOL, "'not'")
            return BOOL
        if isinstance(e, ast.And | ast.Or):
            word = "'and'" if isinstance(e, ast.And) else "'or'"
            self.expect(e.left, BOOL, word)
            self.expect(e.right, BOOL, word)
            return BOOL
        if isinstance(e, ast.Compare):
            return self.compare(e)
        if isinstance(e, ast.Member):
            self.member(e.operand, e.options)
            return BOOL
        if isinstance(e, ast.IsUnknown):
            self.is_unknown(e)
            return BOOL
        if isinstance(e, ast.Arith):
            return self.arith(e)
        if isinstance(e, ast.Negate):
            self.expect(e.operand, NUMBER, "'-'")
            return NUMBER
        if isinstance(e, ast.Count):
            for item in e.items:
                self.expect(item, BOOL, "count(...)")
            return NUMBER
        if isinstance(e, ast.Conditional):
            self.expect(e.condition, BOOL, "'if'")
            then = self.expr(e.then)
            otherwise = self.expr(e.otherwise)
            if "error" not in (then[0], otherwise[0]) and then != otherwise:
                self.scope.report(
                    e.span,
                    "T032",
                    f"the two branches differ: {_describe(then)} and {_describe(otherwise)}",
                    "make both branches the same type",
                )
                return ERROR
            return then
        raise AssertionError(f"unhandled expression {type(e).__name__}")  # pragma: no cover

    def compare(self, e: ast.Compare) -> Type:
        left, right = self.expr(e.left), self.expr(e.right)
        if "error" in (left[0], right[0]):
            return BOOL
        if e.op in ("=", "!=") and left == right and left[0] == "bool":
            return BOOL
        if e.op in ("=", "!=") and {left[0], right[0]} == {"bool", "number"}:
            self.yes_no_against_number(e, e.left if left[0] == "bool" else e.right)
            return BOOL
        if left[0] == "choice" or right[0] == "choice":
            side = e.left if left[0] == "choice" else e.right
            self.scope.report(
                e.span,
                "T033",
                f"a choice is compared with 'is' or 'in', not '{e.op}'",
                f"write '{self.scope.source.snippet(side.span)} is OPTION'",
            )
            return BOOL
        if "time" in (left[0], right[0]) and {left[0], right[0]} <= {"time", "number"}:
            if left[0] != right[0]:
                self.time_mismatch(e, (e.left, left), (e.right, right))
                return BOOL
        else:
            for side, t in ((e.left, left), (e.right, right)):
                if t[0] != "number":
                    self.scope.report(
                        side.span,
                        "T031",
                        f"'{e.op}' compares numbers, but this is {_describe(t)}",
                        _type_hint(side, t, NUMBER),
                    )
        self.constant_in_range(e.left, e.right)
        self.constant_in_range(e.right, e.left)
        return BOOL

    def yes_no_against_number(self, e: ast.Compare, yes_no: ast.Expr) -> None:
        """``drooling = 1``: '=' does compare yes/no values, but with yes or no; a yes/no
        question is tested by its name."""
        shown = self.scope.source.snippet(yes_no.span)
        self.scope.report(
            e.span,
            "T031",
            f"'{shown}' is yes/no, so it is not compared with a number",
            f"a yes/no question is tested by its name: write 'when {shown}' (yes) or 'when not {shown}' (no)",
        )

    def time_mismatch(self, e: ast.Compare, *sides: tuple[ast.Expr, Type]) -> None:
        """A time compared with a bare number (or a number with a time constant)."""
        (time_side, _), (number_side, _) = sorted(sides, key=lambda s: s[1][0] != "time")
        shown = self.scope.source.snippet(number_side.span)
        if isinstance(number_side, ast.NumberLit):
            hint = f"give the number its unit, as in '{shown} months' or '{shown} days'"
            message = f"'{e.op}' compares a time with the bare number {shown}"
        elif isinstance(time_side, ast.NumberLit):
            amount = time_side.amount or ""
            hint = f"compare a number with a number: write '{amount}', or make '{shown}' an age or duration"
            message = f"'{e.op}' compares the number '{shown}' with a time"
        else:
            hint = "a time compares with a time: an age, a duration, or a constant such as '3 months'"
            message = f"'{e.op}' compares a time with a number ('{shown}')"
        self.scope.report(e.span, "T092", message, hint)

    def arith(self, e: ast.Arith) -> Type:
        """``+`` and ``-`` add and subtract numbers, or times; ``*`` multiplies numbers."""
        left, right = self.expr(e.left), self.expr(e.right)
        if "error" in (left[0], right[0]):
            return ERROR if "time" in (left[0], right[0]) else NUMBER
        if e.op != "*" and left[0] == right[0] == "time":
            return TIME
        if "time" in (left[0], right[0]):
            if e.op == "*":
                message = "'*' multiplies numbers, not times"
                hint = "compare times directly, as in 'pain_started <= 12 hours'"
            else:
                message = f"'{e.op}' needs two times or two numbers, not a time and a number"
                hint = "give the number its unit, as in '2 days'"
            self.scope.report(e.span, "T092", message, hint)
            return ERROR
        self.expect(e.left, NUMBER, f"'{e.op}'")
        self.expect(e.right, NUMBER, f"'{e.op}'")
        return NUMBER

    def constant_in_range(self, name: ast.Expr, constant: ast.Expr) -> None:
        if not isinstance(name, ast.Name) or name.id not in self.scope.questions:
            return
        value = _constant(constant)
        q = self.scope.questions[name.id]
        if value is None or q.range is None:
            return
        if (q.type in ast.TIME_TYPES) != (isinstance(constant, ast.NumberLit) and constant.unit is not None):
            return  # a type error, reported elsewhere
        low, high = q.range
        if not low <= value <= high:
            shown = (
                f"{constant.amount} {constant.unit}"
                if isinstance(constant, ast.NumberLit) and constant.unit is not None
                else f"{value}"
            )
            self.scope.report(
                constant.span,
                "T034",
                f"{shown} is outside the range of '{q.id}' ({range_text(q)}), so no answer can reach it",
                "fix the number, or widen the question's range",
            )

    def member(self, operand: ast.Expr, options: tuple[ast.OptionRef, ...]) -> None:
        t = self.expr(operand)
        if t[0] == "error":
            return
        if t[0] != "choice":
            self.scope.report(
                operand.span,
                "T031",
                f"'in' and 'is' test a choice, but this is {_describe(t)}",
                _type_hint(operand, t, ("choice", "")),
            )
            return
        self.options_of(t[1], options)

    def options_of(self, question_id: str, options: tuple[ast.OptionRef, ...]) -> None:
        valid = [o.id for o in self.scope.questions[question_id].options]
        for option in options:
            if option.id not in valid:
                self.scope.report(
                    option.span,
                    "T014",
                    f"'{option.id}' is not an option of '{question_id}'",
                    did_you_mean(option.id, valid) or f"options: {', '.join(valid)}",
                )

    def is_unknown(self, e: ast.IsUnknown) -> None:
        operand = e.operand
        if not isinstance(operand, ast.Name) or operand.id not in self.scope.questions:
            if not isinstance(operand, ast.Name) or operand.id in self.scope.values:
                self.scope.report(
                    operand.span, "T035", "'is unknown' tests a question's answer", "name a question here"
                )
            return
        q = self.scope.questions[operand.id]
        if not q.unknown_allowed:
            self.scope.report(
                e.span,
                "T036",
                f"'{q.id}' never takes the answer unknown, so this test is always no",
                f"add 'unknown allowed' to question '{q.id}'",
            )

    def points(self, p: ast.Points) -> None:
        subject_t = self.of_name(p.subject)
        seen_else: Span | None = None
        covered: set[str] = set()
        for band in p.bands:
            if seen_else is not None:
                self.scope.report(
                    band.span,
                    "T037",
                    "this row comes after 'else' and is never used",
                    "move 'else' to the last row",
                )
            if band.kind == "else":
                seen_else = band.span
            elif band.kind == "when" and band.condition is not None:
                self.expect(band.condition, BOOL, "'when'")
            elif band.kind == "compare":
                self.band_compare(p, subject_t, band)
            elif band.kind == "options":
                covered.update(self.band_options(p, subject_t, band))
        if seen_else is None and not self.total_by_options(subject_t, covered):
            self.scope.report(
                p.id_span,
                "T038",
                f"points table '{p.id}' has no 'else' row, so some answers would score nothing",
                "add a last row: else: 0",
            )

    def band_compare(self, p: ast.Points, subject_t: Type, band: ast.Band) -> None:
        shown = f"{band.op} {band.amount} {band.unit}" if band.unit else f"{band.op} {band.bound}"
        if subject_t[0] not in ("number", "time", "error"):
            self.scope.report(
                band.span,
                "T031",
                f"'{shown}' needs a number, but '{p.subject.id}' is {_describe(subject_t)}",
            )
            return
        if band.unit is not None and unit_problem(self.scope, band.span, band.unit):
            return
        if subject_t[0] == "time" and band.unit is None:
            self.scope.report(
                band.span,
                "T092",
                f"'{p.subject.id}' is a time, but row '{shown}' is a bare number",
                f"give the bound its unit, as in '{band.op} {band.bound} years'",
            )
        elif subject_t[0] == "number" and band.unit is not None:
            self.scope.report(
                band.span,
                "T092",
                f"'{p.subject.id}' is a number, but row '{shown}' is a time",
                f"write '{band.op} {band.amount}', or make '{p.subject.id}' an age or duration",
            )
        elif band.bound is not None:
            constant = ast.NumberLit(band.span, band.bound, band.unit, band.amount)
            self.constant_in_range(p.subject, constant)

    def band_options(self, p: ast.Points, subject_t: Type, band: ast.Band) -> set[str]:
        ids = {o.id for o in band.options}
        if subject_t[0] == "bool":
            bad = [o for o in band.options if o.id not in ("yes", "no")]
            for o in bad:
                self.scope.report(o.span, "T031", f"'{p.subject.id}' is yes/no: rows are 'yes' or 'no'")
        elif subject_t[0] == "choice":
            self.options_of(subject_t[1], band.options)
        elif subject_t[0] == "number":
            self.scope.report(
                band.span, "T031", f"'{p.subject.id}' is a number: rows compare it, as in '<= 8: 3'"
            )
        elif subject_t[0] == "time":
            self.scope.report(
                band.span, "T031", f"'{p.subject.id}' is a time: rows compare it, as in '>= 65 years: 1'"
            )
        return ids

    def total_by_options(self, subject_t: Type, covered: set[str]) -> bool:
        if subject_t[0] == "bool":
            return {"yes", "no"} <= covered
        if subject_t[0] == "choice":
            return {o.id for o in self.scope.questions[subject_t[1]].options} <= covered
        return subject_t[0] == "error"


def _constant(expr: ast.Expr) -> float | None:
    if isinstance(expr, ast.NumberLit):
        return float(expr.value)
    if isinstance(expr, ast.Negate) and isinstance(expr.operand, ast.NumberLit):
        return -float(expr.operand.value)
    return None


def _type_hint(expr: ast.Expr, got: Type, want: Type) -> str | None:
    if got[0] == "choice" and want[0] == "bool":
        return "test it with 'is OPTION' or 'in {...}'"
    if got[0] == "number" and want[0] == "bool":
        return "compare it, as in 'x >= 3'"
    if got[0] == "bool" and want[0] == "number":
        return "count(...) turns yes/no conditions into a number"
    return None


def types(scope: Scope) -> None:
    typer = _Typer(scope)
    for item in scope.file.items:
        if isinstance(item, ast.Value):
            if depth(item.expr) > MAX_EXPRESSION_DEPTH:
                scope.report(
                    item.span, "T039", "expression is nested too deeply", "split it into named values"
                )
                continue
            typer.of_name(ast.Name(item.id_span, item.id))
        elif isinstance(item, ast.Points):
            typer.of_name(ast.Name(item.id_span, item.id))
        else:
            for block in blocks(item):
                for criterion in block.criteria:
                    if depth(criterion.expr) > MAX_EXPRESSION_DEPTH:
                        scope.report(
                            criterion.span,
                            "T039",
                            "expression is nested too deeply",
                            "split it into named values",
                        )
                        continue
                    typer.expect(criterion.expr, BOOL, "a criterion")
