"""A call record: one call that ran several protocols, and the disposition of the call.

A caller with chest pain and trouble breathing may be triaged with both protocols; the
call's disposition is the most urgent of their dispositions in effect (lowest tier
rank), and ``reason`` says so in words. Built by :func:`triage_dsl.record.combine`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from triage_dsl.model.result import (
    SCHEMA_VERSION,
    Disposition,
    EscalationPlan,
    KeyedSeal,
    Status,
    TriageResult,
    Urgency,
    _Model,
)


class CallRecord(_Model):
    """Every protocol's sealed record for one call, and the call's disposition."""

    schema_version: str = SCHEMA_VERSION
    kind: Literal["call"] = "call"
    call_id: str
    interpreter_version: str
    sealed_at: datetime
    status: Status = Field(description="complete only when every protocol's result is complete")
    results: list[TriageResult] = Field(description="one sealed record per protocol, in the order run")
    protocol: str | None = Field(None, description="the protocol whose disposition the call takes")
    disposition: Disposition | None = None
    urgency: Urgency | None = None
    escalation: EscalationPlan | None = None
    reason: str = Field(description="why the call's disposition is what it is")
    hash: str | None = Field(None, description="SHA-256 over the call's fields and each record's seal head")
    keyed: KeyedSeal | None = Field(
        None, description="(1.2) HMAC-SHA-256 of the hash, when combined with a key"
    )
