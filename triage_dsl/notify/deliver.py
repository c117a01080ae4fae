"""The driver: send the record's next notification and append the attempt.

``deliver_next(record, notifier, resolver=...)`` reads the next step of the escalation
run in effect; when it is a notification that is due, it resolves the step's role to a
person and contact (``resolver``: a roster :class:`~triage_dsl.roster.directory.Directory`,
or anything with its ``resolve``), sends it, and appends a ``paged`` event naming who it
was for and how delivery went. When nobody can be reached (no holder, no contact on the
channel) nothing is sent and the attempt is recorded as failed: the run moves on to the
next attempt after the retry interval, or to the next step at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from triage_dsl.model.result import DeliveryAttempt, StepResolution, TriageResult
from triage_dsl.notify.base import Notification, Notifier
from triage_dsl.record.clock import SYSTEM_CLOCK, Clock, utc
from triage_dsl.record.escalation import EscalationError, escalate, escalation_next
from triage_dsl.record.keys import RecordKey
from triage_dsl.record.overrides import in_effect


class Resolver(Protocol):
    def resolve(self, role: str, channel: str, at: datetime) -> StepResolution: ...


def deliver_next(
    record: TriageResult,
    notifier: Notifier,
    *,
    resolver: Resolver | None = None,
    clock: Clock | None = None,
    key: RecordKey | None = None,
) -> TriageResult:
    """The record with the next notification sent and its attempt appended, or
    :class:`EscalationError` when the next step is not a notification due now."""
    nxt = escalation_next(record)
    if nxt is None or nxt.kind != "notify" or nxt.role is None or nxt.channel is None or nxt.step is None:
        raise EscalationError(f"the next step is {nxt.kind if nxt else 'nothing'}, not a notification")
    now = utc((clock or SYSTEM_CLOCK).now())
    if nxt.due_at is not None and now < nxt.due_at:
        raise EscalationError(f"the next notification is due at {nxt.due_at.isoformat()}, not before")
    resolved = resolver.resolve(nxt.role, nxt.channel, now) if resolver is not None else None
    if resolved is not None and resolved.contact is None:
        delivery = DeliveryAttempt(notifier=notifier.name, ok=False, tries=0, detail=resolved.explanation)
    else:
        effect = in_effect(record)
        plan = effect.escalation
        assert plan is not None  # escalation_next gave a step
        notification = Notification(
            session_id=record.session_id,
            protocol=record.protocol.id,
            disposition=effect.disposition.id if effect.disposition else None,
            tier=effect.urgency.tier if effect.urgency else None,
            plan=plan.id,
            step=nxt.step,
            attempt=nxt.attempt,
            role=nxt.role,
            channel=nxt.channel,
            person=resolved.person if resolved else None,
            contact=resolved.contact if resolved else None,
            callback_number=record.call.callback_number if record.call else None,
            sent_at=now.isoformat().replace("+00:00", "Z"),
        )
        delivery = notifier.send(notification)
    return escalate(record, "paged", at=now, key=key, resolved=resolved, delivery=delivery)
