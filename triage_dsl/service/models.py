"""The API's request and response bodies (they document themselves in /openapi.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from triage_dsl.model.call import CallRecord
from triage_dsl.model.caller import CallInfo
from triage_dsl.model.result import NextEscalationStep, OptionInfo, QuestionInfo, TriageResult


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DispositionSummary(BaseModel):
    id: str
    label: str
    tier: str
    rank: int = Field(description="the tier's rank: 0 is the most urgent tier of the protocol's scale")


class ProtocolSummary(BaseModel):
    id: str
    title: str
    version: str
    status: str | None = Field(None, description="the header's status: draft, approved or retired")
    content_sha256: str = Field(description="SHA-256 over the protocol and every file it imports")
    version_id: int = Field(description="the stored version new calls start on")
    dispositions: list[DispositionSummary] = Field(
        default_factory=list, description="the protocol's dispositions (what an override may name)"
    )


class ProtocolList(BaseModel):
    protocols: list[ProtocolSummary]
    problems: dict[str, str] = Field(
        default_factory=dict, description="files in the folder that are not served, and why"
    )


class Question(BaseModel):
    """The question to ask next."""

    id: str
    protocol: str = Field(description="the protocol that asks it")
    text: str = Field(description="the question as the protocol words it")
    type: Literal["yes/no", "number", "whole number", "choice", "age", "duration"]
    options: list[OptionInfo] = Field(default_factory=list)
    unit: str | None = None
    range: tuple[float, float] | None = None
    range_text: str | None = None
    unknown_allowed: bool = False
    help: str | None = None

    @classmethod
    def of(cls, protocol: str, q: QuestionInfo) -> Question:
        return cls(
            id=q.id,
            protocol=protocol,
            text=q.prompt,
            type=q.type,
            options=q.options,
            unit=q.unit,
            range=q.range,
            range_text=q.range_text,
            unknown_allowed=q.unknown_allowed,
            help=q.help,
        )


class ProtocolState(BaseModel):
    id: str
    version: str
    content_sha256: str
    status: str = Field(description="needs_answers, complete or error")
    disposition: str | None = Field(None, description="the disposition in effect (after overrides)")


class EscalationNext(BaseModel):
    protocol: str
    next: NextEscalationStep


class CallOut(BaseModel):
    """A call's state."""

    id: str
    status: Literal["needs_answers", "complete", "error"]
    sealed: bool = Field(description="the outcome is fixed: answers are no longer accepted")
    closed: bool
    protocols: list[ProtocolState]
    next_question: Question | None = None
    result: TriageResult | CallRecord | None = Field(
        None,
        description="once complete: the interpreter's result (the sealed record, overrides and "
        "escalation steps included; a call record when the call runs several protocols)",
    )
    escalation: list[EscalationNext] = Field(
        default_factory=list, description="what the escalation run expects next, per protocol"
    )


class StartCall(_In):
    protocols: list[str] = Field(
        min_length=1, max_length=10, description="protocol ids, in order asked, each at most once"
    )
    caller: CallInfo | None = None

    @field_validator("protocols")
    @classmethod
    def _each_once(cls, ids: list[str]) -> list[str]:
        # the same protocol twice would ask nothing more and put two copies of one outcome
        # in the record: most likely the client's mistake, so it is refused, not merged
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"each protocol may be listed once; listed more than once: {', '.join(twice)}")
        return ids


class AnswersIn(_In):
    answers: dict[str, JsonValue] = Field(
        min_length=1, max_length=200, description='question id -> answer ("unknown" when not known)'
    )
    reason: str | None = Field(
        None, max_length=2000, description="why, when an answer corrects an earlier one"
    )


class RetractIn(_In):
    question: str
    reason: str = Field(min_length=1, max_length=2000)


class OverrideIn(_In):
    disposition: str
    by: str = Field(min_length=1, max_length=200, description="who overrides (the host's staff id)")
    reason: str | None = Field(None, max_length=2000, description="needed for a downgrade")
    protocol: str | None = Field(None, description="which protocol (a call of several protocols)")


class EscalationIn(_In):
    kind: Literal["paged", "callback", "no_answer", "told_caller"] = Field(
        description="paged: the notification was sent; no_answer: nobody called back by the deadline; "
        "callback: the clinician called back; told_caller: the caller was told the step's words"
    )
    detail: str | None = Field(None, max_length=2000)
    protocol: str | None = None


class ErrorItem(BaseModel):
    question: str | None = None
    code: str
    message: str


class ErrorOut(BaseModel):
    error: str = Field(description="a short code: invalid_answer, conflict, not_found, unauthorized, ...")
    message: str
    errors: list[ErrorItem] = Field(default_factory=list)


# Error responses every route that can give them documents (/openapi.json).
RETRY_LATER: dict[str, Any] = {
    "model": ErrorOut,
    "description": "`busy`: the request lost every race for the call to other requests; "
    "`unavailable`: the database is locked beyond its busy timeout or not reachable. "
    "The request may not have been stored: send it again after `Retry-After` seconds, "
    "with the same `Idempotency-Key` (it is applied once)",
    "headers": {
        "Retry-After": {
            "description": "seconds to wait before sending the request again",
            "schema": {"type": "integer"},
        }
    },
}
NOT_JSON: dict[str, Any] = {
    "model": ErrorOut,
    "description": "`unsupported_media_type`: a body sent without `Content-Type: application/json` "
    "(or an `application/...+json` type); nothing was stored",
}
