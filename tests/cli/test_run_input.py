"""What a nurse may mistype in ``triage run``: each gets a clear message and the question
again, never a traceback and never a different answer than the one meant."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from triage_dsl import load
from triage_dsl.interview import interview, parse_typed
from triage_dsl.model.caller import CallInfo
from triage_dsl.runtime.session import Session

ROOT = Path(__file__).resolve().parents[2]
ESI = load(ROOT / "protocols" / "rules" / "esi.triage")
CALL = CallInfo(caller="patient", agent_id="N1", chief_complaint="pain")


def info(qid: str):  # type: ignore[no-untyped-def]
    return Session(ESI)._compiled().question_info(qid)


@pytest.mark.parametrize(
    "typed, value",
    [("7", 7), ("7.0", 7), (" 6.99 ", 6.99), ("-0", 0), ("+3", 3), (".5", 0.5), ("5.", 5)],
)
def test_plain_numbers_are_read_as_typed(typed: str, value: float) -> None:
    assert parse_typed(info("pain_score"), typed) == value


@pytest.mark.parametrize(
    "typed, message",
    [
        ("3_8", "in digits"),  # float() would read 38
        ("1e1", "in digits"),  # float() would read 10
        ("infinity", "in digits"),
        ("nan", "in digits"),
        ("\u0667", "in digits"),  # an Arabic-Indic 7: float() would read 7
        ("seven", "in digits"),
        ("", "in digits"),
        ("6,5", "with a point for decimals: 6.5"),
    ],
)
def test_anything_else_is_refused_with_the_fix(typed: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_typed(info("pain_score"), typed)


def _run(lines: list[str]) -> str:
    out = io.StringIO()
    interview(ESI, io.StringIO("\n".join(lines) + "\n"), out, call=CALL)
    return out.getvalue()


def test_each_mistake_is_named_and_the_question_asked_again() -> None:
    # lifesaving, high risk, confusion: no; pain 3; age 360 months; resources: 1.5, 21,
    # text, empty, then 1 -> ESI 4
    out = _run(
        ["no", "maybe", "", "no", "no", "11", "three", "3", "360", "1.5", "21", "one", "", "1", "", "yes"]
    )
    assert "Invalid answer: answer yes or no" in out
    assert "Invalid answer: question 'pain_score': 11 is outside the valid range 0 to 10" in out
    assert "Invalid answer: question 'resources': expected a whole number, got 1.5" in out
    assert "Invalid answer: question 'resources': 21 is outside the valid range 0 to 20" in out
    assert "Invalid answer: answer with a number, in digits" in out
    assert "(esi_4)" in out and "Traceback" not in out


def test_whole_number_typed_with_a_decimal_point_is_the_whole_number() -> None:
    out = _run(["no", "no", "no", "3", "360", "2.0", "98", "80", "16", "", "yes"])
    assert "(esi_3)" in out


def test_dont_know_where_the_question_does_not_allow_it_is_refused_clearly() -> None:
    out = _run(["?", "no", "no", "no", "3", "360", "0", "", "yes"])
    assert "Invalid answer: this question needs an answer; 'unknown' is not allowed here" in out
    assert "(esi_5)" in out


def test_input_ending_mid_interview_gives_no_disposition() -> None:
    out = io.StringIO()
    code, result = interview(ESI, io.StringIO("no\nno\n"), out, call=CALL)
    assert (code, result) == (1, None)
    assert "Interview stopped before a disposition was reached." in out.getvalue()


def _interrupt_at(prompt: str, lines: str, extra: list[str], protocol: str = "qsofa") -> tuple[str, int]:
    """Run a scored rule (qSOFA) with stdin piped, press Ctrl-C once ``prompt`` is on the screen."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "triage_dsl",
            "run",
            str(ROOT / "protocols" / "rules" / f"{protocol}.triage"),
            *extra,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(lines)
    proc.stdin.flush()
    shown = ""
    while prompt not in shown:
        chunk = os.read(proc.stdout.fileno(), 4096).decode()
        assert chunk, shown
        shown += chunk
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    assert "Traceback" not in shown + rest + err
    return shown + rest + err, proc.returncode


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_mid_interview_says_no_advice_was_given() -> None:
    # Ctrl-C once the second question is on the screen
    out, code = _interrupt_at("high-risk", "1\n\nN1\npain\nno\n", [], protocol="esi")
    assert code == 130
    assert "Interview stopped (Ctrl-C) before a disposition was reached: no advice was given." in out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_after_the_outcome_keeps_the_record(tmp_path: Path) -> None:
    """The outcome was given (911-level advice on the screen): Ctrl-C at the closing
    questions must not lose it or the answers; --save keeps a partial record."""
    save = tmp_path / "call.json"
    out, code = _interrupt_at(
        "Anything else the caller said?", "1\n\nN1\nfever\n25\nyes\n", ["--save", str(save)]
    )
    assert code == 130
    assert (
        "Interview stopped (Ctrl-C) after the outcome was given: the caller's response was not recorded."
        in out
    )
    assert f"Partial record saved to {save}" in out
    record = json.loads(save.read_text())
    assert record["disposition"]["id"] == "high_risk"
    assert [e["question"] for e in record["answer_log"] if e["kind"] == "answer"] == [
        "resp_rate",
        "altered_mentation",
    ]


