"""Overrides: a person changes the disposition; the record keeps both, with who, when, why.

Rules: a downgrade (to a less urgent tier than the disposition in effect) needs a
reason; a practice's :class:`OverridePolicy` (one for its whole protocol library) may
forbid downgrades out of the top tier altogether. The new disposition must be one the
protocol declares, so its tier, advice and escalation plan come from the protocol.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from triage_dsl.errors import RecordError
from triage_dsl.model.result import Disposition, EscalationPlan, Override, TriageResult, Urgency
from triage_dsl.protocol import Protocol
from triage_dsl.record.clock import SYSTEM_CLOCK, Clock, utc
from triage_dsl.record.keys import RecordKey
from triage_dsl.record.seal import append, next_seq
from triage_dsl.runtime.interpreter import escalation_plan, program, urgency

log = logging.getLogger("triage_dsl.record")


class OverridePolicy(BaseModel):
    """The practice's rules for overrides, the same for every protocol of its library.

    >>> OverridePolicy.model_validate_json('{"forbid_downgrade_from_top_tier": true}')
    OverridePolicy(forbid_downgrade_from_top_tier=True)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    forbid_downgrade_from_top_tier: bool = Field(
        False, description="refuse any override that moves a top-tier (rank 0) disposition to a lower tier"
    )


class InEffect(NamedTuple):
    """The disposition in effect: the last override's, or the computed one."""

    disposition: Disposition | None
    urgency: Urgency | None
    escalation: EscalationPlan | None
    source: str  # "computed" or "override N by WHO"


def in_effect(record: TriageResult) -> InEffect:
    if record.overrides:
        last = record.overrides[-1]
        return InEffect(last.disposition, last.urgency, last.escalation, f"override {last.seq} by {last.by}")
    return InEffect(record.disposition, record.urgency, record.escalation, "computed")


class OverrideRefused(RecordError):
    """The override breaks a rule (no reason for a downgrade, a policy forbids it)."""


def override(
    record: TriageResult,
    protocol: Protocol,
    disposition: str,
    *,
    by: str,
    reason: str | None = None,
    at: datetime | str | None = None,
    clock: Clock | None = None,
    policy: OverridePolicy | None = None,
    key: RecordKey | None = None,
) -> TriageResult:
    """Append an override to a sealed record, or raise :class:`OverrideRefused`
    (``key``: the record key, needed for a record with a keyed seal)."""
    if protocol.sha256 != record.protocol.sha256:
        raise RecordError(f"the record was made with another version of protocol '{record.protocol.id}'")
    target = protocol.plan.dispositions.get(disposition)
    if target is None:
        raise RecordError(f"'{disposition}' is not a disposition of protocol '{protocol.id}'")
    if not by.strip():
        raise OverrideRefused("an override must say who made it")
    reason = reason.strip() if reason and reason.strip() else None
    policy = policy or OverridePolicy()
    before = in_effect(record)
    new_urgency = urgency(target)
    if before.urgency is None:
        direction = "first_disposition"
    elif new_urgency.rank > before.urgency.rank:
        direction = "downgrade"
    elif new_urgency.rank < before.urgency.rank:
        direction = "upgrade"
    else:
        direction = "same_tier"
    if direction in ("downgrade", "first_disposition") and reason is None:
        what = (
            "a downgrade to a less urgent tier"
            if direction == "downgrade"
            else "a disposition the protocol did not reach"
        )
        raise OverrideRefused(f"{what} needs a reason")
    if (
        direction == "downgrade"
        and policy.forbid_downgrade_from_top_tier
        and before.urgency is not None
        and before.urgency.rank == 0
    ):
        raise OverrideRefused(
            f"the practice's policy forbids downgrades out of the top tier ({before.urgency.tier})"
        )
    where = program(protocol).where
    item = Override(
        seq=next_seq(record),
        by=by,
        at=utc(at) if at is not None else utc((clock or SYSTEM_CLOCK).now()),
        reason=reason,
        disposition=Disposition(
            id=target.id, label=target.label, care_advice=list(target.advice), location=where(target.span)
        ),
        urgency=new_urgency,
        escalation=escalation_plan(target.escalation, where) if target.escalation else None,
        previous_disposition=before.disposition.id if before.disposition else None,
        previous_tier_rank=before.urgency.rank if before.urgency else None,
        direction=direction,
    )
    log.info("override %d (%s) on protocol %s", item.seq, direction, record.protocol.id)
    return append(record, "override", item, key)
