"""The CLI through ``main([...])``, plus the installed console script and wheel."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS, ROOT
from triage_dsl.cli import main

NEWS2 = str(PROTOCOLS / "rules" / "news2.triage")
QSOFA = str(PROTOCOLS / "rules" / "qsofa.triage")
NORMAL = {
    "resp_rate": 16,
    "spo2": 97,
    "spo2_scale2": False,
    "on_oxygen": False,
    "sbp": 120,
    "pulse": 70,
    "consciousness": "alert",
    "temp_c": 37.0,
}


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_eval_answers_prints_the_whole_result(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(NORMAL))
    code, out, _ = run("eval", NEWS2, "--answers", str(answers))
    result = json.loads(out)
    assert code == 0
    assert result["status"] == "complete" and result["disposition"]["id"] == "zero"
    assert result["scores"] == {"news2": 0} and result["schema_version"] == "1.3"
    assert len(result["protocol"]["sha256"]) == 64 and result["trace"] and result["note"]


def test_eval_answers_accepts_a_wrapped_object_and_stdin() -> None:
    code, out, _ = run("eval", NEWS2, "--answers", "-", stdin=json.dumps({"answers": NORMAL}))
    assert code == 0 and json.loads(out)["disposition"]["id"] == "zero"


def test_eval_note_format() -> None:
    code, out, _ = run("eval", NEWS2, "--answers", "-", "--format", "note", stdin=json.dumps(NORMAL))
    assert code == 0 and out.startswith("TRIAGE NOTE: National Early Warning Score 2")
    assert "Disposition:" in out and "NEWS2 0" in out


def test_eval_invalid_answers_exit_1_with_the_question_named() -> None:
    code, out, _ = run("eval", NEWS2, "--answers", "-", stdin=json.dumps({"spo2": 250}))
    result = json.loads(out)
    assert code == 1 and result["status"] == "error" and result["disposition"] is None
    assert "spo2" in result["error"]


def test_eval_bad_json_is_a_usage_error() -> None:
    code, _, err = run("eval", NEWS2, "--answers", "-", stdin="{nope")
    assert code == 2 and "invalid JSON" in err


def test_eval_cases_follows_the_contract() -> None:
    lines = [
        json.dumps({"id": "case-1", "answers": NORMAL}),
        json.dumps({"id": "case-2", "answers": {"resp_rate": 16}}),
        json.dumps({"id": "case-3", "answers": {"spo2": 250}}),
        "this is not json",
        json.dumps({"id": "case-5", "answers": {"resp_rate": float("nan")}}).replace("NaN", "NaN"),
        "",
        json.dumps({"id": "case-7"}),
        json.dumps({"id": "case-8", "answers": {**NORMAL, "nonsense": 1}}),
    ]
    code, out, _ = run("eval", NEWS2, "--cases", "-", stdin="\n".join(lines) + "\n")
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 1  # some lines failed; every line was answered
    assert [r["id"] for r in results] == ["case-1", "case-2", "case-3", None, "case-5", "case-7", "case-8"]
    assert [r["line"] for r in results] == [1, 2, 3, 4, 5, 7, 8]
    assert [r["status"] for r in results] == [
        "complete",
        "needs_answers",
        "error",
        "error",
        "error",
        "error",
        "error",
    ]
    first = results[0]
    assert first["disposition"] == {
        "id": "zero",
        "label": "NEWS2 0: routine monitoring",
        "care_advice": first["disposition"]["care_advice"],
        "location": first["disposition"]["location"],
    }
    assert first["urgency"]["tier"] == "routine" and first["scores"] == {"news2": 0} and first["trace"]
    assert results[1]["missing"][0] == "spo2" and results[1]["disposition"] is None
    assert "spo2" in results[2]["error"] and results[2]["disposition"] is None
    assert "nonsense" in results[6]["error"]


def test_eval_cases_no_trace() -> None:
    code, out, _ = run(
        "eval", NEWS2, "--cases", "-", "--no-trace", stdin=json.dumps({"id": 1, "answers": NORMAL})
    )
    assert code == 0 and json.loads(out)["trace"] == []


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["eval", "missing.triage", "--answers", "-"], 2, "missing.triage: no such file"),
        (["eval", NEWS2], 2, "one of the arguments --answers --cases is required"),
        (["eval", NEWS2, "--cases", "nope.jsonl"], 2, "nope.jsonl: no such file"),
        (["frobnicate"], 2, "invalid choice"),
        (["check", QSOFA, "--jobs", "-1"], 2, "--jobs: expected 0 (one per core) to 256, got -1"),
        (["eval", NEWS2, "--cases", "-", "--jobs", "100000"], 2, "to 256, got 100000"),
        (["check", QSOFA, "--jobs", "two"], 2, "--jobs: expected a whole number, got 'two'"),
        (["check", str(PROTOCOLS / "rules")], 0, ""),
    ],
)
def test_usage_and_file_errors(argv: list[str], code: int, message: str) -> None:
    got, _, err = run(*argv)
    assert got == code and message in err
    assert "Traceback" not in err


def test_eval_of_a_broken_protocol_is_exit_2_with_diagnostics(tmp_path: Path) -> None:
    bad = tmp_path / "bad.triage"
    bad.write_text('protocol bad title "b" version "1" end\ntriage default nowhere end\n')
    code, _, err = run("eval", str(bad), "--answers", "-", stdin="{}")
    assert code == 2 and "bad.triage:2:16: error[T063]: unknown disposition 'nowhere'" in err


def test_check_exit_codes(tmp_path: Path) -> None:
    assert run("check", NEWS2)[0] == 0
    bad = tmp_path / "bad.triage"
    bad.write_text('protocol bad title "b" version "1" end\ntriage default nowhere end\n')
    assert run("check", str(bad))[0] == 1
    assert run("check", str(tmp_path / "absent.triage"))[0] == 2  # an unreadable input (README)


def test_schema_is_json_schema_of_the_result() -> None:
    code, out, _ = run("schema")
    schema = json.loads(out)
    assert code == 0 and schema["title"].startswith("TriageResult")
    assert {"status", "disposition", "urgency", "escalation", "scores", "trace"} <= set(schema["properties"])


def test_help_for_every_command() -> None:
    for command in ("check", "eval", "run", "schema", "test"):
        code, out, _ = run(command, "--help")
        assert code == 0 and "usage: triage" in out


# The caller block, as typed: spouse (3), detail, number, confirmed, patient cannot come
# to the phone, agent, complaint.
CALLER = "spouse\n3\nhis wife\n555 0100\nyes\nno\nagent-17\nhe feels hot and breathless\n"


def test_run_interviews_and_reasks_on_invalid_input(tmp_path: Path) -> None:
    questions = "sixteen\n16\n97\nno\nno\n120\n70\n1\n37\n"
    closing = "he takes no medicines\n\nmaybe\nno\n\nwill call his own doctor in the morning\n"
    save = tmp_path / "result.json"
    code, out, _ = run(
        "run", NEWS2, "--save", str(save), "--session-id", "s-1", stdin=CALLER + questions + closing
    )
    assert code == 0, out
    assert "Invalid answer: answer with a number" in out and "Invalid answer: answer with a number 1-9" in out
    assert "Invalid answer: answer yes or no" in out and "Invalid answer: a reason is needed" in out
    assert "NEWS2 0: routine monitoring" in out
    record = json.loads(save.read_text())
    assert record["disposition"]["id"] == "zero" and record["seal"] and record["session_id"] == "s-1"
    assert record["call"] == {
        "caller": "spouse_or_partner",
        "caller_detail": "his wife",
        "callback_number": "555 0100",
        "callback_read_back": True,
        "patient_can_come_to_phone": False,
        "agent_id": "agent-17",
        "chief_complaint": "he feels hot and breathless",
        "agreement": "declines",
        "declined_reason": "will call his own doctor in the morning",
    }
    assert [e["kind"] for e in record["answer_log"]][-1] == "note"
    assert "Caller's response:" in out and "declined the advice" in out


def test_run_with_a_caller_block_file_asks_only_the_agreement(tmp_path: Path) -> None:
    call = tmp_path / "call.json"
    call.write_text(json.dumps({"caller": "patient", "agent_id": "a-1", "chief_complaint": "feel unwell"}))
    typed = "16\n97\nno\nno\n120\n70\n1\n37\n\nyes\n"
    code, out, _ = run("run", NEWS2, "--call", str(call), stdin=typed)
    assert code == 0 and "Who is calling?" not in out and "agrees with the advice" in out


def test_run_stops_without_a_disposition_when_input_ends() -> None:
    code, out, _ = run("run", NEWS2, stdin=CALLER + "16\n")
    assert code == 1 and "stopped before a disposition" in out


def test_run_keeps_the_outcome_when_input_ends_before_the_agreement(tmp_path: Path) -> None:
    save = tmp_path / "r.json"
    typed = CALLER + "16\n97\nno\nno\n120\n70\n1\n37\n"
    code, out, _ = run("run", NEWS2, "--save", str(save), stdin=typed)
    assert code == 1 and "before the caller's response" in out
    assert json.loads(save.read_text())["call"]["agreement"] is None


def test_installed_console_script_runs() -> None:
    script = Path(sys.executable).with_name("triage")
    assert script.exists(), "the 'triage' console script is not installed"
    proc = subprocess.run([str(script), "check", NEWS2], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_wheel_carries_the_grammar_and_finds_it(tmp_path: Path) -> None:
    """Build the wheel, then import the package from it alone: the grammar must come along."""
    if shutil.which("git") is None:  # pragma: no cover
        pytest.skip("git not available")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("triage_dsl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "triage_dsl/grammar/triage.lark" in archive.namelist()
        assert "triage_dsl/py.typed" in archive.namelist()  # type checkers read the hints
        archive.extractall(tmp_path / "site")
    code = (
        "import triage_dsl, triage_dsl.syntax.grammar as g; "
        "print(g.grammar_path()); "
        f"print(triage_dsl.load({NEWS2!r}).id)"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r}); {code}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    grammar, protocol_id = proc.stdout.split()
    assert grammar.startswith(str(tmp_path / "site")) and protocol_id == "news2"


def test_eval_cases_in_parallel_keeps_order_and_output(tmp_path: Path) -> None:
    lines = []
    for i in range(4100):
        answers = {**NORMAL, "resp_rate": i % 40, "temp_c": 35 + (i % 7)}
        if i % 13 == 0:
            answers["spo2"] = 250
        lines.append(json.dumps({"id": f"c{i}", "answers": answers}))
    cases = tmp_path / "cases.jsonl"
    cases.write_text("\n".join(lines) + "\n")
    one = run("eval", NEWS2, "--cases", str(cases), "--no-trace", "--jobs", "1")
    two = run("eval", NEWS2, "--cases", str(cases), "--no-trace", "--jobs", "2")
    assert one[0] == two[0] == 1  # the spo2 250 lines fail
    assert one[1] == two[1]
    assert [json.loads(line)["id"] for line in two[1].splitlines()] == [f"c{i}" for i in range(4100)]


def test_eval_with_a_fixed_clock_and_session_is_byte_for_byte_reproducible() -> None:
    argv = ("eval", NEWS2, "--answers", "-", "--session-id", "call-1", "--at", "2026-11-27T10:00:00Z")
    first = run(*argv, stdin=json.dumps(NORMAL))
    second = run(*argv, stdin=json.dumps(NORMAL))
    assert first[0] == 0 and first[1] == second[1]
    assert json.loads(first[1])["session_id"] == "call-1"
    assert run(*argv[:-1], "not a time", stdin=json.dumps(NORMAL))[0] == 2


@pytest.mark.parametrize(
    ("at", "jobs", "status", "message"),
    [
        # no clock: a date of birth is refused, never read from the wall clock
        (None, "1", "error", "needs the time of the evaluation"),
        ("2026-11-30T10:00:00Z", "1", "error", "outside this protocol's population"),  # 19 today
        ("2026-11-30T10:00:00Z", "2", "error", "outside this protocol's population"),  # workers too
        ("2025-11-29T10:00:00Z", "1", "needs_answers", None),  # 17 the day before the birthday
        ("2025-11-29T10:00:00Z", "2", "needs_answers", None),
    ],
)
def test_eval_cases_reads_a_date_of_birth_with_at(
    at: str | None, jobs: str, status: str, message: str | None
) -> None:
    line = {"answers": {"child_age": {"born": "2007-11-30"}}}
    cases = "".join(json.dumps(dict(line, id=f"dob{i}")) + "\n" for i in range(3))
    argv = ["eval", str(PROTOCOLS / "telephone" / "fever_child.triage"), "--cases", "-", "--jobs", jobs]
    code, out, _ = run(*argv, *(["--at", at] if at else []), stdin=cases)
    results = [json.loads(text) for text in out.splitlines()]
    assert [r["id"] for r in results] == ["dob0", "dob1", "dob2"]
    assert [r["status"] for r in results] == [status] * 3
    assert code == (1 if status == "error" else 0)
    if message:
        assert all(message in r["error"] for r in results), results[0]["error"]
