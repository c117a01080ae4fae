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

CHEST = PROTOCOLS / "telephone" / "chest_pain_adult.triage"
BREATHING = PROTOCOLS / "telephone" / "breathing_difficulty_adult.triage"
NEWS2 = PROTOCOLS / "rules" / "news2.triage"
T0 = "2026-03-01T02:14:00Z"


def clock() -> FixedClock:
    return FixedClock(T0, step=timedelta(minutes=1))


def example(name: str) -> dict[str, Any]:
    answers: dict[str, Any] = json.loads((PROTOCOLS / "examples" / f"{name}.json").read_text())
    return answers


def sealed(path: Any, answers: dict[str, Any], session: str = "call-0001") -> tuple[Protocol, TriageResult]:
    protocol = load(path)
    return protocol, seal(evaluate(protocol, answers), protocol=protocol, session_id=session, clock=clock())


def chest() -> tuple[Protocol, TriageResult]:
    return sealed(CHEST, example("chest_pain_emergency"))


def news2() -> tuple[Protocol, TriageResult]:
    return sealed(NEWS2, example("news2_high"))
