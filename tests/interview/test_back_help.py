"""`triage run`: `help` shows a question's help text, `back` undoes the last answer (kept
in the answer log as a retraction), also right after the outcome, before the caller's
response."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from triage_dsl.compiler import compile_source
from triage_dsl.errors import SessionError
from triage_dsl.model.caller import CallInfo
from triage_dsl.runtime.session import Session
from triage_dsl.source import Source

PROTOCOL = """protocol sore title "Sore throat" version "1" end
question drooling: yes/no
  ask "Is the person drooling?"
  help "Unable to swallow their own saliva."
end
question stridor: yes/no ask "A high-pitched noise when breathing in?" end
question pain: choice ask "How bad is the pain?" option back "In the back" option help "Needs help" end
disposition call_911 label "Call 911" tier emergency end
disposition home label "Care at home" tier home_care end
triage
  section call_911 if any of
    when drooling
    when stridor
  end
  default home
end
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    protocol = tmp_path / "sore.triage"
    protocol.write_text(PROTOCOL)
    call = tmp_path / "call.json"
    call.write_text(json.dumps({"caller": "patient", "agent_id": "a-1", "chief_complaint": "sore throat"}))
    return protocol, call


def _run(files: tuple[Path, Path], typed: str, tmp_path: Path) -> tuple[int, str, dict[str, object]]:
    protocol, call = files
    save = tmp_path / "r.json"
    code, out, _ = run(
        "run",
        str(protocol),
        "--call",
        str(call),
        "--save",
        str(save),
        "--at",
        "2026-11-30T12:00:00Z",
        stdin=typed,
    )
    return code, out, json.loads(save.read_text())


def test_help_shows_the_help_text_and_asks_again(files: tuple[Path, Path], tmp_path: Path) -> None:
    code, out, record = _run(files, "help\nno\nno\n\nyes\n", tmp_path)
    assert code == 0
    assert "Help: Unable to swallow their own saliva." in out
    assert "Answer: [yes/no]; 'back' undoes the last answer" in out
    assert [e["kind"] for e in record["answer_log"]] == ["answer", "answer"]  # type: ignore[index]


def test_back_after_a_mistyped_yes_that_reached_911(files: tuple[Path, Path], tmp_path: Path) -> None:
    code, out, record = _run(files, "y\nback\nno\nno\n\nyes\n", tmp_path)
    assert code == 0
    assert "Outcome: Call 911 (tier emergency)" in out
    assert "Went back: the answer to 'drooling' is withdrawn (kept in the record)." in out
    assert record["disposition"]["id"] == "home"  # type: ignore[index]
    log = [(e["kind"], e["question"], e.get("value"), e.get("previous")) for e in record["answer_log"]]  # type: ignore[union-attr]
    assert log == [
        ("answer", "drooling", True, None),
        ("retraction", "drooling", None, True),
        ("answer", "drooling", False, None),
        ("answer", "stridor", False, None),
    ]
    assert "Withdrawn: Is the person drooling? (was yes)" in out


def test_back_during_the_questions_undoes_the_previous_answer(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    code, out, record = _run(files, "no\nback\nno\nno\n\nyes\n", tmp_path)
    assert code == 0 and "Went back: the answer to 'drooling'" in out
    kinds = [e["kind"] for e in record["answer_log"]]  # type: ignore[union-attr]
    assert kinds == ["answer", "retraction", "answer", "answer"]


def test_back_with_nothing_to_undo_says_so(files: tuple[Path, Path], tmp_path: Path) -> None:
    code, out, _ = _run(files, "back\nno\nno\n\nyes\n", tmp_path)
    assert code == 0 and "Cannot go back: there is no answer to go back to." in out


def test_input_ending_after_back_stops_without_a_disposition(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    protocol, call = files
    save = tmp_path / "r.json"
    code, out, _ = run("run", str(protocol), "--call", str(call), "--save", str(save), stdin="yes\nback\n")
    assert code == 1 and "stopped before a disposition" in out
    kinds = [e["kind"] for e in json.loads(save.read_text())["answer_log"]]
    assert kinds == ["answer", "retraction"]  # nothing lost


def test_undo_is_refused_once_the_caller_has_responded() -> None:
    protocol = compile_source(Source("sore.triage", PROTOCOL))
    call = CallInfo(caller="patient", agent_id="a", chief_complaint="c")
    session = Session(protocol, call=call)
    session.answer("drooling", True)
    assert session.done
    session.undo("mistyped")
    assert not session.done and session.next_question().id == "drooling"  # type: ignore[union-attr]
    session.answer("drooling", True)
    session.respond(True)
    with pytest.raises(SessionError, match="responded to the advice"):
        session.undo("too late")


def test_undo_takes_back_the_last_answer_given_even_a_correction() -> None:
    protocol = compile_source(Source("sore.triage", PROTOCOL))
    session = Session(protocol)
    session.answer("drooling", False)
    session.answer("pain", "back")  # an answer no criterion reads is kept too
    session.answer("drooling", True, reason="asked again")  # a correction, given last
    assert session.done
    session.undo("mistyped")
    assert session.log[-1].kind == "retraction" and session.log[-1].question == "drooling"
    assert session.answers == {"pain": "back"}


@pytest.mark.parametrize(
    ("typed", "command"), [("back", "back"), ("HELP", "help"), (":back", "back"), ("no", None)]
)
def test_commands_are_recognised(typed: str, command: str | None) -> None:
    from triage_dsl.interview import _command

    assert _command(typed, None) == command


def test_a_choice_option_named_back_is_an_answer() -> None:
    from triage_dsl.interview import _command
    from triage_dsl.runtime.build import question_info

    protocol = compile_source(Source("sore.triage", PROTOCOL))
    pain = question_info(protocol.plan.questions["pain"])
    drooling = question_info(protocol.plan.questions["drooling"])
    assert _command("back", pain) is None and _command("help", pain) is None
    assert _command(":back", pain) == "back"
    assert _command("back", drooling) == "back"
