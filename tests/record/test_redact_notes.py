"""Redaction, no answer values in log messages, and the golden triage notes."""

from __future__ import annotations

import logging
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from tests.record.helpers import CHEST, NEWS2, T0, chest, clock, example, sealed
from triage_dsl import CallInfo, Session, evaluate, load, render_note
from triage_dsl.model.result import TriageResult
from triage_dsl.record import FixedClock, combine, escalate, override, redact, seal, verify
from triage_dsl.record.keys import RecordKey
from triage_dsl.record.redact import KEPT, SCRUBBED

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


CALL = CallInfo(
    caller="spouse_or_partner",
    caller_detail="Mary, his wife",
    callback_number="+1 555 0100",
    callback_read_back=True,
    patient_can_come_to_phone=False,
    agent_id="agent-17",
    chief_complaint="MRN 00424242 says his chest is tight",
)
KEY = RecordKey(b"k" * 32)


def caller_record() -> TriageResult:
    """A session with every kind of log entry, a caller block and a declined advice."""
    protocol = load(CHEST)
    s = Session(protocol, call=CALL, clock=FixedClock(T0, step=timedelta(seconds=20)))
    s.answer("coughing_blood", True)
    s.answer("severe_breathing_difficulty", False)
    s.answer("coughing_blood", False, reason="misheard: MRN 00424242 coughs phlegm")
    s.answer("lips_skin_blue_grey", False)
    s.retract("lips_skin_blue_grey", "the caller cannot see him")
    s.answer("collapsed", True)
    s.note("he has a pacemaker, MRN 00424242")
    s.respond(False, "wants to drive him in herself, MRN 00424242")
    return seal(s.result(), protocol=protocol, session_id="call-0001", clock=clock())


SECRETS = ("00424242", "Mary", "555 0100", "agent-17", "pacemaker", "phlegm", "cannot see him", "drive him")


@pytest.mark.parametrize("key", [None, KEY], ids=["unkeyed", "keyed"])
def test_redaction_removes_every_free_text_and_identifier(key: RecordKey | None) -> None:
    record = caller_record()
    copy_ = redact(record, key)
    text = copy_.model_dump_json()
    assert not [s for s in SECRETS if s in text]
    assert copy_.call is not None and copy_.call.agreement == "declines" and copy_.call.callback_read_back
    assert [e.question for e in copy_.answer_log] == [e.question for e in record.answer_log]
    if key is None:
        assert copy_.session_id == copy_.call.agent_id == copy_.call.callback_number == "[redacted]"
    else:
        assert copy_.call.callback_number == KEY.pseudonym("+1 555 0100")
        assert copy_.session_id is not None and len(copy_.session_id) == len("hmac-sha256:") + 64
        assert redact(record, key).session_id == copy_.session_id  # stable: log lines can be matched
        assert redact(record, RecordKey(b"o" * 32)).session_id != copy_.session_id


@pytest.mark.parametrize(
    ("answers", "secret"),
    [
        ({"MRN 00424242": True}, "00424242"),  # an unknown answer key
        ({"collapsed": "MRN 00424242"}, "00424242"),  # an invalid value quoted in the error text
        ({"pain_minutes": 1e9, "Jane Doe": 1}, "Jane Doe"),
    ],
)
def test_redaction_of_invalid_answers_keeps_no_unknown_key_or_error_text(
    answers: dict[str, object], secret: str
) -> None:
    protocol = load(CHEST)
    record = seal(evaluate(protocol, answers), protocol=protocol, session_id="s", clock=clock())
    assert record.status == "error" and secret in record.model_dump_json()
    for key in (None, KEY):
        copy_ = redact(record, key)
        assert secret not in copy_.model_dump_json()
        assert {e.code for e in copy_.errors} == {e.code for e in record.errors}


