"""Escalation runs: a small state machine over an escalation plan and a stream of events.

The host pages, calls and talks to the caller; the machine says what to do next and
when. Events: ``paged`` (the host sent the current notification), ``no_answer`` (nobody
called back, or the page failed), ``callback`` (the clinician called back: done) and
``told_caller`` (the host said the current ``tell caller`` text, or the fallback).

States, per plan step: *act* (do the step now), *waiting* (a notification was sent;
wait for a callback until the deadline), then the next attempt or step; after the last
step, *fallback* (tell the caller the plan's last words); *done* after a callback or the
fallback. A notification's first wait is the step's ``wait``, each retry waits ``every``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from triage_dsl.errors import RecordError
from triage_dsl.model.result import (
    DeliveryAttempt,
    EscalationEvent,
    EscalationPlan,
    EscalationStep,
    EscalationStepRun,
    NextEscalationStep,
    Override,
    StepResolution,
    TriageResult,
)
from triage_dsl.record.clock import SYSTEM_CLOCK, Clock, utc
from triage_dsl.record.keys import RecordKey
from triage_dsl.record.seal import append, next_seq

log = logging.getLogger("triage_dsl.record")

Phase = Literal["act", "waiting", "fallback", "done"]


class EscalationError(RecordError):
    """An event that does not fit the run (a callback before any page, time going back)."""


@dataclass(frozen=True)
class EscalationState:
    """Where a run is: step (0-based; ``len(steps)`` once at the fallback), attempt, phase."""

    step: int
    attempt: int
    phase: Phase
    due_at: datetime  # act/fallback: when to do it; waiting: the callback deadline
    last_event_at: datetime
    paged: bool = False


def start(plan: EscalationPlan, at: datetime) -> EscalationState:
    """The state before any event: the first step is due at ``at``."""
    return _enter(plan, 0, at, at, paged=False)


def _enter(plan: EscalationPlan, step: int, due: datetime, last: datetime, paged: bool) -> EscalationState:
    phase: Phase = "act" if step < len(plan.steps) else "fallback"
    return EscalationState(step, 0, phase, due, last, paged)


def _wait(step: EscalationStep, attempt: int) -> float | None:
    return step.wait_minutes if attempt == 0 else (step.retry_every_minutes or step.wait_minutes)


def next_step(plan: EscalationPlan, state: EscalationState) -> NextEscalationStep:
    """What the host should do next, and when."""
    n = state.step + 1
    if state.phase == "done":
        return NextEscalationStep(kind="done", explanation="the escalation run is over")
    if state.phase == "fallback":
        return NextEscalationStep(
            kind="fallback",
            text=plan.fallback,
            due_at=state.due_at,
            explanation="every step has been tried without a callback: tell the caller the plan's last words",
        )
    step = plan.steps[state.step]
    if state.phase == "waiting":
        return NextEscalationStep(
            kind="wait",
            step=n,
            attempt=state.attempt,
            role=step.role,
            channel=step.channel,
            due_at=state.due_at,
            explanation=f"wait for a callback from {step.role} until the deadline; then report no_answer",
        )
    if step.kind == "tell_caller":
        return NextEscalationStep(
            kind="tell_caller",
            step=n,
            text=step.text,
            due_at=state.due_at,
            explanation=f"step {n}: tell the caller",
        )
    tries = f"attempt {state.attempt + 1} of {step.retries + 1}"
    return NextEscalationStep(
        kind="notify",
        step=n,
        attempt=state.attempt,
        role=step.role,
        channel=step.channel,
        due_at=state.due_at,
        explanation=f"step {n}: notify {step.role} by {step.channel} ({tries})",
    )


def apply(plan: EscalationPlan, state: EscalationState, event: EscalationEvent) -> EscalationState:
    """The state after ``event``, or :class:`EscalationError` when it does not fit."""
    at = utc(event.at)
    if at < state.last_event_at:
        raise EscalationError(
            f"escalation events must come in time order: '{event.kind}' at {at.isoformat()} is before "
            f"the run's last event or start, {state.last_event_at.isoformat()}"
        )
    if state.phase == "done":
        raise EscalationError("the escalation run is over")
    if event.kind == "callback":
        if not state.paged:
            raise EscalationError("a callback before anyone was notified")
        return replace(state, phase="done", last_event_at=at)
    if state.phase == "fallback":
        if event.kind != "told_caller":
            raise EscalationError(f"'{event.kind}' after every step was tried: tell the caller the fallback")
        return replace(state, phase="done", last_event_at=at)
    step = plan.steps[state.step]
    if state.phase == "act":
        expected = "told_caller" if step.kind == "tell_caller" else "paged"
        if event.kind != expected:
            raise EscalationError(f"step {state.step + 1} expects '{expected}', not '{event.kind}'")
        if event.delivery is not None and not event.delivery.ok:
            # Nobody was reached: a callback cannot come, so waiting for one would only
            # delay the next attempt (due after the retry interval) or the next step (now).
            if state.attempt < step.retries:
                every = step.retry_every_minutes or step.wait_minutes or 0
                return replace(
                    state, attempt=state.attempt + 1, due_at=at + timedelta(minutes=every), last_event_at=at
                )
            return _enter(plan, state.step + 1, at, at, paged=state.paged)
        wait = _wait(step, state.attempt) if step.kind == "notify" else None
        if wait:
            return replace(
                state, phase="waiting", due_at=at + timedelta(minutes=wait), last_event_at=at, paged=True
            )
        return _enter(plan, state.step + 1, at, at, paged=state.paged or step.kind == "notify")
    # waiting for a callback
    if event.kind != "no_answer":
        raise EscalationError(f"waiting for a callback from {step.role}: '{event.kind}' does not fit")
    due = max(at, state.due_at)  # an early "no answer" still leaves time for a callback
    if state.attempt < step.retries:
        return replace(state, phase="act", attempt=state.attempt + 1, due_at=due, last_event_at=at)
    return _enter(plan, state.step + 1, due, at, paged=True)


def run(
    plan: EscalationPlan, events: Iterable[EscalationEvent], started_at: datetime
) -> tuple[EscalationState, list[tuple[EscalationEvent, int | None, int, NextEscalationStep]]]:
    """Replay events from the start: the final state and, per event, its step, attempt and next step."""
    state = start(plan, utc(started_at))
    steps: list[tuple[EscalationEvent, int | None, int, NextEscalationStep]] = []
    for event in events:
        step = state.step + 1 if state.phase in ("act", "waiting") else None
        attempt = state.attempt
        state = apply(plan, state, event)
        steps.append((event, step, attempt, next_step(plan, state)))
    return state, steps


@dataclass(frozen=True)
class EscalationRun:
    """One run of an escalation plan: the computed disposition's from the seal, or an
    override's from the override, until the next override ends it.

    Every override starts a run of its disposition's plan at that plan's first step, its
    deadlines counted from the override, even when the plan is the one already running: a
    notification or callback about the earlier disposition does not cover the new one.
    The earlier runs' steps stay in the record as they were.
    """

    plan: EscalationPlan | None  # None: the disposition then in effect has no plan
    started_at: datetime
    started_by: Override | None  # None: the computed disposition, from the seal
    steps: tuple[EscalationStepRun, ...]

    @property
    def origin(self) -> str:
        """What started the run, in words (for messages and exports)."""
        if self.started_by is None:
            return "the computed disposition"
        o = self.started_by
        return f"override {o.seq} by {o.by} (to {o.disposition.id})"


def runs(record: TriageResult) -> list[EscalationRun]:
    """The record's escalation runs in order: the first from the seal, one more per
    override; each holds the escalation steps appended while it was the run in effect
    (by ``seq``, which orders overrides and escalation steps together)."""
    if record.sealed_at is None:
        raise RecordError("the result is not sealed: escalation runs belong to a sealed record")
    starts: list[tuple[int, EscalationPlan | None, datetime, Override | None]] = [
        (0, record.escalation, utc(record.sealed_at), None)
    ]
    starts += [(o.seq, o.escalation, utc(o.at), o) for o in record.overrides]
    out: list[EscalationRun] = []
    for number, (seq, plan, at, by) in enumerate(starts):
        until = starts[number + 1][0] if number + 1 < len(starts) else None
        steps = tuple(s for s in record.escalation_run if s.seq > seq and (until is None or s.seq < until))
        for s in steps:
            if plan is None or s.plan != plan.id:
                raise EscalationError(
                    f"escalation step {s.seq} names plan '{s.plan}', but the plan in effect then was "
                    f"{repr(plan.id) if plan else 'none'}: the record is inconsistent"
                )
        out.append(EscalationRun(plan, at, by, steps))
    return out


def current_run(record: TriageResult) -> EscalationRun:
    """The run in effect: the last override's, or the computed disposition's."""
    return runs(record)[-1]


def escalation_next(record: TriageResult) -> NextEscalationStep | None:
    """The next step of the record's escalation run (None when no plan is in effect)."""
    current = current_run(record)
    if current.plan is None:
        return None
    if current.steps:
        return current.steps[-1].next
    return next_step(current.plan, start(current.plan, current.started_at))


