"""Hostile input through the command line: no crash, nothing destroyed, clear errors.

Each test names the attack it answers: a bad line in a batch, unbounded or disclosing
reads, outputs that destroy inputs or leave half files, duplicate keys, signals.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PROTOCOLS, ROOT
from triage_dsl.cli import main

NEWS2 = str(PROTOCOLS / "rules" / "news2.triage")
QSOFA = str(PROTOCOLS / "rules" / "qsofa.triage")
GOOD = {"resp_rate": 24, "altered_mentation": True}
SECRET = "root:$6$SECRET-HASH:19000:0:99999:7:::"


def run(*argv: str, stdin: str | bytes = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    inp: Any = io.TextIOWrapper(io.BytesIO(stdin)) if isinstance(stdin, bytes) else io.StringIO(stdin)
    code = main(list(argv), stdin=inp, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def good(case_id: str) -> bytes:
    return json.dumps({"id": case_id, "answers": GOOD}).encode()


# ------------------------------------------------------------------ a bad line in a batch

BAD_LINES = [
    (b'{"id": "huge", "answers": {"resp_rate": ' + b"4" * 4000 + b"}}", "huge", "more than 30 digits"),
    (b'{"id": "deep", "answers": ' + b"[" * 5000 + b"]" * 5000 + b"}", None, "nested more than 64"),
    (b'{"id": "sur", "answers": {"\\ud800": true}}', "sur", "lone surrogate"),
    (b'{"id": "utf", "answers": {"resp_rate": "\xff"}}', None, "not UTF-8"),
    (b'{"id": "dup", "answers": {"resp_rate": 24, "resp_rate": 8}}', "dup", 'key "resp_rate" is given twice'),
    (b'{"id": "nan", "answers": {"resp_rate": NaN}}', "nan", "NaN is not a JSON number"),
    (b"[1, 2]", None, 'expected an object with "answers"'),
]


@pytest.mark.parametrize(("line", "case_id", "words"), BAD_LINES)
@pytest.mark.parametrize("from_stdin", [False, True])
def test_one_bad_line_gives_an_error_line_and_the_batch_goes_on(
    tmp_path: Path, line: bytes, case_id: str | None, words: str, from_stdin: bool
) -> None:
    data = b"\n".join([good("a"), line, good("b")]) + b"\n"
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(data)
    name = "-" if from_stdin else str(cases)
    code, out, err = run("eval", QSOFA, "--cases", name, stdin=data if from_stdin else "")
    rows = [json.loads(text) for text in out.splitlines()]
    assert code == 1 and "Traceback" not in err
    assert [(r["id"], r["line"], r["status"]) for r in rows] == [
        ("a", 1, "complete"),
        (case_id, 2, "error"),
        ("b", 3, "complete"),
    ]
    assert words in rows[1]["error"] and rows[1]["error"].startswith(
        f"{'<stdin>' if from_stdin else cases}:2"
    )


def test_a_line_over_the_limit_is_never_held_whole(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(good("a") + b"\n" + b" " * 1_100_000 + b"{}\n" + good("b") + b"\n")
    code, out, _ = run("eval", QSOFA, "--cases", str(cases))
    rows = [json.loads(text) for text in out.splitlines()]
    assert code == 1 and [r["status"] for r in rows] == ["complete", "error", "complete"]
    assert "longer than the limit" in rows[1]["error"]


def test_all_good_lines_exit_0(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes(good("a") + b"\n\n" + good("b") + b"\n")
    code, out, _ = run("eval", QSOFA, "--cases", str(cases))
    assert code == 0 and [json.loads(t)["line"] for t in out.splitlines()] == [1, 3]


# ------------------------------------------------------------------ reads: bounded, never quoted


def protocol_importing(folder: Path, target: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "p.triage"
    path.write_text(
        'protocol p title "P" version "1" end\n'
        f'import "{target}"\n'
        'question fever: yes/no ask "Fever?" end\n'
        'disposition see label "See" tier same_day end\n'
        'disposition home label "Home" tier home_care end\n'
        "triage section see if any of when fever end default home end\n"
    )
    return path


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "shadow").write_text(SECRET + "\n")
    (folder / "lib.triage").write_text(SECRET + "\n")
    return folder


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("{secret}/shadow", "only .triage files can be imported"),
        ("../../etc/lib.triage", "outside the protocol library"),
        ("{secret}/lib.triage", "outside the protocol library"),
        ("link.triage", "only .triage files"),  # a link to the secret file
        ("tlink.triage", "outside the protocol library"),
        ("/dev/zero", "only .triage files"),
        ("pipe.triage", "not a regular file (a pipe)"),
        ("big.triage", "larger than the limit of 2 MB"),
    ],
)
def test_imports_stay_in_the_root_and_are_never_quoted(
    tmp_path: Path, secret: Path, target: str, words: str
) -> None:
    folder = tmp_path / "library" / "protocols"
    path = protocol_importing(folder, target.format(secret=secret))
    (folder / "link.triage").symlink_to(secret / "shadow")
    (folder / "tlink.triage").symlink_to(secret / "lib.triage")
    os.mkfifo(folder / "pipe.triage")
    with (folder / "big.triage").open("wb") as big:
        big.truncate(3_000_000)
    for argv in (["check", str(path)], ["eval", str(path), "--answers", "-"]):
        code, out, err = run(*argv, stdin="{}")
        assert code in (1, 2) and words in out + err, (argv, out, err)
        assert "SECRET" not in out + err and "Traceback" not in err


def test_root_lets_a_named_folder_in(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "lib.triage").write_text('library lib title "L" end\n')
    path = protocol_importing(tmp_path / "library" / "protocols", "../../shared/lib.triage")
    assert run("eval", str(path), "--answers", "-", stdin='{"fever": true}')[0] == 2
    code, out, _ = run("eval", str(path), "--answers", "-", "--root", str(shared), stdin='{"fever": true}')
    assert code == 0 and json.loads(out)["disposition"]["id"] == "see"


def test_book_writes_nothing_from_outside_the_folder(tmp_path: Path, secret: Path) -> None:
    folder = tmp_path / "library" / "protocols"
    protocol_importing(folder, "../../etc/lib.triage")
    (folder / "leak.triage").symlink_to(secret / "shadow")
    code, _, err = run("book", str(folder), "-o", str(tmp_path / "site"))
    assert code == 0, err
    site = "".join(p.read_text() for p in (tmp_path / "site").iterdir())
    assert "SECRET" not in site and "outside the protocol library" in site


@pytest.mark.parametrize("option", ["--answers", "--cases"])
def test_input_devices_and_pipes_are_refused_at_once(tmp_path: Path, option: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in ("/dev/zero", str(fifo)):
        code, _, err = run("eval", QSOFA, option, path)
        assert code == 2 and "not a regular file" in err


def test_records_and_answers_over_the_limit_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "a.json"
    big.write_bytes(b'{"resp_rate": 24' + b" " * 1_000_000 + b"}")
    code, _, err = run("eval", QSOFA, "--answers", str(big))
    assert code == 2 and "larger than the limit of 1 MB" in err


# ------------------------------------------------------------------ duplicate keys


def test_duplicate_answer_keys_are_refused_with_their_place(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text('{"resp_rate": 24,\n "altered_mentation": true, "resp_rate": 8}')
    code, out, err = run("eval", QSOFA, "--answers", str(answers))
    assert code == 2 and out == ""
    assert f'{answers}:2:29: the key "resp_rate" is given twice' in err


def test_a_forged_key_before_the_real_one_does_not_verify(tmp_path: Path) -> None:
    code, out, _ = run("eval", QSOFA, "--answers", "-", "--session-id", "s", stdin=json.dumps(GOOD))
    assert code == 0
    forged = '{"disposition": {"id": "home"},' + out.lstrip()[1:]
    record = tmp_path / "r.json"
    record.write_text(forged)
    code, _, err = run("verify", str(record), "--protocol", QSOFA)
    assert code == 2 and 'the key "disposition" is given twice' in err


# ------------------------------------------------------------------ outputs


def test_output_is_not_created_when_the_input_is_bad(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    code, _, err = run("eval", QSOFA, "--answers", str(tmp_path / "missing.json"), "-o", str(out))
    assert code == 2 and "no such file" in err and not out.exists()


def test_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(GOOD))
    code, _, err = run("eval", QSOFA, "--answers", str(answers), "-o", str(answers))
    assert code == 2 and "is also an input" in err
    assert json.loads(answers.read_text()) == GOOD


def record_file(tmp_path: Path) -> Path:
    _, out, _ = run("eval", QSOFA, "--answers", "-", "--session-id", "s", stdin=json.dumps(GOOD))
    path = tmp_path / "record.json"
    path.write_text(out)
    return path


COMMANDS = [
    ["eval", QSOFA, "--answers", "{answers}", "-o", "{out}"],
    ["eval", QSOFA, "--cases", "{cases}", "-o", "{out}"],
    ["table", QSOFA, "-o", "{out}"],
    ["cases", QSOFA, "-o", "{out}"],
    ["render", QSOFA, "-o", "{out}"],
    ["redact", "{record}", "-o", "{out}"],
    ["test", QSOFA, "--junit", "{out}"],
    ["book", str(PROTOCOLS / "rules"), "-o", "{out}"],
    ["run", QSOFA, "--save", "{out}"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: " ".join(argv[:2]))
@pytest.mark.parametrize("where", ["missing/out.svg", "afile/out.svg"])
def test_an_unwritable_output_is_one_line_and_exit_2_before_any_work(
    tmp_path: Path, argv: list[str], where: str
) -> None:
    (tmp_path / "afile").write_text("")
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(GOOD))
    cases = tmp_path / "c.jsonl"
    cases.write_text(json.dumps({"answers": GOOD}) + "\n")
    names = {"answers": answers, "cases": cases, "record": record_file(tmp_path), "out": tmp_path / where}
    code, out, err = run(*[a.format(**names) for a in argv], stdin="yes\n")
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("triage: ") and "does not exist" in err
    assert out == ""  # nothing was done: no interview, no report


TOO_LONG = "x" * 300  # one name longer than any file system allows (255 bytes)
READING = [
    ["check", "{long}"],
    ["check", "{long}/a.triage"],
    ["test", "{long}"],
    ["fmt", "{long}"],
    ["fmt", "--check", "{long}"],
    ["eval", QSOFA, "--answers", "{long}"],
    ["eval", "{long}", "--answers", "{answers}"],
    ["table", "{long}"],
    ["diff", "{long}", QSOFA],
    ["verify", "{long}", "--protocol", QSOFA],
    ["verify", "{record}", "--protocol", "{long}"],
    ["run", "{long}"],
    ["serve", "{long}"],
]


@pytest.mark.parametrize("argv", READING + COMMANDS, ids=lambda argv: " ".join(argv[:3]))
def test_a_name_too_long_is_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    """pathlib's is_dir() and exists() raise for a name longer than the system allows (where
    os.path's say False): every command names the path and the reason instead."""
    monkeypatch.chdir(tmp_path)
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(GOOD))
    cases = tmp_path / "c.jsonl"
    cases.write_text(json.dumps({"answers": GOOD}) + "\n")
    names = {"long": TOO_LONG, "answers": answers, "cases": cases, "record": record_file(tmp_path)}
    names["out"] = TOO_LONG
    code, out, err = run(*[a.format(**names) for a in argv], stdin="yes\n")
    assert "Traceback" not in err and code in (1, 2), err
    assert f"{TOO_LONG}" in err + out and ("too long" in err + out or "not a folder" in err)


