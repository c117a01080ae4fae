"""The strict JSON reader: every refusal with its place, and plain JSON read as json does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage_dsl.io import strict_json
from triage_dsl.io.strict_json import AS_MEASURED, MAX_DEPTH, MAX_INT_DIGITS, JSONInputError, loads

REFUSED = [
    # (input, line, column, words in the message)
    ('{"fever": true, "fever": false}', 1, 17, 'the key "fever" is given twice'),
    ('{"a": {"x": 1,\n  "x": 2}}', 2, 3, 'the key "x" is given twice'),
    ('{"disposition": "home", "status": "complete", "disposition": "x"}', 1, 47, "given twice"),
    ('{"temp": ' + "1" * 4000 + "}", 1, 10, f"more than {MAX_INT_DIGITS} digits"),
    ('{"temp": -' + "9" * (MAX_INT_DIGITS + 1) + "}", 1, 10, "digits"),
    # a number refused says what is accepted and how to write it
    ('{"temp": 1e999}', 1, 10, "too large (the largest accepted is about 1.8e308); " + AS_MEASURED),
    ('{"temp": -1.5e400}', 1, 10, "too large (the largest accepted is about 1.8e308); " + AS_MEASURED),
    ('{"temp": 0.' + "1" * 400 + "}", 1, 10, "more than 400 characters; " + AS_MEASURED),
    (
        '{"temp": ' + "1" * 31 + "}",
        1,
        10,
        "more than 30 digits (no answer or record needs one); " + AS_MEASURED,
    ),
    ('{"temp": NaN}', 1, 10, "NaN is not a JSON number"),
    ('{"temp": -Infinity}', 1, 10, "-Infinity is not a JSON number"),
    ("[" * 5000 + "]" * 5000, 1, MAX_DEPTH + 1, f"nested more than {MAX_DEPTH} deep"),
    ('{"\\ud800": 1}', 1, 2, "lone surrogate"),
    ('["ok", "\\udc00"]', 1, 8, "lone surrogate"),
    ('{"a": 1,}', 1, 9, "invalid JSON"),
    ("\n\n  {nope", 3, 4, "invalid JSON"),
    # cut short: at the end of what was given, not on the line after it
    ("[[[[\n", 1, 5, "invalid JSON: the text ends before the value does"),
    ('{"temp": 38,\r\n\n  ', 1, 13, "the text ends before the value does"),
    ("", 1, 1, "the text ends before the value does"),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), REFUSED)
def test_refusals_are_positioned(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(JSONInputError) as caught:
        loads(text, path="in.json")
    error = caught.value
    assert (error.path, error.line, error.column) == ("in.json", line, column)
    assert words in error.problem and str(error).startswith(f"in.json:{line}:{column}: ")


def test_the_largest_number_is_still_read() -> None:
    assert loads('{"temp": 1.7976931348623157e308}') == {"temp": 1.7976931348623157e308}


def test_line_offset_names_the_line_of_a_cases_file() -> None:
    with pytest.raises(JSONInputError, match=r"^cases.jsonl:41:11: "):
        loads(b'{"id": 1, "id": 2}', path="cases.jsonl", line=41)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b'{"a": "\xff"}', "x.json:1:8"),
        (b'{\n "a": "\xc3"}', "x.json:2:8"),
        (b'"\xed\xa0\x80"', "x.json:1:2"),
    ],
)
def test_invalid_utf8_is_refused_at_its_byte(data: bytes, where: str) -> None:
    with pytest.raises(JSONInputError, match=f"^{where}: not UTF-8"):
        loads(data, path="x.json")


def test_a_raw_lone_surrogate_in_text_is_refused() -> None:
    with pytest.raises(JSONInputError, match="lone surrogate"):
        loads('{"a": "\ud800"}')


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "\\ud83d\\ude00"}',  # a surrogate pair is one character
        "[" * MAX_DEPTH + "]" * MAX_DEPTH,
        '{"n": ' + "9" * MAX_INT_DIGITS + "}",
        '{"x": [1, 2.5, -0.0, 1e300, true, null, "\\"{["]}',
        "\ufeff{}",
    ],
)
def test_accepted_at_the_limits(text: str) -> None:
    assert loads(text) == json.loads(text.lstrip("\ufeff"))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_plain_json_reads_as_json_does(value: Any) -> None:
    text = json.dumps(value)
    assert loads(text) == json.loads(text)
    assert loads(text.encode("utf-8")) == json.loads(text)


# The quick path (orjson) must read exactly what the full reader reads, or leave the text
# to it: never accept what it refuses, never give another value (repr tells 1 from 1.0).
NUMBERS = st.from_regex(r"\A-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,24})?([eE][+-]?[0-9]{1,3})?\Z")
KEYS = st.sampled_from(["a", "b", "a:b", "", "x"]) | st.text(max_size=3)
PAIRS = st.lists(st.tuples(KEYS, JSON | NUMBERS.map(lambda n: json.loads(n))), max_size=5)


def _object_text(pairs: list[tuple[str, Any]], spaced: bool) -> str:
    gap = " " if spaced else ""
    body = f",{gap}".join(f"{json.dumps(k)}:{gap}{json.dumps(v)}" for k, v in pairs)
    return "{" + body + "}"


TEXTS = st.one_of(
    JSON.map(json.dumps),
    NUMBERS,
    NUMBERS.map(lambda n: '{"n": ' + n + "}"),
    st.builds(_object_text, PAIRS, st.booleans()),  # keys given twice, colons in strings
    st.builds(lambda a, b: '{"case": ' + a + ', "more": [' + b + "]}", JSON.map(json.dumps), NUMBERS),
    st.text(alphabet='{}[]:,"0123456789.eE-+ truefalsnNIiy\\u', max_size=30),  # mostly not JSON
)


@given(TEXTS, st.booleans())
def test_the_quick_path_reads_what_the_full_reader_reads(text: str, as_bytes: bool) -> None:
    data: str | bytes = text.encode("utf-8") if as_bytes else text
    quick = strict_json._quick(data)
    if quick is strict_json._NOT_READ:
        return
    assert repr(quick) == repr(strict_json._loads(data, "<input>", 1))


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',  # orjson keeps the last: the full reader refuses
        '{"a": "x:y", "a": 2}',
        '{"n": 18446744073709551616}',  # orjson: a float
        '{"n": ' + "1" * 31 + "}",
        '{"n": 1' + "0" * 400 + ".5}",
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        '{"n": NaN}',
        "\ufeff{}",
        '{"t": "12:30"}',  # a colon in a string: the full reader decides
    ],
)
def test_what_the_quick_path_leaves_to_the_full_reader(text: str) -> None:
    assert strict_json._quick(text) is strict_json._NOT_READ
    assert strict_json._quick(text.encode("utf-8")) is strict_json._NOT_READ


def test_a_case_line_takes_the_quick_path() -> None:
    line = b'{"id": 7, "answers": {"resp_rate": 21, "spo2": 95.5, "on_oxygen": false, "avpu": "alert"}}'
    assert strict_json._quick(line) == json.loads(line)