def test_every_record_field_is_either_kept_or_scrubbed() -> None:
    assert set(TriageResult.model_fields) == set(KEPT) | set(SCRUBBED)


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
    # an override after a callback starts a new run; the last override has no event yet
    rerun = override(
        escalated, protocol, "ed_now", by="dr_lee", reason="seen at the door", at="2026-03-01T02:25:00Z"
    )
    rerun = escalate(rerun, "paged", at="2026-03-01T02:26:00Z")
    rerun = override(rerun, protocol, "call_911", by="dr_lee", at="2026-03-01T02:30:00Z")
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
        "chest_caller": caller_record(),
        "chest_escalated": escalated,
        "chest_escalated_overridden": rerun,
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


secret_text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ", min_size=1, max_size=12).map(
    lambda t: f"QZX{t}XZQ"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(secret_text, min_size=7, max_size=7),
    st.dictionaries(secret_text, st.one_of(st.booleans(), secret_text, st.integers()), max_size=3),
)
def test_no_free_text_or_unknown_key_survives_redaction(texts: list[str], junk: dict[str, object]) -> None:
    protocol = load(CHEST)
    call = CallInfo(
        caller="other",
        caller_detail=texts[0],
        callback_number=texts[1],
        callback_read_back=True,
        patient_can_come_to_phone=True,
        agent_id=texts[2],
        chief_complaint=texts[3],
    )
    s = Session(protocol, call=call, clock=FixedClock(T0))
    s.answer("collapsed", False)
    s.answer("collapsed", False, reason=texts[4])
    s.retract("collapsed", texts[5])
    s.answer("collapsed", True)
    s.note(texts[6])
    s.respond(False, texts[0])
    record = seal(s.result(), protocol=protocol, session_id=texts[1], clock=clock())
    batch = seal(
        evaluate(protocol, {"collapsed": True, **junk}), protocol=protocol, session_id="s", clock=clock()
    )
    for one in (record, batch):
        for key in (None, KEY):
            assert "QZX" not in redact(one, key).model_dump_json()


HOSTILE_PROTOCOL = """protocol hostile
  title "Note <img src=x onerror=alert(1)>"
  version "1"
end
question fever: yes/no ask "Fever? [more](javascript:alert(1))" end
disposition seen label "Seen *today* `now`" tier same_day advice "Rest. <script>alert(2)</script>" end
disposition home label "Home" tier home_care end
triage section seen if any of when fever end default home end
"""
FORGED = "cough\n\n## Disposition\n- Care at home (forged)\r\nTRIAGE NOTE: forged\u2028Disposition:"


@pytest.mark.parametrize("markdown", [False, True])
def test_free_text_cannot_add_sections_links_or_tags_to_a_note(markdown: bool) -> None:
    """The caller's words and the protocol's text are written on one line each, and in
    Markdown with their markup escaped: a complaint cannot forge a disposition section,
    a label cannot become a link, an image or a script."""
    from triage_dsl import compile_text

    protocol = compile_text(HOSTILE_PROTOCOL, str(ROOT / "protocols" / "hostile.triage"))
    call = CallInfo(caller="patient", agent_id="a-1\n## Overrides", chief_complaint=FORGED)
    note = render_note(evaluate(protocol, {"fever": True}, call=call), markdown=markdown)
    heads = [line for line in note.splitlines() if line.startswith("#" if markdown else "TRIAGE NOTE")]
    if markdown:
        assert heads == [line for line in note.splitlines() if line.startswith(("# Triage", "## "))]
        assert [h for h in heads if h.startswith("## Disposition")] == ["## Disposition"]
        assert not re.search(r"(?<!\\)[<\[\]`*]", note)  # every markup character escaped
        assert "\\<img src=x onerror=alert(1)\\>" in note and "\\[more\\](javascript:alert(1))" in note
        assert "Seen \\*today\\* \\`now\\`" in note
    else:
        assert len(heads) == 1 and note.count("\nDisposition:\n") == 1
        assert "Rest. <script>alert(2)</script>" in note  # plain text: shown as written
    shown = note.replace("\\", "")  # as a Markdown reader shows it
    assert "cough  ## Disposition - Care at home (forged) TRIAGE NOTE: forged Disposition:" in shown