FEVER = load(ROOT / "protocols" / "telephone" / "fever_child.triage")


@pytest.mark.parametrize(
    "typed, message",
    [
        ("2026-11-31", "'2026-11-31' is not a date in the calendar; answer with a number and a unit"),
        ("2026-02-29", "'2026-02-29' is not a date in the calendar"),
        ("3", "'3' is not a number followed by a unit of time"),
        ("3 wks", "'wks' is not a unit of time"),
    ],
)
def test_an_age_that_cannot_be_read_names_what_is_wrong(typed: str, message: str) -> None:
    question = Session(FEVER)._compiled().question_info("child_age")
    with pytest.raises(ValueError, match=message):
        parse_typed(question, typed)


PNEUMONIA = load(ROOT / "protocols" / "pathways" / "pneumonia_severity_pathway.triage")


@pytest.mark.parametrize(
    "typed",
    [
        "?",
        "unknown",
        "I don't know",
        "i dont know",
        "I don\u2019t know",
        "do not know",
        "Not sure",
        "  don't   know ",
    ],
)
def test_dont_know_as_the_help_texts_word_it(typed: str) -> None:
    question = Session(PNEUMONIA)._compiled().question_info("urea_mmol_l")
    assert question.unknown_allowed
    assert parse_typed(question, typed) == "unknown"


