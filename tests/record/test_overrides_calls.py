"""Overrides (reasons, policy), escalation runs and calls with several protocols."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.record.helpers import BREATHING, T0, chest, clock, sealed
from triage_dsl import evaluate, load
from triage_dsl.record import (
    EscalationError,
    OverridePolicy,
    OverrideRefused,
    combine,
    escalate,
    escalation_next,
    in_effect,
    override,
    verify,
    verify_call,
)
from triage_dsl.record.escalation import next_step, run, start


def test_an_override_keeps_the_computed_result_and_verifies() -> None:
    protocol, record = chest()
    changed = override(
        record, protocol, "ed_now", by="rn_jones", reason="already at the ED door", clock=clock()
    )
    o = changed.overrides[0]
    assert changed.disposition == record.disposition and o.direction == "downgrade"
    assert o.previous_disposition == "call_911" and o.urgency.tier == "urgent"
    assert in_effect(changed).disposition == o.disposition
    assert changed.seal is not None and changed.seal.head == o.hash != record.seal.head  # type: ignore[union-attr]
    assert verify(changed.model_dump(mode="json"), protocol).ok
    raw = changed.model_dump(mode="json")
    raw["overrides"][0]["reason"] = "edited"
    found = verify(raw, protocol).problems
    assert found and found[0].where == "override 1 by rn_jones"


def test_a_downgrade_needs_a_reason_and_policy_can_forbid_it() -> None:
    protocol, record = chest()
    with pytest.raises(OverrideRefused, match="needs a reason"):
        override(record, protocol, "ed_now", by="rn_jones", clock=clock())
    with pytest.raises(OverrideRefused, match="policy forbids"):
        override(
            record,
            protocol,
            "ed_now",
            by="rn_jones",
            reason="x",
            policy=OverridePolicy(forbid_downgrade_from_top_tier=True),
            clock=clock(),
        )
    same = override(record, protocol, "call_911", by="dr_lee", clock=clock())
    assert same.overrides[0].direction == "same_tier"


def test_an_escalation_run_says_the_next_step_and_when() -> None:
    protocol, record = chest()
    first = escalation_next(record)
    assert first is not None and first.kind == "tell_caller" and first.due_at is not None
    record = escalate(record, "told_caller", at="2026-03-01T02:15:00Z")
    record = escalate(record, "paged", at="2026-03-01T02:16:00Z")
    nxt = escalation_next(record)
    assert nxt is not None and nxt.kind == "notify" and nxt.role == "backup_physician"
    record = escalate(record, "callback", at="2026-03-01T02:20:00Z")
    assert record.escalation_run[-1].next.kind == "done"
    assert [s.seq for s in record.escalation_run] == [1, 2, 3]
    assert verify(record.model_dump(mode="json"), protocol).ok
    with pytest.raises(EscalationError, match="over"):
        escalate(record, "paged", at="2026-03-01T02:21:00Z")


def test_waits_retries_and_the_fallback() -> None:
    from triage_dsl.model.result import EscalationEvent, EscalationPlan, EscalationStep

    plan = EscalationPlan(
        id="page",
        steps=[
            EscalationStep(
                kind="notify",
                role="on_call",
                channel="secure_page",
                wait_minutes=15,
                retries=1,
                retry_every_minutes=10,
                worst_case_minutes=25,
            )
        ],
        fallback="Go to the ED.",
        worst_case_minutes=25,
        location="x:1",
    )
    t0 = start(plan, clock().now()).due_at

    def at(minutes: int) -> EscalationEvent:
        return EscalationEvent(kind="paged", at=t0 + timedelta(minutes=minutes))

    state, steps = run(plan, [at(0)], t0)
    assert steps[0][3].kind == "wait" and steps[0][3].due_at == t0 + timedelta(minutes=15)
    early = EscalationEvent(kind="no_answer", at=t0 + timedelta(minutes=2))
    state, steps = run(plan, [at(0), early], t0)
    assert steps[-1][3].kind == "notify" and steps[-1][3].attempt == 1
    assert steps[-1][3].due_at == t0 + timedelta(minutes=15)  # an early no-answer leaves time for a callback
    late = EscalationEvent(kind="no_answer", at=t0 + timedelta(minutes=26))
    state, steps = run(plan, [at(0), early, at(15), late], t0)
    assert next_step(plan, state).kind == "fallback" and next_step(plan, state).text == "Go to the ED."
    with pytest.raises(EscalationError, match="before anyone"):
        run(plan, [EscalationEvent(kind="callback", at=t0)], t0)
    with pytest.raises(EscalationError, match="time order"):
        run(plan, [at(5), at(0)], t0)


def _all_no(path: Any) -> dict[str, Any]:
    """Answers that complete a protocol: no to every yes/no, the lowest number."""
    protocol = load(path)
    answers: dict[str, Any] = {}
    while (question := evaluate(protocol, answers).next_question) is not None:
        answers[question.id] = False if question.type == "yes/no" else question.range[0]  # type: ignore[index]
    return answers


def test_a_call_takes_the_most_urgent_disposition() -> None:
    chest_protocol, chest_record = chest()
    breathing_protocol, breathing_record = sealed(BREATHING, _all_no(BREATHING))
    assert breathing_record.status == "complete"
    call = combine([breathing_record, chest_record], call_id="call-0001", clock=clock())
    assert call.status == "complete" and call.disposition is not None and call.disposition.id == "call_911"
    assert call.protocol == "chest_pain_adult" and "most urgent of 2" in call.reason
    raw = call.model_dump(mode="json")
    assert verify_call(raw, [chest_protocol, breathing_protocol]).ok
    raw["reason"] = "edited"
    assert not verify_call(raw, [chest_protocol, breathing_protocol]).ok
    assert not verify_call(call.model_dump(mode="json"), [chest_protocol]).ok


def test_a_call_waits_for_every_protocol() -> None:
    _, chest_record = chest()
    _, pending = sealed(BREATHING, {"severe_breathing_difficulty": False})
    call = combine([chest_record, pending], call_id="c", clock=clock())
    assert call.status == "needs_answers" and call.disposition is None
    assert "breathing_difficulty_adult" in call.reason


def test_a_call_of_two_complete_results_with_an_override() -> None:
    protocol, record = chest()
    lowered = override(record, protocol, "see_today", by="dr_lee", reason="seen by GP an hour ago", at=T0)
    call = combine([lowered, record], call_id="c", clock=clock())
    assert (
        call.disposition is not None
        and call.disposition.id == "call_911"
        and call.protocol == "chest_pain_adult"
    )
    assert "overridden" in call.reason
