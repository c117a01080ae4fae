"""The one JSON reader for every JSON input: strict, bounded, positioned.

Python's ``json`` module takes the last of two equal keys, reads ``NaN`` and
``Infinity``, builds integers of any size (slowly), lets escaped lone surrogates through
and recurses until the interpreter gives up. An answer file or a record is evidence, so
:func:`loads` refuses each of these with the place (``path:line:col``):

- a key given twice in one object (``{"fever": true, "fever": false}``);
- nesting deeper than :data:`MAX_DEPTH`;
- an integer of more than :data:`MAX_INT_DIGITS` digits, a number too large for a float
  (beyond :data:`LARGEST_NUMBER`) or longer than :data:`MAX_NUMBER_CHARS`, ``NaN`` and
  ``Infinity`` (each number's message ends with the fix, :data:`AS_MEASURED`);
- invalid UTF-8 (when given bytes) and lone surrogates (raw or escaped);
- a document larger than the caller's limit.

The common case costs one ``orjson.loads`` and a count of the keys read (see
:func:`_quick`); anything it cannot vouch for is read by ``json.loads`` with hooks, and
the position of a refusal is found by a third, slower scan that runs only when something
was refused.

>>> loads('{"fever": true, "temp_c": 38.5}')
{'fever': True, 'temp_c': 38.5}
>>> loads('{"fever": true,\\n "fever": false}', path="a.json")
Traceback (most recent call last):
...
triage_dsl.io.strict_json.JSONInputError: a.json:2:2: the key "fever" is given twice in one object
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from itertools import accumulate
from typing import Any

import orjson

from triage_dsl.io.files import InputError, position_in_bytes, position_in_text

MAX_DEPTH = 64
"""Objects and lists nested deeper than this are refused (a record needs about 8)."""
MAX_INT_DIGITS = 30
"""Integers with more digits than this are refused (no answer or record needs more)."""
MAX_NUMBER_CHARS = 400
"""A number with a fraction or an exponent longer than this is refused (it is not a reading)."""
LARGEST_NUMBER = "1.8e308"
"""About the largest number a float holds; beyond it (``1e400``) a number is refused."""
AS_MEASURED = "write the value as measured, e.g. 18 or 37.5"
"""The fix every refused number's message ends with."""
MAX_ANSWERS_BYTES = 1_000_000
"""An answers file (``--answers``) or one line of ``--cases``."""
MAX_RECORD_BYTES = 50_000_000
"""A record, call record or result file (``verify``, ``redact``, ``render --trace``)."""


class JSONInputError(InputError):
    """JSON input refused: not JSON, or outside the limits above; positioned."""


class _Refused(Exception):
    """Raised inside the decoder's hooks; the scan below finds where."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Refused
    return value


def _constant(text: str) -> Any:
    raise _Refused


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused
    return result


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object, parse_int=_int, parse_float=_float, parse_constant=_constant
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_TOKEN = re.compile(
    r'[ \t\r\n]*(?:(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<number>-?(?:0|[1-9]\d*)(?P<fraction>(?:\.\d+)?(?:[eE][+-]?\d+)?))"
    r"|(?P<punct>[\[\]{}:,])|(?P<word>true|false|null|NaN|-?Infinity))",
    re.S,
)


# A run of 19 digits: an integer orjson would read as a float (beyond 64 bits) or one of
# more than MAX_INT_DIGITS digits, or a number longer than _float takes (401 characters
# of a number hold such a run).
_LONG_DIGITS = re.compile(r"\d{19}")
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")
_NOT_READ = object()


def _quick(data: str | bytes) -> Any:
    """The value in ``data`` read by orjson when that is what :func:`loads` reads, else
    ``_NOT_READ``. orjson refuses NaN, infinities, lone surrogates, invalid UTF-8, a byte
    order mark and nesting past 1,024; what it reads differently is left to the full
    reader: a long digit run (an integer beyond 64 bits becomes a float), nesting deeper
    than MAX_DEPTH (counted as brackets, strings included), and a key given twice, which
    orjson keeps the last of: unless every ``:`` of the text separates a key of an object
    read (then none is in a string, and no key was lost), the full reader decides."""
    if isinstance(data, bytes):
        if _LONG_DIGITS_BYTES.search(data) or data.count(b"[") + data.count(b"{") > MAX_DEPTH:
            return _NOT_READ
        colons = data.count(b":")
    else:
        if _LONG_DIGITS.search(data) or data.count("[") + data.count("{") > MAX_DEPTH:
            return _NOT_READ
        colons = data.count(":")
    try:
        value = orjson.loads(data)
    except (orjson.JSONDecodeError, TypeError):  # TypeError: a type orjson does not read
        return _NOT_READ
    return value if _keys(value) == colons else _NOT_READ


def _keys(value: Any) -> int:
    """The number of keys of every object in ``value`` (nested at most MAX_DEPTH deep)."""
    count = 0
    items: Iterable[Any]
    if type(value) is dict:
        count = len(value)
        items = value.values()
    elif type(value) is list:
        items = value
    else:
        return 0
    for item in items:
        t = type(item)
        if t is dict or t is list:
            count += _keys(item)
    return count


def loads(data: str | bytes, path: str = "<input>", line: int = 1) -> Any:
    """The JSON value in ``data``; :class:`JSONInputError` naming ``path:line:col``.

    ``line`` is the line number of the first line of ``data`` (for one line of a
    ``--cases`` file). Size limits are the caller's (see :mod:`triage_dsl.io.files`).
    """
    value = _quick(data)
    if value is not _NOT_READ:
        return value
    return _loads(data, path, line)


def _loads(data: str | bytes, path: str, line: int) -> Any:
    """:func:`loads` by ``json.loads`` with hooks: every refusal, with its place."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            row, column = position_in_bytes(data, exc.start)
            raise JSONInputError(path, "not UTF-8 text (an invalid byte)", line + row - 1, column) from None
    else:
        text = data.removeprefix("\ufeff")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        _fail(text, exc.start, "a lone surrogate character (not valid Unicode text)", path, line)
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        _locate(text, path, line)
    try:
        value = _DECODER.decode(text)
    except _Refused:
        _locate(text, path, line)
    except RecursionError:  # pragma: no cover - the depth check comes first
        _locate(text, path, line)
    except json.JSONDecodeError as exc:
        end = len(text.rstrip("\r\n\t "))
        if exc.pos >= end:  # at the end: at the last character given, not past the line
            _fail(text, end, f"invalid JSON: the text ends before the value does ({exc.msg})", path, line)
        _fail(text, exc.pos, f"invalid JSON: {exc.msg}", path, line)
    if _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        _locate(text, path, line)
    return value


