"""The checker's view of a protocol: its declarations and those it imports, by id.

``Scope`` is filled by the compiler driver (``triage_dsl/compiler.py``) from the
protocol's AST and the ASTs of the libraries it imports; each check pass in this package
reads it and adds diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeAlias

from triage_dsl.errors import Diagnostic, Severity
from triage_dsl.source import Source, Span
from triage_dsl.syntax import ast

Type: TypeAlias = tuple[Literal["bool", "number", "time", "choice", "error"], str]
BOOL: Type = ("bool", "")
NUMBER: Type = ("number", "")
TIME: Type = ("time", "")  # an age or a duration, in minutes (triage_dsl/units.py)
ERROR: Type = ("error", "")

ValueDecl: TypeAlias = ast.Value | ast.Points

CHANNELS = ("secure_page", "phone", "secure_message", "text_message", "email", "fax")
TIME_UNITS = {
    "second": 1 / 60,
    "seconds": 1 / 60,
    "minute": 1,
    "minutes": 1,
    "hour": 60,
    "hours": 60,
    "day": 1440,
    "days": 1440,
    "week": 10080,
    "weeks": 10080,
}
STATUSES = ("draft", "approved", "retired")
POPULATIONS = ("adult", "pediatric", "all")


def minutes(duration: ast.Duration) -> float:
    """A duration in minutes (units are checked by the ``escalations`` pass)."""
    return float(duration.amount) * TIME_UNITS.get(duration.unit, 0)


class CalleeQuestion(Protocol):
    """A question of an imported protocol, as the checks see it: where it is declared."""

    @property
    def span(self) -> Span: ...


class CalleePlan(Protocol):
    @property
    def questions(self) -> Mapping[str, CalleeQuestion]: ...


class Callee(Protocol):
    """What the checks read of an imported protocol (one that ``continue with`` may name):
    its id and its questions. The compiled protocol (:class:`triage_dsl.protocol.Protocol`,
    built by a later stage) has this shape; the checks need nothing else of it, so this
    stage does not import the stages that build it."""

    @property
    def id(self) -> str: ...

    @property
    def plan(self) -> CalleePlan: ...


DEFAULT_TIERS_TEXT = """\
tiers
  tier emergency "Emergency: call 911 now" within 0 minutes
  tier urgent "Go to the emergency department now" within 1 hour
  tier same_day "See a clinician today" within 8 hours
  tier within_24h "See a clinician within 24 hours" within 24 hours
  tier routine "Make a routine appointment" within 2 weeks
  tier home_care "Care at home"
end
"""


@dataclass
class Scope:
    """Everything visible to one protocol file, with where each thing came from."""

    source: Source
    file: ast.ProtocolFile
    sources: dict[str, Source] = field(default_factory=dict)
    questions: dict[str, ast.Question] = field(default_factory=dict)
    values: dict[str, ValueDecl] = field(default_factory=dict)
    tiers: ast.Tiers | None = None
    roles: dict[str, ast.Role] = field(default_factory=dict)
    escalations: dict[str, ast.Escalation] = field(default_factory=dict)
    dispositions: dict[str, ast.Disposition] = field(default_factory=dict)
    screens: dict[str, ast.Screen] = field(default_factory=dict)
    protocols: dict[str, Callee] = field(default_factory=dict)
    broken_protocols: set[str] = field(default_factory=set)  # imported, but with errors
    triage: ast.Triage | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    types: dict[str, Type] = field(default_factory=dict)

    def report(
        self,
        span: Span,
        code: str,
        message: str,
        hint: str | None = None,
        severity: Severity = "error",
    ) -> None:
        self.diagnostics.append(Diagnostic(span, code, severity, message, hint))

    @property
    def names(self) -> dict[str, ast.Question | ValueDecl]:
        merged: dict[str, ast.Question | ValueDecl] = dict(self.questions)
        merged.update(self.values)
        return merged

    @property
    def tier_order(self) -> list[ast.Tier]:
        return list(self.tiers.tiers) if self.tiers else []

    def tier_rank(self, tier_id: str | None) -> int | None:
        for rank, tier in enumerate(self.tier_order):
            if tier.id == tier_id:
                return rank
        return None
