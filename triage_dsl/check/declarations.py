"""Pass: each declaration on its own (header fields, question attributes, tiers).

Nothing here looks across declarations; names and types are later passes.
"""

from __future__ import annotations

from triage_dsl.check.scope import POPULATIONS, STATUSES, TIME_UNITS, Scope
from triage_dsl.errors import did_you_mean
from triage_dsl.syntax import ast


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
    if header.kind == "protocol":
        if header.title is None:
            scope.report(header.id_span, "T003", f"protocol '{header.id}' has no title", 'add: title "..."')
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
    numeric = q.type in ("number", "whole number")
    if q.prompt is None:
        scope.report(
            q.id_span, "T004", f"question '{q.id}' has no prompt for the agent to read", 'add: ask "..."'
        )
    if numeric and q.range is None:
        scope.report(
            q.id_span,
            "T005",
            f"number question '{q.id}' has no valid range",
            "add: range LOW to HIGH (answers outside it are refused)",
        )
    if q.range is not None and q.range_span is not None:
        if not numeric:
            scope.report(q.range_span, "T006", f"'range' applies to number questions; '{q.id}' is {q.type}")
        elif q.range[0] > q.range[1]:
            scope.report(
                q.range_span,
                "T007",
                f"range of '{q.id}' is empty ({q.range[0]} > {q.range[1]})",
                f"write range {q.range[1]} to {q.range[0]}",
            )
    if q.unit is not None and not numeric:
        scope.report(q.id_span, "T006", f"'unit' applies to number questions; '{q.id}' is {q.type}")
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