def escalate(
    record: TriageResult,
    kind: Literal["paged", "callback", "no_answer", "told_caller"],
    *,
    at: datetime | str | None = None,
    detail: str | None = None,
    clock: Clock | None = None,
    key: RecordKey | None = None,
    resolved: StepResolution | None = None,
    delivery: DeliveryAttempt | None = None,
) -> TriageResult:
    """Append one event of the escalation run to a sealed record, with the next step
    (``key``: the record key, needed for a record with a keyed seal). ``resolved`` names
    who a ``paged`` notification was meant for (the roster's holder, channel and contact);
    ``delivery`` how a notifier delivered it (a failed delivery moves the run on at once)."""
    current = current_run(record)
    plan = current.plan
    if plan is None:
        raise EscalationError(f"no escalation plan is in effect for this record ({current.origin} has none)")
    if (resolved is not None or delivery is not None) and kind != "paged":
        raise EscalationError("only a 'paged' event names who was notified and how it was delivered")
    event = EscalationEvent(
        kind=kind,
        at=utc(at) if at is not None else utc((clock or SYSTEM_CLOCK).now()),
        detail=detail,
        delivery=delivery,
    )
    if event.at < current.started_at:
        raise EscalationError(
            f"escalation events must come in time order: '{kind}' at {event.at.isoformat()} is before "
            f"the run of plan '{plan.id}' started at {current.started_at.isoformat()} ({current.origin})"
        )
    state, _ = run(plan, [s.event for s in current.steps], current.started_at)
    step = state.step + 1 if state.phase in ("act", "waiting") else None
    attempt = state.attempt
    state = apply(plan, state, event)
    notifies = plan.steps[step - 1] if step is not None else None
    if resolved is not None and (
        notifies is None or (resolved.role, resolved.channel) != (notifies.role, notifies.channel)
    ):
        raise EscalationError(
            f"the resolution names {resolved.role} by {resolved.channel}, but the step notifies "
            f"{notifies.role if notifies else 'nobody'} by {notifies.channel if notifies else '-'}"
        )
    item = EscalationStepRun(
        seq=next_seq(record),
        plan=plan.id,
        event=event,
        step=step,
        attempt=attempt,
        role=notifies.role if notifies else None,
        channel=notifies.channel if notifies else None,
        resolved=resolved,
        next=next_step(plan, state),
    )
    log.info("escalation %s on plan %s, next %s", kind, plan.id, item.next.kind)
    return append(record, "escalation", item, key)
