"""Fuzzing every path hostile input reaches: the JSON reader, the batch line, answers
through the API, imports, verify, redact and render --trace.

Generators make the inputs that used to crash: integers of thousands of digits, deep
nesting, lone surrogates (raw and escaped), invalid UTF-8, duplicate keys, NaN and
infinities, bools where numbers are expected. The properties: a positioned error or a
valid value, never another exception; a batch line is always one JSON line; nothing
outside a protocol's folder is ever quoted.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import PROTOCOLS
from tests.fuzz.conftest import EXAMPLES, FUZZ
from triage_dsl import (
    AnswerError,
    CompileError,
    Session,
    SessionError,
    TriageError,
    compile_text,
    evaluate,
    load,
)
from triage_dsl.batch import case_line
from triage_dsl.cli import main
from triage_dsl.io.strict_json import JSONInputError, loads

HEAVY = settings(FUZZ, max_examples=max(10, EXAMPLES // 4))  # each example writes files
QSOFA = load(PROTOCOLS / "rules" / "qsofa.triage")
NEWS2 = load(PROTOCOLS / "rules" / "news2.triage")
SECRET = "SECRET-CONTENT-1234"

HUGE = st.integers(min_value=10**25, max_value=10**4000) | st.integers(max_value=-(10**25))
SURROGATE = st.integers(0xD800, 0xDFFF).map(chr)
HOSTILE_SCALAR = st.one_of(
    HUGE,
    st.floats(),  # NaN and infinities included
    st.booleans(),
    st.none(),
    st.text(max_size=6),
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=3), SURROGATE, st.text(max_size=3)),
)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


HOSTILE = st.one_of(
    HOSTILE_SCALAR,
    st.integers(1, 3000).map(nested),
    st.lists(HOSTILE_SCALAR, max_size=3),
    st.dictionaries(st.text(max_size=3), HOSTILE_SCALAR, max_size=3),
)


@st.composite
def json_texts(draw: st.DrawFn) -> bytes:
    """Case lines as bytes, plain or broken in one of the ways attackers use."""
    answers = draw(
        st.dictionaries(st.sampled_from(["resp_rate", "sbp", "altered_mentation"]), HOSTILE_SCALAR)
    )
    try:
        text = json.dumps({"id": draw(st.text(max_size=5)), "answers": answers})
    except (ValueError, RecursionError):  # pragma: no cover - json.dumps takes all of these
        text = "{}"
    kind = draw(st.integers(0, 7))
    if kind == 0:  # a duplicate key
        text = text.replace('"answers": {', '"answers": {"resp_rate": 1, "resp_rate": 2, ', 1)
    elif kind == 1:  # deep nesting
        depth = draw(st.integers(1, 6000))
        text = '{"id": "d", "answers": ' + "[" * depth + "]" * depth + "}"
    elif kind == 2:  # a huge integer literal
        text = '{"id": "h", "answers": {"resp_rate": ' + "9" * draw(st.integers(1, 6000)) + "}}"
    elif kind == 3:  # an escaped lone surrogate
        low = draw(st.integers(0, 255))
        text = text.replace('"id": ', f'"id": "\\udc{low:02x}", "x": ', 1)
    data = text.encode("utf-8", "surrogatepass")
    if kind == 4:  # invalid UTF-8 somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"])) + data[at:]
    elif kind == 5:  # truncated
        data = data[: draw(st.integers(0, len(data)))]
    return data


@FUZZ
@given(json_texts())
def test_the_reader_gives_a_value_or_a_positioned_error(data: bytes) -> None:
    try:
        value = loads(data, path="f.json")
    except JSONInputError as exc:
        assert exc.path == "f.json" and exc.line is not None and exc.line >= 1
        assert str(exc).startswith(f"f.json:{exc.line}")
        return
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # what was read can be written back


@FUZZ
@given(json_texts(), st.integers(1, 10**6))
def test_a_batch_line_is_always_one_json_line(data: bytes, number: int) -> None:
    text, failed = case_line(NEWS2, data, number, trace=False, path="c.jsonl")
    assert text.splitlines() == [text]  # no line break of any reader's kind (\x85, \u2028...)
    row = json.loads(text)
    assert row["line"] == number and row["status"] in ("complete", "needs_answers", "error")
    assert failed == (row["status"] == "error")


@HEAVY
@given(st.lists(json_texts(), min_size=1, max_size=5))
def test_the_batch_command_answers_every_line(lines: list[bytes]) -> None:
    data = b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n"
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["eval", str(PROTOCOLS / "rules" / "qsofa.triage"), "--cases", "-", "--no-trace"],
        stdin=io.TextIOWrapper(io.BytesIO(data)),
        stdout=out,
        stderr=err,
    )
    rows = [json.loads(t) for t in out.getvalue().splitlines()]
    expected = [n for n, line in enumerate(data.split(b"\n")[:-1], start=1) if line.strip()]
    assert code in (0, 1) and err.getvalue() == "" and [r["line"] for r in rows] == expected


@FUZZ
@given(st.dictionaries(st.text(max_size=4) | st.sampled_from(["resp_rate", "altered_mentation"]), HOSTILE))
def test_the_api_takes_any_json_like_value(answers: dict[str, Any]) -> None:
    result = evaluate(QSOFA, answers)
    assert result.status in ("complete", "needs_answers", "error")
    result.model_dump_json()
    session = Session(QSOFA)
    for question, value in answers.items():
        try:
            session.answer(question, value)
        except AnswerError as exc:
            assert exc.code is not None and exc.question is not None
            str(exc).encode("utf-8")  # the message can be printed
        except SessionError:
            pass


@FUZZ
@given(st.text(max_size=40), SURROGATE, st.integers(0, 40))
def test_protocol_text_with_a_lone_surrogate_is_a_compile_error(text: str, bad: str, at: int) -> None:
    source = 'protocol p title "P" version "1" end\n' + text[:at] + bad + text[at:]
    with pytest.raises(CompileError) as caught:
        compile_text(source)
    assert any(d.code == "S004" for d in caught.value.diagnostics)


@st.composite
def import_targets(draw: st.DrawFn) -> str:
    return draw(
        st.sampled_from(
            ["../../secret.triage", "../../secret.txt", "/dev/zero", "link.triage", "fifo.triage"]
        )
        | st.builds(lambda s: "a/../../../" + s, st.sampled_from(["secret.triage", "x.triage"]))
        | st.text(st.characters(blacklist_characters='"\n\r\\', blacklist_categories=("Cs",)), max_size=20)
    )


@HEAVY
@given(import_targets())
def test_imports_never_quote_what_is_outside(tmp_path_factory: Any, target: str) -> None:
    root = Path(tmp_path_factory.mktemp("imports"))
    (root / "secret.triage").write_text(SECRET)
    (root / "secret.txt").write_text(SECRET)
    folder = root / "library" / "protocols"
    folder.mkdir(parents=True)
    (folder / "link.triage").symlink_to(root / "secret.triage")
    import os

    os.mkfifo(folder / "fifo.triage")
    path = folder / "p.triage"
    path.write_text(
        f'protocol p title "P" version "1" end\nimport "{target}"\n'
        'disposition home label "Home" tier home_care end\ntriage default home end\n'
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", str(path)], stdout=out, stderr=err)
    assert code in (0, 1, 2) and SECRET not in out.getvalue() + err.getvalue()
    assert "Traceback" not in err.getvalue()


def _record() -> dict[str, Any]:
    out = io.StringIO()
    main(
        ["eval", str(PROTOCOLS / "rules" / "qsofa.triage"), "--answers", "-", "--session-id", "s"],
        stdin=io.StringIO('{"resp_rate": 24, "altered_mentation": true}'),
        stdout=out,
    )
    record: dict[str, Any] = json.loads(out.getvalue())
    return record


RECORD = _record()


@st.composite
def hostile_records(draw: st.DrawFn) -> bytes:
    record = json.loads(json.dumps(RECORD))
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(sorted(record)))
        record[key] = draw(HOSTILE)
    try:
        text = json.dumps(record, ensure_ascii=draw(st.booleans()))
    except (ValueError, RecursionError):
        text = json.dumps(RECORD)
    if draw(st.booleans()):  # a forged key before the real one
        key = draw(st.sampled_from(["disposition", "status", "seal", "answers"]))
        text = "{" + json.dumps(key) + ": null, " + text[1:]
    return text.encode("utf-8", "surrogatepass")


@HEAVY
@given(hostile_records(), st.sampled_from(["verify", "redact", "render"]))
def test_records_give_a_result_or_one_clean_error(tmp_path_factory: Any, data: bytes, command: str) -> None:
    path = Path(tmp_path_factory.mktemp("records")) / "r.json"
    path.write_bytes(data)
    protocol = str(PROTOCOLS / "rules" / "qsofa.triage")
    argv = {
        "verify": ["verify", str(path), "--protocol", protocol],
        "redact": ["redact", str(path)],
        "render": ["render", protocol, "--trace", str(path)],
    }[command]
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(argv, stdout=out, stderr=err)
    except TriageError as exc:  # pragma: no cover - main turns every error into a message
        raise AssertionError(f"{command} raised {exc!r}") from exc
    assert code in (0, 1, 2) and "Traceback" not in err.getvalue()
    if code == 2:
        assert err.getvalue().startswith("triage: ")
