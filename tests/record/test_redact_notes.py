"""Redaction, no answer values in log messages, and the golden triage notes."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.record.helpers import NEWS2, chest, clock, example, sealed
from triage_dsl import render_note
from triage_dsl.model.result import TriageResult
from triage_dsl.record import combine, escalate, override, redact, verify

NOTES = ROOT / "tests" / "data" / "notes"
# NEWS2 answers chosen to be findable in text: no hash (hex) holds a dot or these words.
DISTINCT = {**example("news2_high"), "temp_c": 38.7, "spo2": 93, "consciousness": "voice"}
NEEDLES = ("38.7", "voice", "already at the ED door")


def test_redact_removes_answers_and_free_text_and_keeps_the_outcome() -> None:
    protocol, record = chest()
    record = override(
        record, protocol, "ed_now", by="rn_jones", reason="already at the ED door", clock=clock()
    )
    copy_ = redact(record)
    text = copy_.model_dump_json()
    assert copy_.redacted and copy_.note is None and "already at the ED door" not in text
    assert "rn_jones" not in text and "call-0001" not in text
    assert set(copy_.answers.values()) == {"[redacted]"} and list(copy_.answers) == list(record.answers)
    assert copy_.disposition == record.disposition and copy_.urgency == record.urgency
    assert copy_.protocol == record.protocol and copy_.seal == record.seal
    assert [e.hash for e in copy_.trace] == [e.hash for e in record.trace]
    assert all(set(e.reads.values()) <= {"[redacted]"} for e in copy_.trace)
    assert not verify(copy_.model_dump(mode="json"), protocol).ok


def test_redacted_news2_holds_no_answer_value() -> None:
    _, record = sealed(NEWS2, DISTINCT)
    text = redact(record).model_dump_json()
    assert "38.7" not in text and '"voice"' not in text


def test_the_library_never_logs_answer_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="triage_dsl")
    protocol, record = sealed(NEWS2, DISTINCT)
    raw = record.model_dump(mode="json")
    raw["answers"]["temp_c"] = 38.75
    raw["trace"][0]["detail"] = "answered 38.7 voice"
    assert not verify(raw, protocol).ok
    chest_protocol, chest_record = chest()
    chest_record = override(
        chest_record, chest_protocol, "ed_now", by="rn", reason="already at the ED door", clock=clock()
    )
    chest_record = escalate(chest_record, "paged", clock=clock(), detail="voice 38.7")
    combine([record, chest_record], call_id="c", clock=clock())
    redact(record)
    messages = [r.getMessage() for r in caplog.records]
    assert messages, "the library logs what it does"
    assert not [m for m in messages if any(n in m for n in NEEDLES)]


def _notes() -> dict[str, TriageResult]:
    protocol, record = chest()
    escalated = escalate(record, "told_caller", at="2026-03-01T02:15:00Z")
    escalated = escalate(escalated, "paged", at="2026-03-01T02:16:00Z")
    escalated = escalate(escalated, "paged", at="2026-03-01T02:16:30Z")
    escalated = escalate(escalated, "callback", at="2026-03-01T02:24:00Z")
    overridden = override(
        record,
        protocol,
        "ed_now",
        by="rn_jones",
        reason="Caller is already at the hospital entrance; staff are walking him in.",
        at="2026-03-01T02:18:00Z",
    )
    _, news2_record = sealed(NEWS2, example("news2_high"))
    _, pending = sealed(NEWS2, {"resp_rate": 16, "spo2_scale2": False})
    floors = ROOT / "tests" / "data" / "floors" / "cough.triage"
    base = {"collapsed": False, "coughing_blood": False, "short_of_breath": False, "pregnant": True}
    base |= {"fever": True, "age_years": 80, "immunosuppressed": False, "worried": False}
    _, raised = sealed(floors, base)
    _, assumed = sealed(floors, {**base, "pregnant": False, "fell": "unknown"})
    return {
        "floor_raised": raised,
        "floor_assumed": assumed,
        "chest_escalated": escalated,
        "chest_overridden": overridden,
        "news2_high": news2_record,
        "news2_pending": pending,
    }


@pytest.mark.parametrize("name", sorted(_notes()))
@pytest.mark.parametrize("markdown", [False, True], ids=["txt", "md"])
def test_golden_notes(name: str, markdown: bool) -> None:
    note = render_note(_notes()[name], markdown=markdown).replace(f"{ROOT}/", "")
    path = NOTES / f"{name}.{'md' if markdown else 'txt'}"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(note, encoding="utf-8")
    assert note == Path(path).read_text(encoding="utf-8"), f"rerun with UPDATE_GOLDEN=1 and review {path}"
