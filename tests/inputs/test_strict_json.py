"""The strict JSON reader: every refusal with its place, and plain JSON read as json does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage_dsl.io.strict_json import MAX_DEPTH, MAX_INT_DIGITS, JSONInputError, loads

REFUSED = [
    # (input, line, column, words in the message)
    ('{"fever": true, "fever": false}', 1, 17, 'the key "fever" is given twice'),
    ('{"a": {"x": 1,\n  "x": 2}}', 2, 3, 'the key "x" is given twice'),
    ('{"disposition": "home", "status": "complete", "disposition": "x"}', 1, 47, "given twice"),
    ('{"temp": ' + "1" * 4000 + "}", 1, 10, f"more than {MAX_INT_DIGITS} digits"),
    ('{"temp": -' + "9" * (MAX_INT_DIGITS + 1) + "}", 1, 10, "digits"),
    ('{"temp": 1e999}', 1, 10, "too large"),
    ('{"temp": NaN}', 1, 10, "NaN is not a JSON number"),
    ('{"temp": -Infinity}', 1, 10, "-Infinity is not a JSON number"),
    ("[" * 5000 + "]" * 5000, 1, MAX_DEPTH + 1, f"nested more than {MAX_DEPTH} deep"),
    ('{"\\ud800": 1}', 1, 2, "lone surrogate"),
    ('["ok", "\\udc00"]', 1, 8, "lone surrogate"),
    ('{"a": 1,}', 1, 9, "invalid JSON"),
    ("\n\n  {nope", 3, 4, "invalid JSON"),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), REFUSED)
def test_refusals_are_positioned(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(JSONInputError) as caught:
        loads(text, path="in.json")
    error = caught.value
    assert (error.path, error.line, error.column) == ("in.json", line, column)
    assert words in error.problem and str(error).startswith(f"in.json:{line}:{column}: ")


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
