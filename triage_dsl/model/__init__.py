"""Public data models (pydantic v2): results, traces, escalation plans.

The names resolve on first use (pydantic is imported then), so a light path may import
a pydantic-free module of this package (:mod:`triage_dsl.model.plain`) without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triage_dsl.model.result import (
        SCHEMA_VERSION,
        AnswerProblem,
        Assumption,
        DecidedBy,
        Disposition,
        EscalationPlan,
        EscalationStep,
        OptionInfo,
        ProtocolRef,
        QuestionInfo,
        RaisedBy,
        TraceEntry,
        TriageResult,
        Urgency,
    )

__all__ = [
    "SCHEMA_VERSION",
    "AnswerProblem",
    "Assumption",
    "DecidedBy",
    "Disposition",
    "EscalationPlan",
    "EscalationStep",
    "OptionInfo",
    "ProtocolRef",
    "QuestionInfo",
    "RaisedBy",
    "TraceEntry",
    "TriageResult",
    "Urgency",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from triage_dsl.model import result

        return getattr(result, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
