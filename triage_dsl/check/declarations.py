"""Pass: each declaration on its own (header fields, question attributes, tiers).

Nothing here looks across declarations; names and types are later passes.
"""

from __future__ import annotations

from triage_dsl.check.scope import POPULATIONS, STATUSES, TIME_UNITS, Scope
from triage_dsl.errors import did_you_mean
from triage_dsl.source import Span
from triage_dsl.syntax import ast
from triage_dsl.units import (
    AGE_LIMIT_UNITS,
    FACTORS,
    UNIT_WORDS,
    TimeTextError,
    in_unit,
    parse_text,
    plural,
    to_minutes,
)


def unit_problem(scope: Scope, span: Span, unit: str, allowed: tuple[str, ...] = UNIT_WORDS) -> bool:
    """Report ``unit`` when it is not one of ``allowed`` (T090); True when reported."""
    name = plural(unit)
    if name is not None and name in allowed:
        return False
    choices = [u for u in UNIT_WORDS if plural(u) in allowed]
    scope.report(
        span,
        "T090",
        f"'{unit}' is not a unit of time here",
        did_you_mean(unit.lower(), choices) or f"use {', '.join(u for u in allowed)}",
    )
    return True


def declarations(scope: Scope) -> None:
    header = scope.file.header
    for key, span in header.duplicates:
        scope.report(span, "T001", f"'{key}' is given twice in the header", "keep one")
    if header.status is not None and header.status not in STATUSES and header.status_span:
        scope.report(
            header.status_span,
            "T002",
            f"unknown status '{header.status}'",
            did_you_mean(header.status, STATUSES) or f"use one of: {', '.join(STATUSES)}",
        )
    if header.population is not None and header.population_span:
        population = header.population
        if population not in POPULATIONS:
            scope.report(
                header.population_span,
                "T002",
                f"unknown population '{population}'",
                did_you_mean(population, POPULATIONS) or f"use one of: {', '.join(POPULATIONS)}",
            )
    if header.ages is not None:
        _age_limits(scope, header.ages)
    if header.kind == "protocol":
        if header.title is None:
            scope.report(header.id_span, "T003", f"protocol '{header.id}' has no title", 'add: title "..."')
        elif not header.title.strip():
            scope.report(
                header.id_span, "T003", f"protocol '{header.id}' has an empty title", "write its title"
            )
        if header.version is None:
            scope.report(
                header.id_span, "T003", f"protocol '{header.id}' has no version", 'add: version "1.0.0"'
            )
    for item in scope.file.items:
        if isinstance(item, ast.Question):
            _question(scope, item)
        elif isinstance(item, ast.Tiers):
            _tiers(scope, item)


def _question(scope: Scope, q: ast.Question) -> None:
    for key, span in q.duplicates:
        scope.report(span, "T001", f"'{key}' is given twice for question '{q.id}'", "keep one")
    numeric = q.type in ast.NUMERIC_TYPES
    timed = q.type in ast.TIME_TYPES
    if q.prompt is None:
        scope.report(
            q.id_span, "T004", f"question '{q.id}' has no prompt for the agent to read", 'add: ask "..."'
        )
    elif not q.prompt.strip():
        scope.report(
            q.id_span,
            "T004",
            f"question '{q.id}' has an empty prompt: nothing for the agent to read",
            "write it",
        )
    if numeric and q.range is None:
        scope.report(
            q.id_span,
            "T005",
            f"{'number' if not timed else q.type} question '{q.id}' has no valid range",
            f"add: range {'0 days to 120 years' if timed else 'LOW to HIGH'} "
            "(answers outside it are refused)",
        )
    if q.range is not None and q.range_span is not None:
        if not numeric:
            scope.report(q.range_span, "T006", f"'range' applies to number questions; '{q.id}' is {q.type}")
        elif not _range_units(scope, q) and q.range[0] > q.range[1]:
            low, high = range_text(q).split(" to ")
            scope.report(
                q.range_span,
                "T007",
                f"range of '{q.id}' is empty ({low} > {high})",
                f"write range {high} to {low}",
            )
    if q.unit is not None and (not numeric or timed):
        scope.report(
            q.id_span,
            "T006",
            f"'unit' applies to number questions; '{q.id}' is {q.type}",
            "an age or duration carries its units in its range and answers" if timed else None,
        )
    if q.patient_age and q.type != "age" and q.patient_age_span is not None:
        scope.report(
            q.patient_age_span,
            "T093",
            f"'patient age' marks an age question; '{q.id}' is {q.type}",
            f"declare it as: question {q.id}: age",
        )
    if q.type == "choice":
        if len(q.options) < 2:
            scope.report(
                q.id_span,
                "T008",
                f"choice question '{q.id}' needs at least two options",
                'add: option ID "label"',
            )
        seen: set[str] = set()
        for option in q.options:
            if option.id in seen:
                scope.report(option.span, "T009", f"option '{option.id}' is listed twice in '{q.id}'")
            if option.id == "unknown":
                scope.report(
                    option.span,
                    "T010",
                    "'unknown' is reserved for a caller who does not know",
                    "write 'unknown allowed' on the question instead",
                )
            seen.add(option.id)
    elif q.options:
        scope.report(q.options[0].span, "T006", f"options apply to choice questions; '{q.id}' is {q.type}")
    if q.worse_when is not None and q.worse_when_span is not None:
        if q.worse_when not in ("higher", "lower"):
            scope.report(
                q.worse_when_span,
                "T011",
                f"'worse when {q.worse_when}' is not understood",
                "write 'worse when higher' or 'worse when lower'",
            )
        elif not numeric:
            scope.report(q.worse_when_span, "T006", "'worse when' applies to number questions")
    if q.red_flag and q.type != "yes/no":
        scope.report(
            q.id_span,
            "T006",
            "'red flag' applies to yes/no questions",
            "for numbers, write 'worse when higher' or 'worse when lower'",
        )
    if q.unknown_means is not None:
        _unknown_means(scope, q, q.unknown_means)
        if q.red_flag and q.unknown_means.value is False:
            scope.report(
                q.unknown_means.span,
                "T080",
                f"red flag '{q.id}' is taken as 'no' when the caller does not know: a caller "
                "unsure about a danger sign is treated as not having it",
                "remove 'unknown means no' (an undecided red flag then errs toward the more "
                "urgent outcome), or write 'unknown means yes'",
            )


