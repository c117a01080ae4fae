"""Escalation runs across overrides, through the record API (the table is shared with the
service tests): every override starts a run of its plan at the first step, from the
override's time; events in order are accepted, others refused; the earlier runs stay in
the record as they were, the record verifies and the FHIR export follows the run."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import PROTOCOLS
from tests.record.escalation_cases import CASES, FIRST, PROTOCOL, Case, next_of
from tests.record.helpers import T0, clock
from triage_dsl import evaluate, load
from triage_dsl.model.result import TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.record import EscalationError, escalate, escalation_next, override, seal, verify
from triage_dsl.record.clock import utc
from triage_dsl.record.escalation import run, runs


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


def requests_of(record: TriageResult) -> list[dict[str, Any]]:
    fhir = pytest.importorskip("triage_dsl.fhir")
    entries = fhir.bundle(record).model_dump(mode="json")["entry"]
    assert len({e["fullUrl"] for e in entries}) == len(entries)  # no two requests share an id
    return [e["resource"] for e in entries if e["resource"]["resourceType"] == "CommunicationRequest"]


def event_seqs(request: dict[str, Any]) -> list[int]:
    return [
        part["valueInteger"]
        for ext in request.get("extension", [])
        if ext["url"].endswith("escalation-event")
        for part in ext["extension"]
        if part["url"] == "seq"
    ]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_fhir_export_holds_after_overrides(case: Case) -> None:
    """One request per step of the run in effect, after one per step of each earlier run
    that had events; every event of the record is on exactly one request."""
    _, record = play(case)
    found = runs(record)
    current = found[-1]
    earlier = [r for r in found[:-1] if r.steps]
    requests = requests_of(record)
    shown = [*earlier, current]
    assert len(requests) == sum(len(r.plan.steps) for r in shown if r.plan)
    assert sorted(seq for r in requests for seq in event_seqs(r)) == [s.seq for s in record.escalation_run]
    n = sum(len(r.plan.steps) for r in earlier if r.plan)
    assert {r["status"] for r in requests[:n]} <= {"completed", "revoked"}  # an earlier run is over
    assert all("ended by" not in r["statusReason"]["text"] for r in requests[n:])
    if current.plan is not None:
        assert {datetime.fromisoformat(r["authoredOn"]) for r in requests[n:]} == {current.started_at}


def test_an_earlier_run_keeps_what_was_done_and_revokes_the_rest() -> None:
    _, record = play(next(c for c in CASES if c.name == "override and back, with events between"))
    requests = requests_of(record)
    got = [(r["extension"][0]["extension"][0]["valueString"], r["status"], event_seqs(r)) for r in requests]
    assert got == [
        ("emergency_911", "completed", [2]),  # told the caller
        ("emergency_911", "revoked", []),  # ended by the override to ed_now
        ("emergency_911", "revoked", []),
        ("ed_now_page", "revoked", [4]),  # paged, the wait for a callback ended by the override back
        ("ed_now_page", "revoked", []),
        ("emergency_911", "completed", [6]),  # the run in effect: step 1 told again
        ("emergency_911", "active", []),
        ("emergency_911", "draft", []),
    ]
    assert requests[3]["statusReason"]["text"] == (
        "ended by override 5 by rn_jones (to call_911) at 2026-03-01T02:18:00Z: "
        "plan emergency_911, from its first step"
    )


def test_the_new_run_is_due_from_the_override() -> None:
    """After an override the first step of its plan is due at the override's time, not at
    the earlier run's next deadline (the defect: the earlier run's next step, due before
    the override, was reported, and the next event refused as out of time order)."""
    protocol, record = unfinished()
    assert escalation_next(record) is None
    with pytest.raises(EscalationError, match=r"no escalation plan .*the computed disposition has none"):
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


DISPOSITIONS = ("call_911", "anaphylaxis_call_911", "ed_now", "see_today", "allergy_home_care")
KINDS = ("paged", "no_answer", "callback", "told_caller")
operation = st.one_of(
    st.tuples(st.just("override"), st.sampled_from(DISPOSITIONS), st.integers(-3, 20)),
    st.tuples(st.just("event"), st.sampled_from(KINDS), st.integers(-3, 20)),
    st.tuples(st.just("expected"), st.just(""), st.integers(-3, 20)),
    st.tuples(st.just("expected"), st.just(""), st.integers(-3, 20)),
)
EXPECTED = {"tell_caller": "told_caller", "fallback": "told_caller", "notify": "paged", "wait": "no_answer"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=14))
def test_any_sequence_keeps_runs_apart_and_time_in_order(ops: list[tuple[str, str, int]]) -> None:
    """Whatever overrides and events come, in whatever order of time: an event is refused
    for time order exactly when it is earlier than its run's start or last event; the
    runs split the record's events by override; replaying each run from its start gives
    the next step the record holds; and the record verifies."""
    protocol, record = unfinished()
    now = 0
    for what, name, step in ops:
        at = minute(now + step)
        if what == "override":
            if step < 0:
                continue  # an override has no order to keep; the table's cases cover them
            now += step
            record = override(record, protocol, name, by="rn_jones", reason="per call", at=at)
            continue
        if what == "expected":  # the event the run asks for (most random kinds do not fit)
            nxt = escalation_next(record)
            name = EXPECTED.get(nxt.kind, "callback") if nxt else "paged"
        current = runs(record)[-1]
        last = max([current.started_at, *(s.event.at for s in current.steps)])
        try:
            record = escalate(record, name, at=at)  # type: ignore[arg-type]
        except EscalationError as exc:
            assert ("time order" in str(exc)) == (current.plan is not None and at < last), str(exc)
            continue
        assert at >= last
        now = max(now, now + step)
    found = runs(record)
    assert [s for r in found for s in r.steps] == record.escalation_run
    for each in found:
        if each.plan is not None:
            _, replayed = run(each.plan, [s.event for s in each.steps], each.started_at)
            assert [nxt for *_, nxt in replayed] == [s.next for s in each.steps]
    assert verify(record.model_dump(mode="json"), protocol).ok
