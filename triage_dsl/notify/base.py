"""What a notifier is given and what it answers."""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from triage_dsl.model.result import DeliveryAttempt


class Notification(BaseModel):
    """One notification of an escalation step: what the receiving clinician needs to act
    (who called back is the callback number; the clinical detail stays in the record)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    session_id: str | None
    protocol: str
    disposition: str | None
    tier: str | None
    plan: str
    step: int
    attempt: int = Field(description="0 the first notification, 1.. the retries")
    role: str
    channel: str
    person: str | None
    contact: str | None
    callback_number: str | None
    sent_at: str = Field(description="UTC, ISO 8601")


class Notifier(Protocol):
    """Delivers one notification; never raises for a failed delivery (it says so)."""

    name: str

    def send(self, notification: Notification) -> DeliveryAttempt: ...
