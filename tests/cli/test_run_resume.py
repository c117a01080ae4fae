"""``triage run --save`` keeps the partial record after every answer, so a terminal
killed mid-call (SIGKILL, a lost connection, a power cut) loses nothing; ``--resume``
continues that call from the saved record, which must verify against the protocol and
replay event for event."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from triage_dsl import load
from triage_dsl.cli import main
from triage_dsl.errors import SessionError
from triage_dsl.model.caller import CallInfo
from triage_dsl.record import verify
from triage_dsl.record.clock import FixedClock
from triage_dsl.record.verify import parse_record
from triage_dsl.runtime.replay import replayed
from triage_dsl.runtime.session import Session

ROOT = Path(__file__).resolve().parents[2]
QSOFA = ROOT / "protocols" / "rules" / "qsofa.triage"
ESI = ROOT / "protocols" / "rules" / "esi.triage"
CALLER = "1\n\nN1\nfever\n"  # patient, no callback number, agent N1, the complaint


def run(argv: list[str], typed: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["run", *argv], io.StringIO(typed), out, err)
    return code, out.getvalue(), err.getvalue()


def answers_in(path: Path) -> list[tuple[str, str | None, Any]]:
    if not path.is_file():
        return []
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError:  # pragma: no cover - written atomically: never half a file
        raise AssertionError(f"{path} holds half a record") from None
    return [(e["kind"], e["question"], e["value"]) for e in record["answer_log"]]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_terminal_killed_mid_call_loses_no_answer_and_the_call_resumes(tmp_path: Path) -> None:
    save = tmp_path / "call.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage_dsl", "run", str(QSOFA), "--save", str(save)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None
    proc.stdin.write(CALLER + "25\n")
    proc.stdin.flush()
    deadline = time.monotonic() + 120  # a bound against a hang, not a timing check
    while answers_in(save) != [("answer", "resp_rate", 25)]:
        assert time.monotonic() < deadline, answers_in(save)
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # no handler runs: only what was saved as it went
    proc.wait(timeout=60)
    before = json.loads(save.read_text())
    assert before["status"] == "needs_answers"
    assert verify(before, load(QSOFA)).ok

    code, out, err = run([str(QSOFA), "--resume", str(save)], "yes\n\nyes\n")
    assert code == 0, out + err
    assert "Resumed: 1 answers kept from the saved record." in out
    assert "How fast" not in out.split("Resumed")[1]  # resp_rate is not asked again
    after = json.loads(save.read_text())
    assert verify(after, load(QSOFA)).ok
    assert after["session_id"] == before["session_id"]
    assert after["started_at"] == before["started_at"]
    assert after["answer_log"][0] == before["answer_log"][0]  # the first answer, as said, when said
    assert [(e["kind"], e["question"], e["value"]) for e in after["answer_log"]] == [
        ("answer", "resp_rate", 25),
        ("answer", "altered_mentation", True),
    ]
    assert after["disposition"]["id"] == "high_risk" and after["call"]["agreement"] == "agrees"


def test_every_answer_is_saved_as_it_is_given(tmp_path: Path) -> None:
    """Input ending mid-call: the record on disk already holds every answer (the partial
    record written at the stop says the same)."""
    save = tmp_path / "call.json"
    code, _, err = run([str(ESI), "--save", str(save)], CALLER + "no\nno\n")
    assert code == 1
    assert [q for _, q, _ in answers_in(save)] == ["lifesaving_intervention", "high_risk_situation"]
    assert "Partial record saved" in err


def test_corrections_backs_and_notes_replay_event_for_event(tmp_path: Path) -> None:
    """'back' (a retraction), the answer given again, and a note after the outcome: the
    resumed session's log is the saved one, times included."""
    save = tmp_path / "call.json"
    at = ["--at", "2026-03-01T02:14:00Z"]
    # the outcome (no qSOFA of 2 is left), a note, then the input ends before the response
    code, _, _ = run([str(QSOFA), "--save", str(save), *at], CALLER + "25\nback\n21\nno\nchest hurts\n")
    saved = json.loads(save.read_text())
    kinds = [e["kind"] for e in saved["answer_log"]]
    assert kinds == ["answer", "retraction", "answer", "answer", "note"], kinds
    protocol = load(QSOFA)
    record, _ = parse_record(saved)
    assert record is not None and record.started_at is not None
    session = replayed(
        protocol,
        record.answer_log,
        call=record.call,
        started_at=record.started_at,
        clock=FixedClock("2026-03-01T03:00:00Z"),
    )
    assert [e.model_dump() for e in session.log] == [e.model_dump() for e in record.answer_log]
    assert session.done
    code, out, err = run([str(QSOFA), "--resume", str(save), *at], "\nno\nwants to wait\n")
    assert code == 0, out + err
    final = json.loads(save.read_text())
    assert final["answer_log"][:5] == saved["answer_log"]
    assert final["call"]["agreement"] == "declines"
    assert verify(final, protocol).ok


