"""Pass: dispositions name a tier and an escalation plan that exist."""

from __future__ import annotations

from triage_dsl.check.scope import TIME_UNITS, Scope
from triage_dsl.errors import did_you_mean
from triage_dsl.syntax import ast


def dispositions(scope: Scope) -> None:
    tier_ids = [t.id for t in scope.tier_order]
    for item in scope.file.items:
        if not isinstance(item, ast.Disposition):
            continue
        for key, span in item.duplicates:
            scope.report(span, "T001", f"'{key}' is given twice for disposition '{item.id}'", "keep one")
        if item.label is None:
            scope.report(
                item.id_span,
                "T040",
                f"disposition '{item.id}' has no label",
                'add: label "..." (what the caller is told to do)',
            )
        elif not item.label.strip():
            scope.report(
                item.id_span,
                "T040",
                f"disposition '{item.id}' has an empty label",
                "write what the caller is told",
            )
        if any(not line.strip() for line in item.advice):
            scope.report(
                item.id_span,
                "T040",
                f"disposition '{item.id}' has an empty advice line",
                "write the advice, or remove the line",
            )
        if item.tier is None:
            scope.report(
                item.id_span,
                "T041",
                f"disposition '{item.id}' has no urgency tier",
                f"add: tier {tier_ids[0] if tier_ids else 'NAME'}",
            )
        elif item.tier not in tier_ids and item.tier_span is not None:
            scope.report(
                item.tier_span,
                "T042",
                f"unknown tier '{item.tier}'",
                did_you_mean(item.tier, tier_ids) or f"tiers: {', '.join(tier_ids)}",
            )
        if item.escalation is not None and item.escalation not in scope.escalations:
            assert item.escalation_span is not None
            scope.report(
                item.escalation_span,
                "T043",
                f"unknown escalation plan '{item.escalation}'",
                did_you_mean(item.escalation, scope.escalations)
                or "declare it with: escalation NAME ... end",
            )
        if item.within is not None and item.within.unit not in TIME_UNITS:
            scope.report(
                item.within.span,
                "T016",
                f"unknown time unit '{item.within.unit}'",
                did_you_mean(item.within.unit, TIME_UNITS) or "use minutes, hours, days or weeks",
            )