def test_a_file_error_no_command_explained_is_named_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: an OSError about a file that reaches the command line is a
    message naming the file, exit 2; one about no file is not hidden."""
    import errno

    from triage_dsl import commands

    def failing(*args: Any) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", "/some/cache/file")

    monkeypatch.setattr(commands, "check_command", failing)
    assert run("check", QSOFA) == (2, "", "triage: /some/cache/file: Permission denied\n")

    def unnamed(*args: Any) -> int:
        raise ConnectionResetError(errno.ECONNRESET, "Connection reset")

    monkeypatch.setattr(commands, "check_command", unnamed)
    with pytest.raises(ConnectionResetError):
        run("check", QSOFA)


@pytest.mark.parametrize(
    ("at", "says"),
    [
        ("junk", "expected a time such as 2026-03-01T02:00:00Z"),
        ("2026-03-01T02:00", "has no time zone"),
        ("x" * 5000, "expected a time such as"),
        ("9" * 5000, "not an ISO 8601 time"),
    ],
)
def test_a_bad_at_is_named_cut_short_with_the_reason(tmp_path: Path, at: str, says: str) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(GOOD))
    code, out, err = run("eval", QSOFA, "--answers", str(answers), "--at", at)
    assert code == 2 and out == "" and says in err
    assert err.startswith(f"triage: --at '{at[:37]}") and len(err) < 200  # not echoed whole


def caller(tmp_path: Path) -> Path:
    path = tmp_path / "caller.json"
    path.write_text(json.dumps({"caller": "patient", "agent_id": "a-1", "chief_complaint": "unwell"}))
    return path


def test_run_save_on_interrupt_keeps_the_answers_so_far(tmp_path: Path) -> None:
    class Interrupting(io.StringIO):
        def readline(self, *args: Any) -> str:
            if self.tell() >= len("24\n"):
                raise KeyboardInterrupt
            return super().readline()

    save = tmp_path / "record.json"
    out, err = io.StringIO(), io.StringIO()
    argv = ["run", QSOFA, "--save", str(save), "--call", str(caller(tmp_path))]
    code = main(argv, stdin=Interrupting("24\n"), stdout=out, stderr=err)
    saved = json.loads(save.read_text())
    assert code == 130 and saved["status"] == "needs_answers" and saved["answers"] == {"resp_rate": 24}
    assert saved["seal"] is not None and "Partial record saved" in err.getvalue()


def test_run_save_that_fails_at_the_end_goes_to_a_printed_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage_dsl import commands
    from triage_dsl.io.outputs import OutputError

    def refuse(path: object, data: object) -> None:
        raise OutputError(f"{path}: cannot write (No space left on device)")

    monkeypatch.setattr(commands, "write_atomic", refuse)
    argv = ["run", QSOFA, "--save", str(tmp_path / "record.json"), "--call", str(caller(tmp_path))]
    code, out, _ = run(*argv, stdin="24\nyes\n\nyes\n")
    fallback = Path(out.split(" saved to ")[1].split(" instead")[0])
    assert code == 0 and json.loads(fallback.read_text())["status"] == "complete"
    fallback.unlink()


# ------------------------------------------------------------------ signals in batches


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_workers_stop_cleanly_on_signals(tmp_path: Path, signum: int, code: int) -> None:
    cases = tmp_path / "cases.jsonl"
    with cases.open("wb") as stream:
        for n in range(120_000):
            stream.write(good(f"c{n}") + b"\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "triage_dsl", "eval", QSOFA, "--cases", str(cases), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        start_new_session=True,
    )
    assert proc.stdout is not None and proc.stdout.readline()  # the workers are at work
    os.killpg(proc.pid, signum)  # as a terminal does: the whole process group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    assert b"Traceback" not in err and err.strip().splitlines()[-1].startswith(b"triage: ")


# ------------------------------------------------------------------ a file that is not the model it should be


@pytest.mark.parametrize(
    ("argv", "content", "expected"),
    [
        (
            ["fhir", "{file}"],
            {"a": 1},
            "not a valid record: protocol: Field required (see: triage schema record)",
        ),
        (
            ["redact", "{file}"],
            {"kind": "call", "a": 1},
            "not a valid record: call_id: Field required (see: triage schema record)",
        ),
        (
            ["render", QSOFA, "--trace", "{file}"],
            {"status": "maybe"},
            "not a triage result: protocol: Field required "
            "(give the JSON that 'triage eval --answers' prints)",
        ),
        (
            ["eval", QSOFA, "--answers", "{answers}", "--call", "{file}"],
            {"caller": "neighbour"},
            "not a valid caller block: caller: Input should be",
        ),
    ],
)
def test_a_file_of_the_wrong_shape_names_the_field_and_where_to_look(
    tmp_path: Path, argv: list[str], content: Any, expected: str
) -> None:
    """Records, results and caller blocks that do not fit their model: one message form
    (file, what it is not, the first wrong field, the reason, where to look), exit 2."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(content))
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(GOOD))
    args = [a.format(file=bad, answers=answers) for a in argv]
    code, out, err = run(*args)
    assert code == 2 and out == "" and "Traceback" not in err
    assert f"{bad}: {expected}" in err


