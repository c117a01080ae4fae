"""Public data models (pydantic v2): results, traces, escalation plans."""

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
