"""Parsing ages and durations: time constants, ranges, rows, age limits, scenario answers."""

from __future__ import annotations

import pytest

from triage_dsl.source import Source
from triage_dsl.syntax import ast
from triage_dsl.syntax.parser import parse_protocol, parse_scenarios

HEAD = 'protocol t title "t" version "1" end\n'


def _criterion(text: str) -> ast.Expr:
    source = HEAD + f"triage section a if any of when {text} end default b end\n"
    parsed, errors = parse_protocol(Source("t.triage", source))
    assert parsed is not None, errors
    (triage,) = [i for i in parsed.items if isinstance(i, ast.Triage)]
    return triage.sections[0].criteria[0].expr


@pytest.mark.parametrize(
    ("text", "op", "minutes", "unit", "amount"),
    [
        ("patient_age < 3 months", "<", 131490.0, "months", "3"),
        ("pain_started <= 12 hours", "<=", 720.0, "hours", "12"),
        ("gestation >= 20 weeks", ">=", 201600.0, "weeks", "20"),
        ("days_since_surgery <= 14 days", "<=", 20160.0, "days", "14"),
        ("pain_started within 1.5 hours", "<=", 90.0, "hours", "1.5"),
        ("x > 1 year", ">", 525960.0, "year", "1"),
        ("x = 90 minutes", "=", 90.0, "minutes", "90"),
    ],
)
def test_time_constants(text: str, op: str, minutes: float, unit: str, amount: str) -> None:
    expr = _criterion(text)
    assert isinstance(expr, ast.Compare) and expr.op == op
    assert expr.right == ast.NumberLit(expr.right.span, minutes, unit, amount)


def test_a_question_named_age_is_still_a_name() -> None:
    expr = _criterion("age >= 65 and patient_age < 3 months")
    assert isinstance(expr, ast.And) and isinstance(expr.left, ast.Compare)
    assert expr.left.left == ast.Name(expr.left.left.span, "age")


def test_questions_rows_and_age_limits() -> None:
    source = (
        'protocol t title "t" version "1" population pediatric aged 0 days to 18 years end\n'
        'question patient_age: age ask "Age?" range 0 days to 120 years patient age end\n'
        'question since: duration ask "Since?" range 0 minutes to 30 days end\n'
        "points p from patient_age\n  >= 65 years: 1\n  else: 0\nend\n"
    )
    parsed, errors = parse_protocol(Source("t.triage", source))
    assert parsed is not None, errors
    assert parsed.header.ages == ast.AgeLimits(parsed.header.ages.span, 0, 18, "years", "days")  # type: ignore[union-attr]
    age, since, points = parsed.items
    assert (
        isinstance(age, ast.Question) and isinstance(since, ast.Question) and isinstance(points, ast.Points)
    )
    assert (age.type, age.range, age.range_units, age.patient_age) == (
        "age",
        (0.0, 120 * 365.25 * 1440),
        ("days", "years"),
        True,
    )
    assert (since.type, since.range, since.patient_age) == ("duration", (0.0, 43200.0), False)
    band = points.bands[0]
    assert (band.op, band.bound, band.unit, band.amount) == (">=", 65 * 365.25 * 1440, "years", "65")


def test_old_age_limits_keep_one_unit() -> None:
    source = 'protocol t title "t" version "1" population adult aged 18 to 120 years end\n'
    parsed, _ = parse_protocol(Source("t.triage", source))
    assert parsed is not None and parsed.header.ages is not None
    ages = parsed.header.ages
    assert (ages.low, ages.high, ages.unit, ages.low_unit) == (18, 120, "years", None)


@pytest.mark.parametrize(
    ("given", "value"),
    [
        ("patient_age = 11 weeks", "11 weeks"),
        ("patient_age = 1 week", "1 week"),
        ("since = 1.5 hours", "1.5 hours"),
        ("since = 90 minutes", "90 minutes"),
        ("patient_age = 3", 3),
        ("patient_age = unknown", "unknown"),
    ],
)
def test_scenario_answers_with_units(given: str, value: object) -> None:
    parsed, errors = parse_scenarios(
        Source("t.scenarios", f'scenario "s"\n  given {given}, flag = yes\nend\n')
    )
    assert parsed is not None, errors
    first, second = parsed.scenarios[0].answers
    assert first.value.value == value and second.value.value is True