# ------------------------------------------------------------------ control characters shown, never obeyed

HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def harmless(text: str) -> bool:
    """No character a terminal would act on, but line ends."""
    return HIDDEN.search(text) is None


MINIMAL = (
    'protocol demo title "Demo" version "1.0" end\n'
    'question fever: yes/no ask "Fever{text}?" end\n'
    'disposition today label "Today" tier same_day end\n'
    'disposition home label "Home" tier home_care end\n'
    "triage section today if any of when fever end default home end\n"
)


@pytest.mark.parametrize(
    ("line", "shown", "caret"),
    [
        # the character the error is about: escaped, the caret under all of its escape
        ("protocol x\x1b[31m", "protocol x\\x1b[31m", "          ^^^^"),
        ("protocol x\x9b31m", "protocol x\\x9b31m", "          ^^^^"),  # C1: a one-byte CSI
        ("protocol x\x7f", "protocol x\\x7f", "          ^^^^"),
        ("protocol x\u202e", "protocol x\\u202e", "          ^^^^^^"),
        ("protocol x\u2066", "protocol x\\u2066", "          ^^^^^^"),
        ("protocol x\x00", "protocol x\\x00", "          ^^^^"),  # S004 at the NUL itself
        # an escape before the place pointed at moves the caret by its width; a tab stays
        # in quoted text too: the first one is the error
        ('protocol x title "\x1b[2J" \x1b', 'protocol x title "\\x1b[2J" \\x1b', " " * 18 + "^^^^"),
        ("protocol\tx\x07", "protocol\tx\\x07", "        \t ^^^^"),
    ],
)
def test_control_characters_in_an_excerpt_are_escaped_and_the_caret_stays_aligned(
    tmp_path: Path, line: str, shown: str, caret: str
) -> None:
    bad = tmp_path / "bad.triage"
    bad.write_text(line + "\nend\n", encoding="utf-8")
    code, out, err = run("check", "--no-analysis", str(bad))
    assert code == 1 and "Traceback" not in err
    assert f"\n    {shown}\n    {caret}\n" in out
    assert harmless(out + err)