def test_every_dont_know_a_help_text_asks_for_is_accepted() -> None:
    """A help text that tells the agent to answer "I don't know" (or 'do not know') must
    name a form the terminal takes; it used to refuse both."""
    # in a help string: answer \"I don't know\", answer 'do not know', answer unknown
    phrases = re.compile(r"answer \\\"([^\\]+)\\\"|answer '([^']+)'|answer (unknown)\b")
    question = Session(PNEUMONIA)._compiled().question_info("urea_mmol_l")
    found = []
    for path in sorted((ROOT / "protocols").rglob("*.triage")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip().startswith("help "):
                for groups in phrases.findall(line):
                    phrase = next(g for g in groups if g)
                    found.append((path.name, phrase))
                    assert parse_typed(question, phrase) == "unknown", (path.name, phrase)
    assert len(found) >= 4, found


PREGNANCY = load(ROOT / "protocols" / "telephone" / "pregnancy_concern.triage")


@pytest.mark.parametrize(
    "typed, weeks",
    [("36+6", 36 + 6 / 7), ("36 + 6", 36 + 6 / 7), ("16+3", 16 + 3 / 7), ("37+0", 37), ("36.9", 36.9)],
)
def test_gestational_age_as_weeks_plus_days(typed: str, weeks: float) -> None:
    """Maternity notes write 36 weeks and 6 days as 36+6: read exactly (36 + 6/7, never
    rounded up to 37 weeks, where the preterm-labour signs stop counting)."""
    question = Session(PREGNANCY)._compiled().question_info("weeks_pregnant")
    value = parse_typed(question, typed)
    assert value == weeks
    assert (value < 37) == typed.startswith(("36", "16"))


@pytest.mark.parametrize(
    "question, typed, message",
    [
        ("weeks_pregnant", "36+7", r"the days after the \+ are 0 to 6 \(36\+7 would be 37\+0\)"),
        ("weeks_pregnant", "36+", "in digits"),
        ("weeks_pregnant", "+6+1", "in digits"),
    ],
)
def test_weeks_plus_days_that_cannot_be_read(question: str, typed: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_typed(Session(PREGNANCY)._compiled().question_info(question), typed)


def test_weeks_plus_days_only_where_the_unit_is_weeks() -> None:
    with pytest.raises(ValueError, match="in digits"):
        parse_typed(info("pain_score"), "6+1")


LONG = "9" * 5000  # past Python's 4,300-digit limit on reading an integer


@pytest.mark.parametrize(
    "protocol, qid, typed, message",
    [
        (FEVER, "child_age", LONG + " days", "more than 30 digits"),
        (
            load(ROOT / "protocols/telephone/chest_pain_adult.triage"),
            "pregnancy_status",
            LONG,
            "option number",
        ),
        (
            load(ROOT / "protocols/telephone/chest_pain_adult.triage"),
            "pregnancy_status",
            "\u00b2",
            "option number",
        ),
        (FEVER, "child_age", LONG, "is not a number followed by a unit of time"),
        (FEVER, "child_age", "\u0661\u0662 days", "is not a number followed by a unit of time"),
        (FEVER, "fever_started", "1." + LONG + " hours", "more than 30 digits"),
        (
            load(ROOT / "protocols/telephone/pregnancy_concern.triage"),
            "weeks_pregnant",
            "36+" + LONG,
            "in digits",
        ),
        (load(ROOT / "protocols/telephone/pregnancy_concern.triage"), "weeks_pregnant", "36+16", "0 to 6"),
    ],
)
def test_a_long_run_of_digits_or_another_scripts_digits_is_refused_in_plain_words(
    protocol: object, qid: str, typed: str, message: str
) -> None:
    question = Session(protocol)._compiled().question_info(qid)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message) as caught:
        parse_typed(question, typed)
    assert "sys." not in str(caught.value) and "int()" not in str(caught.value)


@pytest.mark.parametrize("typed", [LONG, "\u00b2", "\u0663", "0", "99"])
def test_a_menu_takes_only_the_number_of_one_of_its_entries(typed: str) -> None:
    out = _run_fever_menu(typed)
    assert "Traceback" not in out and "sys." not in out and "int()" not in out
    assert "answer with a number 1-9" in out


def _run_fever_menu(typed: str) -> str:
    out = io.StringIO()
    interview(FEVER, io.StringIO(typed + "\n"), out)
    return out.getvalue()


# who, caller detail skipped (patient), agent, complaint, then qSOFA's three questions,
# the notes and the caller's agreement; {bad} is typed once where the table says
_CALL = ["patient", "", "agent-1", "cough", "30", "yes", "120", "", "yes", ""]


@pytest.mark.parametrize(
    ("where", "encoding"),
    [
        (3, "utf-8"),  # the complaint (free text that goes in the record)
        (7, "utf-8"),  # a note after the outcome
        (3, "utf-8:strict"),  # a terminal whose decoder refuses the byte
        (4, "utf-8:strict"),  # an answer to a question
    ],
)
def test_bytes_that_are_not_utf8_are_asked_again_and_the_record_saved(
    tmp_path: Path, where: int, encoding: str
) -> None:
    """A byte that is not UTF-8 (kept by the terminal's decoder as a lone surrogate, or
    refused by a strict one) cannot go in a record: the line is asked for again, and
    the interview goes on to its sealed record (it gave a traceback and no record)."""
    lines = [line.encode() for line in _CALL]
    lines.insert(where, b"cough \xff")
    save = tmp_path / "record.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "triage_dsl",
            "run",
            str(ROOT / "protocols" / "rules" / "qsofa.triage"),
            "--save",
            str(save),
        ],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": encoding},
        timeout=120,
    )
    shown = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in shown and done.returncode == 0, shown
    assert shown.count("That was not UTF-8 text") == 1
    record = json.loads(save.read_text())
    assert record["status"] == "complete" and record["seal"]["head"]
    assert "\\udcff" not in save.read_text() and "\ufffd" not in save.read_text()
