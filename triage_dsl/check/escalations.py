"""Pass: escalation plans notify declared roles by known channels, with known time units
and sensible retry counts."""

from __future__ import annotations

from triage_dsl.check.scope import CHANNELS, TIME_UNITS, Scope
from triage_dsl.errors import did_you_mean
from triage_dsl.syntax import ast

MAX_RETRIES = 20


def escalations(scope: Scope) -> None:
    for item in scope.file.items:
        if not isinstance(item, ast.Escalation):
            continue
        for step in item.steps:
            if isinstance(step, ast.TellStep):
                continue
            _role(scope, step)
            if step.channel not in CHANNELS:
                scope.report(
                    step.channel_span,
                    "T050",
                    f"unknown channel '{step.channel}'",
                    did_you_mean(step.channel, CHANNELS) or f"channels: {', '.join(CHANNELS)}",
                )
            for duration in (step.wait, step.retry_every):
                if duration is not None and duration.unit not in TIME_UNITS:
                    scope.report(
                        duration.span,
                        "T016",
                        f"unknown time unit '{duration.unit}'",
                        did_you_mean(duration.unit, TIME_UNITS) or "use minutes, hours, days or weeks",
                    )
            bad_count = isinstance(step.retries, float) or not 0 <= step.retries <= MAX_RETRIES
            if step.retries_span is not None and bad_count:
                scope.report(
                    step.retries_span,
                    "T051",
                    f"retry count must be a whole number from 0 to {MAX_RETRIES}",
                )
            if step.retries and step.wait is None:
                scope.report(
                    step.span,
                    "T052",
                    f"'{step.role}' is retried but no callback wait is given",
                    "add: wait N minutes for callback",
                )


def _role(scope: Scope, step: ast.NotifyStep) -> None:
    """``notify ROLE`` names a declared role: a misspelt role would notify nobody.

    Files with no role in scope at all were written before roles were declared; their
    plans get a warning instead (W030), so records sealed under them still replay."""
    if step.role in scope.roles:
        return
    span = step.role_span or step.span
    if scope.roles:
        scope.report(
            span,
            "T053",
            f"unknown role '{step.role}': this step would notify nobody",
            did_you_mean(step.role, scope.roles)
            or f'declare it (role {step.role} "Label") or use one of: {", ".join(sorted(scope.roles))}',
        )
        return
    scope.report(
        span,
        "W030",
        f"role '{step.role}' is not declared (no roles are declared in scope), so a misspelt role "
        "cannot be told from a real one",
        f'declare every role plans notify, e.g. role {step.role} "Label", in the shared library',
        severity="warning",
    )