def _unknown_means(scope: Scope, q: ast.Question, literal: ast.Literal_) -> None:
    value = literal.value
    if q.type == "yes/no" and not isinstance(value, bool):
        scope.report(literal.span, "T012", f"'unknown means' for yes/no question '{q.id}' must be yes or no")
    elif q.type in ast.TIME_TYPES:
        try:
            if not isinstance(value, str):
                raise TimeTextError(f"{value} has no unit")
            amount, unit = parse_text(value)
        except TimeTextError:
            scope.report(
                literal.span,
                "T012",
                f"'unknown means' for {q.type} question '{q.id}' must be a time with its unit",
                "write, for example: unknown means 3 months",
            )
            return
        minutes = float(amount * FACTORS[unit])
        if q.range is not None and not q.range[0] <= minutes <= q.range[1]:
            scope.report(literal.span, "T013", f"{value} is outside the range of '{q.id}' ({range_text(q)})")
    elif q.type in ("number", "whole number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            scope.report(
                literal.span, "T012", f"'unknown means' for number question '{q.id}' must be a number"
            )
        elif q.range is not None and not q.range[0] <= value <= q.range[1]:
            scope.report(
                literal.span,
                "T013",
                f"{value} is outside the range of '{q.id}' ({q.range[0]} to {q.range[1]})",
            )
    elif q.type == "choice":
        options = [o.id for o in q.options]
        if not isinstance(value, str) or value not in options:
            scope.report(
                literal.span,
                "T014",
                f"'{value}' is not an option of '{q.id}'",
                did_you_mean(str(value), options) or f"options: {', '.join(options)}",
            )


def _tiers(scope: Scope, tiers: ast.Tiers) -> None:
    seen: set[str] = set()
    for tier in tiers.tiers:
        if tier.id in seen:
            scope.report(tier.span, "T015", f"tier '{tier.id}' is declared twice")
        seen.add(tier.id)
        if tier.within is not None and tier.within.unit not in TIME_UNITS:
            scope.report(
                tier.within.span,
                "T016",
                f"unknown time unit '{tier.within.unit}'",
                did_you_mean(tier.within.unit, TIME_UNITS) or "use minutes, hours, days or weeks",
            )


def range_text(q: ast.Question) -> str:
    """A question's range as written: ``0 to 45``, ``0 days to 120 years``."""
    assert q.range is not None
    return " to ".join(_end_text(value, unit) for value, unit in zip(q.range, q.range_units, strict=True))


def _end_text(value: ast.Number, unit: str | None) -> str:
    if unit is None or plural(unit) is None:
        return f"{value:g}"
    return in_unit(value, unit)


def _range_units(scope: Scope, q: ast.Question) -> bool:
    """Units of a range: both ends for an age or duration, none for a number. True when
    a problem was reported (the range's values are then not to be trusted)."""
    assert q.range_span is not None
    timed = q.type in ast.TIME_TYPES
    low_unit, high_unit = q.range_units
    if timed and (low_unit is None or high_unit is None):
        scope.report(
            q.range_span,
            "T091",
            f"each end of the range of {q.type} question '{q.id}' needs a unit",
            "write, for example: range 0 days to 120 years",
        )
        return True
    if not timed and (low_unit is not None or high_unit is not None):
        scope.report(
            q.range_span,
            "T091",
            f"the range of number question '{q.id}' has a unit of time",
            f"for a time, declare it as: question {q.id}: age (or: duration)",
        )
        return True
    bad = False
    for unit in (low_unit, high_unit):
        if unit is not None:
            bad = unit_problem(scope, q.range_span, unit) or bad
    return bad


def _age_limits(scope: Scope, ages: ast.AgeLimits) -> None:
    units = [ages.unit] if ages.low_unit is None else [ages.low_unit, ages.unit]
    bad = False
    for unit in units:
        bad = unit_problem(scope, ages.span, unit, AGE_LIMIT_UNITS) or bad
    if bad:
        return
    low, high = age_limit_minutes(ages)
    if low > high or low < 0:
        scope.report(
            ages.span,
            "T095",
            f"the population's age limits are empty or negative ({ages_text(ages)})",
            "write the youngest age first: aged 0 days to 18 years",
        )


def age_limit_minutes(ages: ast.AgeLimits) -> tuple[float, float]:
    """A population's age limits in minutes (both inclusive)."""
    return (
        to_minutes(ages.low, ages.low_unit or ages.unit),
        to_minutes(ages.high, ages.unit),
    )


def ages_text(ages: ast.AgeLimits) -> str:
    """``aged 18 to 120 years`` / ``aged 0 days to 18 years``, as written."""
    low = f"{ages.low:g}" + (f" {ages.low_unit}" if ages.low_unit else "")
    return f"aged {low} to {ages.high:g} {ages.unit}"
