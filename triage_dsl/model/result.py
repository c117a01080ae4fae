"""The result of one evaluation, as pydantic models: the JSON and its published schema.

``TriageResult`` is what ``triage eval --answers`` prints and what
:func:`triage_dsl.evaluate` returns. ``SCHEMA_VERSION`` names its shape: a later version
may add fields but never changes the meaning of an existing one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

JSONValue = bool | int | float | str | None
AnswerValue = bool | int | float | str

Status = Literal["complete", "needs_answers", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProtocolRef(_Model):
    """Which protocol, exactly: id, version and the SHA-256 of its source text."""

    id: str
    title: str
    version: str
    path: str
    sha256: str


class OptionInfo(_Model):
    id: str
    label: str


class QuestionInfo(_Model):
    """A question as an agent's screen shows it."""

    id: str
    prompt: str
    help: str | None = None
    type: Literal["yes/no", "number", "whole number", "choice"]
    unit: str | None = None
    range: tuple[float, float] | None = None
    options: list[OptionInfo] = Field(default_factory=list)
    unknown_allowed: bool = False
    location: str


class EscalationStep(_Model):
    """One step of an escalation plan, as data the host executes."""

    kind: Literal["notify", "tell_caller"]
    role: str | None = None
    channel: str | None = None
    wait_minutes: float | None = Field(None, description="how long to wait for a callback")
    retries: int = 0
    retry_every_minutes: float | None = None
    text: str | None = Field(None, description="what the caller is told (tell_caller)")
    worst_case_minutes: float = Field(description="wait plus every retry, before the next step")


class EscalationPlan(_Model):
    """Who is notified, how, how long to wait, how often to retry, and the last resort."""

    id: str
    steps: list[EscalationStep]
    fallback: str = Field(description="what the caller is told when every step has failed")
    worst_case_minutes: float = Field(description="longest time before the fallback is reached")
    location: str


class Disposition(_Model):
    """What the caller should do."""

    id: str
    label: str
    care_advice: list[str] = Field(default_factory=list)
    location: str


class Urgency(_Model):
    """The urgency tier: rank 0 is the most urgent tier of the protocol's scale."""

    tier: str
    label: str
    rank: int
    time_frame: str | None
    time_frame_minutes: float | None


class DecidedBy(_Model):
    """Why the result is what it is."""

    kind: Literal["criterion", "default", "unknown_answer", "continued"]
    section: str
    criterion: str | None = None
    location: str
    text: str
    explanation: str


class Assumption(_Model):
    """A criterion the answers could not decide, resolved toward urgency (or by the
    author's ``unknown means`` rule), and why."""

    question: str
    node: str
    location: str
    assumed: JSONValue
    reason: str


class AnswerProblem(_Model):
    """One invalid answer: which question, which rule it broke."""

    question: str
    code: Literal[
        "unknown_question",
        "wrong_type",
        "not_an_option",
        "out_of_range",
        "not_finite",
        "unknown_not_allowed",
        "not_whole",
    ]
    message: str


class TraceEntry(_Model):
    """One step of the evaluation, in order."""

    step: int
    kind: Literal[
        "answer",
        "value",
        "score",
        "points",
        "criterion",
        "section",
        "default",
        "assumption",
        "continue",
        "disposition",
    ]
    node: str
    protocol: str
    location: str
    text: str
    reads: dict[str, JSONValue] = Field(default_factory=dict)
    value: JSONValue = None
    detail: str = ""
    row: int | None = Field(None, description="points tables: the row that matched (0-based)")


class TriageResult(_Model):
    """The whole result of evaluating a protocol against a caller's answers."""

    schema_version: str = SCHEMA_VERSION
    protocol: ProtocolRef
    status: Status
    disposition: Disposition | None = None
    urgency: Urgency | None = None
    escalation: EscalationPlan | None = None
    scores: dict[str, float | int | None] = Field(default_factory=dict)
    answers: dict[str, AnswerValue] = Field(
        default_factory=dict, description="the answers the evaluation read, in the order asked"
    )
    asked: list[str] = Field(default_factory=list, description="questions read, in order")
    missing: list[str] = Field(
        default_factory=list,
        description="unanswered questions the outcome may depend on; the first is the one to ask next",
    )
    next_question: QuestionInfo | None = None
    decided_by: DecidedBy | None = None
    assumptions: list[Assumption] = Field(default_factory=list)
    error: str | None = None
    errors: list[AnswerProblem] = Field(default_factory=list)
    trace: list[TraceEntry] = Field(default_factory=list)
    note: str | None = Field(None, description="the triage note for the chart (plain text)")

    def to_json(self, **kwargs: Any) -> str:
        return self.model_dump_json(**kwargs)
