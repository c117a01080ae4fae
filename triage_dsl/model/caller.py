"""The caller block of a call: who called, how to call back, and what the caller said
to the advice. Given by the host (``Session(protocol, call=CallInfo(...))``,
``evaluate(..., call=...)``, ``triage eval --call FILE.json``, asked by ``triage run``)
and kept in the record for a liability review.
"""

from __future__ import annotations

from typing import Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Relationship = Literal[
    "patient",
    "parent",
    "spouse_or_partner",
    "child",
    "other_relative",
    "carer",
    "friend",
    "health_professional",
    "other",
]

RELATIONSHIPS: tuple[str, ...] = get_args(Relationship)


class CallInfo(BaseModel):
    """Who is calling about whom, the callback number, the agent, the chief complaint in
    the caller's words, and the caller's response to the advice.

    >>> CallInfo(caller="spouse_or_partner", callback_number="555 0100", callback_read_back=True,
    ...          patient_can_come_to_phone=False, agent_id="agent-17",
    ...          chief_complaint="his chest hurts").caller
    'spouse_or_partner'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    caller: Relationship = Field(description="the patient, or the caller's relationship to the patient")
    caller_detail: str | None = Field(None, description="free text about the caller (redacted in copies)")
    callback_number: str | None = Field(None, description="the number to call back on")
    callback_read_back: bool = Field(
        False, description="the agent read the callback number back to the caller, who confirmed it"
    )
    patient_can_come_to_phone: bool | None = Field(
        None, description="whether the patient can come to the phone (None: the caller is the patient)"
    )
    agent_id: str = Field(description="the agent taking the call (the host's staff id)")
    chief_complaint: str = Field(description="the reason for the call, in the caller's words")
    agreement: Literal["agrees", "declines"] | None = Field(
        None, description="the caller's response to the advice; None until the advice is given"
    )
    declined_reason: str | None = Field(None, description="why the caller declined the advice")

    @model_validator(mode="after")
    def _declined_needs_reason(self) -> Self:
        if self.agreement == "declines" and not (self.declined_reason or "").strip():
            raise ValueError("a caller who declines the advice needs declined_reason: say why")
        if self.agreement != "declines" and self.declined_reason is not None:
            raise ValueError("declined_reason is only for a caller who declines the advice")
        if not self.agent_id.strip():
            raise ValueError("agent_id is empty: name the agent taking the call")
        return self
