"""Shared makers for the record tests: fixed clocks, sealed records of bundled protocols."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.conftest import PROTOCOLS
from triage_dsl import evaluate, load
from triage_dsl.model.result import TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.record import FixedClock, seal

# The record tests run on pinned copies of two telephone protocols (and the chest-pain
# example answers) as they were when the record format was designed: what they test is the
# record, and the shipped protocols' clinical content keeps changing under review.
PINNED = PROTOCOLS.parent / "tests" / "data" / "record" / "protocol"
CHEST = PINNED / "chest_pain_adult.triage"
BREATHING = PINNED / "breathing_difficulty_adult.triage"
NEWS2 = PROTOCOLS / "rules" / "news2.triage"
T0 = "2026-03-01T02:14:00Z"


def clock() -> FixedClock:
    return FixedClock(T0, step=timedelta(minutes=1))


def example(name: str) -> dict[str, Any]:
    pinned = PINNED / f"{name}.json"
    path = pinned if pinned.exists() else PROTOCOLS / "examples" / f"{name}.json"
    answers: dict[str, Any] = json.loads(path.read_text())
    return answers


def sealed(path: Any, answers: dict[str, Any], session: str = "call-0001") -> tuple[Protocol, TriageResult]:
    protocol = load(path)
    return protocol, seal(evaluate(protocol, answers), protocol=protocol, session_id=session, clock=clock())


def chest() -> tuple[Protocol, TriageResult]:
    return sealed(CHEST, example("chest_pain_emergency"))


def news2() -> tuple[Protocol, TriageResult]:
    return sealed(NEWS2, example("news2_high"))