def test_check_json_keeps_the_path_and_message_exact(tmp_path: Path) -> None:
    bad = tmp_path / "red\x1b[31m.triage"
    bad.write_text("protocol x\u202e\nend\n", encoding="utf-8")
    code, out, _ = run("check", "--no-analysis", "--format", "json", str(bad))
    findings = json.loads(out)["findings"]
    assert code == 1 and {f["path"] for f in findings} == {str(bad)}
    code, out, _ = run("check", "--no-analysis", str(tmp_path))
    assert code == 1 and "red\\x1b[31m.triage:1:11: error[S013]" in out and harmless(out)


def test_control_characters_in_protocol_texts_are_refused_where_they_are(tmp_path: Path) -> None:
    demo = tmp_path / "demo.triage"
    demo.write_text(MINIMAL.format(text="\x1b[2J\u202e"), encoding="utf-8")
    code, out, err = run("eval", str(demo), "--answers", "-", stdin="{}")
    assert code == 2 and "demo.triage:2:34: error[S013]: unexpected character '\\x1b' (ESCAPE)" in out + err
    assert "(1 more in the file)" in out + err and harmless(out + err)


def test_answers_are_escaped_in_notes_and_protocol_texts_in_interviews(tmp_path: Path) -> None:
    demo = tmp_path / "demo.triage"
    demo.write_text(MINIMAL.format(text=" <b>&amp;"), encoding="utf-8")
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"fever\x1b[31m": True, "fever": True}))
    code, out, err = run("eval", str(demo), "--answers", str(answers), "--format", "note")
    assert code == 1
    assert "'fever\\x1b[31m' is not a question" in out and harmless(out + err)
    code, out, _ = run("eval", str(demo), "--answers", str(answers))  # JSON: exact
    assert code == 1 and json.loads(out)["errors"][0]["question"] == "fever\x1b[31m"
    code, out, err = run("run", str(demo), "--call", str(_call(tmp_path)), stdin="yes\nagreed\n")
    assert "Traceback" not in err and "Fever <b>&amp;?" in out and harmless(out + err)


