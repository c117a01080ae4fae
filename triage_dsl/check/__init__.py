"""The checker: passes over a protocol's AST, in order, each adding diagnostics.

``CHECKS`` is the pass order as data; each pass is a function named after its module.
Every pass runs even when an earlier one found errors, so one run reports everything.
"""

from __future__ import annotations

from collections.abc import Callable

from triage_dsl.check.declarations import declarations
from triage_dsl.check.dispositions import dispositions
from triage_dsl.check.escalations import escalations
from triage_dsl.check.logic import logic
from triage_dsl.check.names import names
from triage_dsl.check.population import population
from triage_dsl.check.prompts import prompts
from triage_dsl.check.ranges import ranges
from triage_dsl.check.scope import Scope
from triage_dsl.check.types import types

CHECKS: tuple[Callable[[Scope], None], ...] = (
    declarations,
    prompts,
    ranges,
    names,
    types,
    population,
    escalations,
    dispositions,
    logic,
)


def run_checks(scope: Scope) -> None:
    for check in CHECKS:
        check(scope)


__all__ = ["CHECKS", "Scope", "run_checks"]
