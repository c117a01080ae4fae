"""Escalation runs across overrides, through the record API (the table is shared with the
service tests): every override starts a run of its plan at the first step, from the
override's time; events in order are accepted, others refused; the earlier runs stay in
the record as they were, the record verifies and the FHIR export follows the run."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.conftest import PROTOCOLS
from tests.record.escalation_cases import CASES, FIRST, PROTOCOL, Case, next_of
from tests.record.helpers import T0, clock
from triage_dsl import evaluate, load
from triage_dsl.model.result import TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.record import EscalationError, escalate, escalation_next, override, seal, verify
from triage_dsl.record.clock import utc
from triage_dsl.record.escalation import current_run, runs


def minute(n: int) -> datetime:
    return utc(T0) + timedelta(minutes=n)


def unfinished() -> tuple[Protocol, TriageResult]:
    """The case's start: a call sealed before its interview ended (no disposition, no plan)."""
    protocol = load(PROTOCOLS / "telephone" / f"{PROTOCOL}.triage")
    return protocol, seal(evaluate(protocol, {}), protocol=protocol, session_id="call-0001", clock=clock())


def play(case: Case) -> tuple[Protocol, TriageResult]:
    """Apply the case's steps, checking each against the table; the final record."""
    protocol, record = unfinished()
    for number, (what, name, at, expect) in enumerate((FIRST, *case.steps)):
        where = f"step {number} ({what} {name} at +{at} min)"
        if what == "override":
            before = record.escalation_run
            record = override(record, protocol, name, by="rn_jones", reason=expect or None, at=minute(at))
            assert record.escalation_run == before, where  # nothing of the earlier run changes
            continue
        if expect.startswith("!"):
            with pytest.raises(EscalationError, match=re.escape(expect[1:])):
                escalate(record, name, at=minute(at))  # type: ignore[arg-type]
            continue
        record = escalate(record, name, at=minute(at))  # type: ignore[arg-type]
        got = record.escalation_run[-1].next
        assert next_of(got.kind, got.step) == expect, where
        assert escalation_next(record) == got, where
    return protocol, record


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_events_across_overrides(case: Case) -> None:
    protocol, record = play(case)
    found = runs(record)
    assert [(r.plan.id if r.plan else None, len(r.steps)) for r in found] == list(case.runs)
    assert [r.started_by for r in found] == [None, *record.overrides]
    assert [r.started_at for r in found] == [utc(T0), *(o.at for o in record.overrides)]
    # every event is in exactly one run, in seq order: nothing is lost or counted twice
    assert [s for r in found for s in r.steps] == record.escalation_run
    assert verify(record.model_dump(mode="json"), protocol).ok


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_fhir_export_holds_after_overrides(case: Case) -> None:
    fhir = pytest.importorskip("triage_dsl.fhir")
    _, record = play(case)
    current = current_run(record)
    bundle = fhir.bundle(record).model_dump(mode="json")
    resources = [e["resource"] for e in bundle["entry"]]
    requests = [r for r in resources if r["resourceType"] == "CommunicationRequest"]
    if current.plan is None:
        assert requests == []
        return
    assert len(requests) == len(current.plan.steps)
    assert {datetime.fromisoformat(r["authoredOn"]) for r in requests} == {current.started_at}
    seqs = [
        part["valueInteger"]
        for r in requests
        for ext in r.get("extension", [])
        if ext["url"].endswith("escalation-event")
        for part in ext["extension"]
        if part["url"] == "seq"
    ]
    assert seqs == [s.seq for s in current.steps]


def test_the_new_run_is_due_from_the_override() -> None:
    """After an override the first step of its plan is due at the override's time, not at
    the earlier run's next deadline (the defect: the earlier run's next step, due before
    the override, was reported, and the next event refused as out of time order)."""
    protocol, record = unfinished()
    assert escalation_next(record) is None
    with pytest.raises(EscalationError, match=r"no escalation plan is in effect .*from the seal"):
        escalate(record, "told_caller", at=minute(0))
    record = override(record, protocol, "call_911", by="rn_jones", reason="collapsed", at=minute(0))
    record = escalate(record, "told_caller", at=minute(1))
    record = override(record, protocol, "anaphylaxis_call_911", by="dr_lee", at=minute(2))
    nxt = escalation_next(record)
    assert nxt is not None and (nxt.kind, nxt.step, nxt.due_at) == ("tell_caller", 1, minute(2))
    record = override(record, protocol, "ed_now", by="dr_lee", reason="x", at=minute(3))
    record = override(record, protocol, "call_911", by="dr_lee", at=minute(7))
    nxt = escalation_next(record)
    assert nxt is not None and (nxt.kind, nxt.step, nxt.due_at) == ("tell_caller", 1, minute(7))


def test_a_step_that_names_another_plan_is_refused_clearly() -> None:
    protocol, record = unfinished()
    record = override(record, protocol, "ed_now", by="rn_jones", reason="x", at=minute(1))
    record = escalate(record, "paged", at=minute(2))
    forged = record.model_copy(
        update={"escalation_run": [record.escalation_run[0].model_copy(update={"plan": "emergency_911"})]}
    )
    with pytest.raises(EscalationError, match=r"names plan 'emergency_911'.*inconsistent"):
        escalation_next(forged)