def _call(tmp_path: Path) -> Path:
    call = tmp_path / "call.json"
    call.write_text(json.dumps({"caller": "patient", "agent_id": "N1", "chief_complaint": "pain"}))
    return call


@pytest.mark.parametrize("command", [["fmt", "--check"], ["test"], ["check"]])
def test_every_command_that_reports_a_syntax_error_escapes_it(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "bad.triage").write_text("protocol x\x1b]0;pwned\x07\nend\n", encoding="utf-8")
    code, out, err = run(*command, str(tmp_path))
    assert code in (1, 2) and "Traceback" not in err
    assert "x\\x1b]0;pwned\\x07" in out + err and harmless(out + err)


FORGED = "E999 forged.triage:1:1: error[T000]: all clear"


@pytest.mark.parametrize(
    "command",
    [["check"], ["test"], ["eval", "{path}", "--answers", "{answers}"], ["render", "{path}"]],
)
def test_a_line_feed_in_a_file_name_cannot_add_a_line_to_a_report(tmp_path: Path, command: list[str]) -> None:
    # a file named to start a line of its own in what the reader trusts
    bad = tmp_path / f"a\n{FORGED}"
    bad.mkdir()
    path = bad / "x.triage"
    path.write_text("protocol x\nend\n", encoding="utf-8")
    answers = tmp_path / "answers.json"
    answers.write_text("{}")
    argv = [a.format(path=path, answers=answers) for a in command]
    code, out, err = run(*argv, *([] if "{path}" in command else [str(path)]))
    assert code in (1, 2) and "Traceback" not in err
    said = out + err
    assert "a\\x0a" + FORGED in said
    assert not any(line.startswith(FORGED) for line in said.splitlines())