def _depth(text: str) -> int:
    brackets = re.sub(r"[^\[\]{}]", "", _STRINGS.sub("", text))
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def _encodable(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return True


def _fail(text: str, offset: int, problem: str, path: str, first_line: int) -> Any:
    line, column = position_in_text(text, offset)
    raise JSONInputError(path, problem, first_line + line - 1, column)


def _locate(text: str, path: str, first_line: int) -> Any:
    """Scan the text token by token for the first refusal, and raise it with its place."""
    # Each frame: [is_object, keys seen, expecting a key]
    stack: list[list[Any]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            break
        start = match.start(match.lastgroup or 0)
        pos = match.end()
        if match.group("punct"):
            char = match.group("punct")
            if char in "[{":
                if len(stack) >= MAX_DEPTH:
                    _fail(text, start, f"nested more than {MAX_DEPTH} deep", path, first_line)
                stack.append([char == "{", set(), char == "{"])
            elif char in "]}":
                if stack:
                    stack.pop()
            elif char == "," and stack and stack[-1][0]:
                stack[-1][2] = True
            elif char == ":" and stack:
                stack[-1][2] = False
        elif match.group("string"):
            token = match.group("string")
            try:
                decoded = json.loads(token)
                decoded.encode("utf-8")
            except (ValueError, UnicodeEncodeError):
                _fail(text, start, "a lone surrogate escape (not valid Unicode text)", path, first_line)
            if stack and stack[-1][0] and stack[-1][2]:
                if decoded in stack[-1][1]:
                    shown = json.dumps(decoded)
                    shown = shown if len(shown) <= 40 else shown[:37] + '..."'
                    _fail(text, start, f"the key {shown} is given twice in one object", path, first_line)
                stack[-1][1].add(decoded)
        elif match.group("number"):
            number = match.group("number")
            if not match.group("fraction") and len(number.lstrip("-")) > MAX_INT_DIGITS:
                problem = f"an integer of more than {MAX_INT_DIGITS} digits (no answer or record needs one)"
                _fail(text, start, f"{problem}; {AS_MEASURED}", path, first_line)
            if match.group("fraction") and len(number) > MAX_NUMBER_CHARS:
                problem = f"a number written with more than {MAX_NUMBER_CHARS} characters"
                _fail(text, start, f"{problem}; {AS_MEASURED}", path, first_line)
            if match.group("fraction") and abs(float(number)) == float("inf"):
                problem = f"a number too large (the largest accepted is about {LARGEST_NUMBER})"
                _fail(text, start, f"{problem}; {AS_MEASURED}", path, first_line)
        elif match.group("word") in ("NaN", "Infinity", "-Infinity"):
            _fail(text, start, f"{match.group('word')} is not a JSON number", path, first_line)
    _fail(text, 0, "invalid JSON", path, first_line)  # pragma: no cover - the scan finds it first