def _partial(tmp_path: Path) -> Path:
    save = tmp_path / "call.json"
    run([str(QSOFA), "--save", str(save)], CALLER + "25\n")
    assert answers_in(save) == [("answer", "resp_rate", 25)]
    return save


@pytest.mark.parametrize(
    "change, message",
    [
        ("another protocol", "not resumed: the saved record does not verify"),
        ("an answer edited", "not resumed: the saved record does not verify"),
        ("finished", "the call is finished"),
        ("--call too", "--resume takes the caller block from the saved record"),
        ("standard input", "standard input is the interview's"),
        ("not a record", "not a record"),
    ],
)
def test_a_record_that_cannot_be_continued_is_refused_and_kept(
    tmp_path: Path, change: str, message: str
) -> None:
    save = _partial(tmp_path)
    protocol, extra, where = QSOFA, [], str(save)
    if change == "another protocol":
        protocol = ESI
    elif change == "an answer edited":
        raw = json.loads(save.read_text())
        raw["answer_log"][0]["value"] = 19  # below the rule's threshold
        save.write_text(json.dumps(raw))
    elif change == "finished":
        run([str(QSOFA), "--resume", str(save)], "yes\n\nyes\n")
    elif change == "--call too":
        call = tmp_path / "caller.json"
        call.write_text(json.dumps({"caller": "patient", "agent_id": "N1", "chief_complaint": "x"}))
        extra = ["--call", str(call)]
    elif change == "standard input":
        where = "-"
    elif change == "not a record":
        save.write_text("[1, 2]")
    before = save.read_bytes()
    code, out, err = run([str(protocol), "--resume", where, *extra], "yes\n")
    assert code == 2, out + err
    assert message in err and "Traceback" not in err
    assert save.read_bytes() == before  # a refused resume never touches the saved record


def test_a_log_the_protocol_would_not_write_is_not_replayed() -> None:
    """A log whose prompt differs (another version of the protocol, an edited file) is not
    turned into a different call."""
    protocol = load(QSOFA)
    session = Session(protocol, call=CallInfo(caller="patient", agent_id="N1", chief_complaint="x"))
    session.answer("resp_rate", 25)
    for changed, message in (
        ({"prompt": "Breaths per minute?"}, r"event 1 \(answer\) of the saved log replays differently"),
        ({"value": "fast"}, r"event 1 \(answer\) of the saved log does not replay"),
    ):
        event = session.log[0].model_copy(update=changed)
        with pytest.raises(SessionError, match=message):
            replayed(
                protocol,
                [event],
                call=session.call,
                started_at=session.started_at,
                clock=FixedClock("2026-03-01T00:00:00Z"),
            )


def test_a_saved_record_is_never_written_over_by_another_call(tmp_path: Path) -> None:
    """The next call saved under the last one's name would have replaced that patient's
    record: refused, with the way to continue that call instead."""
    save = _partial(tmp_path)
    before = save.read_bytes()
    code, out, err = run([str(QSOFA), "--save", str(save)], CALLER + "25\n")
    assert code == 2 and out == ""  # nothing asked
    assert f"{save} exists (the record of another call?)" in err and f"--resume {save}" in err
    assert save.read_bytes() == before
    other = tmp_path / "other.json"
    other.write_text("{}")
    code, _, err = run([str(QSOFA), "--resume", str(save), "--save", str(other)], "yes\n")
    assert code == 2 and other.read_text() == "{}" and save.read_bytes() == before