# ------------------------------------------------------------------ a wrong folder must not pass

FOLDER_COMMANDS = [
    (["check", "{dir}"], "no protocols (*.triage)"),
    (["check", "--format", "json", "{dir}"], "no protocols (*.triage)"),
    (["check", QSOFA, "{dir}"], "no protocols (*.triage)"),  # one empty folder among paths
    (["fmt", "{dir}"], "no protocol or scenario files (*.triage, *.scenarios)"),
    (["fmt", "--check", "{dir}"], "no protocol or scenario files (*.triage, *.scenarios)"),
    (["test", "{dir}"], "no protocols (*.triage)"),
    (["book", "{dir}", "-o", "{site}"], "no protocols (*.triage)"),
    (
        [
            *("roster", "check", "{ics}", "--protocols", "{dir}"),
            *("--from", "2026-11-01", "--to", "2026-11-02", "--tz", "UTC"),
        ],
        "no protocols (*.triage)",
    ),
]


@pytest.mark.parametrize(("argv", "words"), FOLDER_COMMANDS)
@pytest.mark.parametrize("holding", [[], ["notes.txt", "sub/README.md"]])
def test_a_folder_without_protocols_is_an_error_naming_it(
    tmp_path: Path, argv: list[str], words: str, holding: list[str]
) -> None:
    """A CI pointed at the wrong folder fails (exit 2, the folder named, the fix said)
    instead of passing having checked nothing; nothing is written."""
    folder = tmp_path / "protocls"
    folder.mkdir()
    for name in holding:
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_text("not a protocol\n")
    ics = tmp_path / "r.ics"
    ics.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
    site = tmp_path / "site"
    code, out, err = run(*(a.format(dir=folder, site=site, ics=ics) for a in argv))
    assert (code, out) == (2, "")
    assert err.strip().endswith(
        f"triage: {folder}: {words} found under this folder; give the folder that holds them, or a file"
    )
    assert not site.exists() and "Traceback" not in err


def test_a_folder_of_libraries_only_has_nothing_to_test(tmp_path: Path) -> None:
    (tmp_path / "shared.triage").write_text('library shared end\nrole on_call "On call"\n')
    assert run("check", "--no-analysis", str(tmp_path))[0] == 0  # a library is checked
    code, _, err = run("test", str(tmp_path))
    assert code == 2 and "no protocols (*.triage) found under this folder" in err


@pytest.mark.parametrize("command", ["eval", "run"])
@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_session_id_is_refused_not_replaced_by_a_random_one(
    tmp_path: Path, command: str, blank: str
) -> None:
    """A blank --session-id gave a new random id, so the same command with --at no longer
    gave the same record byte for byte."""
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(GOOD))
    extra = ["--answers", str(answers)] if command == "eval" else []
    code, out, err = run(command, QSOFA, *extra, "--session-id", blank)
    assert code == 2 and out == "" and "--session-id: give an id that is not blank" in err


def test_a_year_before_1000_keeps_its_four_digits_in_the_note(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(GOOD))
    argv = ["eval", QSOFA, "--answers", str(answers), "--format", "note", "--session-id", "s1"]
    code, out, _ = run(*argv, "--at", "0001-01-01T00:00:00Z")
    assert code == 0 and "Call started 0001-01-01 00:00 UTC (session s1)" in out
