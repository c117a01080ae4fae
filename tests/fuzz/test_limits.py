"""Limits with clear errors: source size, nesting depth, expression depth, import depth."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage_dsl import compile_text, load
from triage_dsl.compiler import MAX_FILE_BYTES, MAX_IMPORT_DEPTH
from triage_dsl.errors import CompileError, ProtocolFileError
from triage_dsl.syntax.guard import MAX_NESTING, MAX_NUMBER_DIGITS, MAX_SOURCE_BYTES
from triage_dsl.syntax.parser import MAX_TREE_DEPTH

BODY = """protocol deep title "Deep" version "1" end
question a: yes/no ask "A?" end
disposition x label "X" tier urgent end
disposition h label "H" tier home_care end
triage section x if any of when {expr} end default h end
"""


def codes(text: str) -> list[tuple[str, str]]:
    with pytest.raises(CompileError) as exc:
        compile_text(text, "deep.triage")
    return [(d.code, d.message) for d in exc.value.diagnostics]


@pytest.mark.parametrize(
    ("expr", "code", "words"),
    [
        ("(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1), "S003", "parentheses deep"),
        ("not " * 5000 + "a", "S003", f"more than {MAX_TREE_DEPTH} levels"),
        (" and ".join(["a"] * 5000), "S003", f"more than {MAX_TREE_DEPTH} levels"),
        ("- " * 3000 + "1 > 0", "S003", f"more than {MAX_TREE_DEPTH} levels"),
        ("not " * 150 + "a", "T", "nested too deeply"),
        # number literals past the digit limit: once an int too large for a float, or too
        # long for int() itself (4,300 digits), a traceback from a later stage
        ("count(a) >= 1" + "0" * 5000, "S005", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("count(a) >= 1" + "0" * 400, "S005", f"more than {MAX_NUMBER_DIGITS} digits"),
        ("count(a) >= 0." + "0" * 400 + "1", "S005", f"more than {MAX_NUMBER_DIGITS} digits"),
    ],
)
def test_deep_expressions_are_refused_with_a_position(expr: str, code: str, words: str) -> None:
    found = codes(BODY.format(expr=expr))
    assert any(c.startswith(code) and words in m for c, m in found), found


def test_long_flat_lists_are_fine() -> None:
    protocol = compile_text(BODY.format(expr="count(" + ", ".join(["a"] * 3000) + ") > 1"), "flat.triage")
    assert protocol.id == "deep"


@pytest.mark.parametrize(
    "text",
    [
        BODY.format(expr="count(a) >= " + "1" * MAX_NUMBER_DIGITS),
        BODY.format(expr="a") + "# " + "9" * 5000 + "\n",
        BODY.format(expr="a").replace('"A?"', '"A ' + "9" * 5000 + '?"'),
    ],
)
def test_long_digits_at_the_limit_in_comments_or_in_text_are_not_s005(text: str) -> None:
    try:
        compile_text(text, "n.triage")
    except CompileError as exc:  # an unreachable threshold is reported by the checker
        assert {d.code for d in exc.diagnostics} == {"T034"}


def test_source_size_limit() -> None:
    text = BODY.format(expr="a") + "#" * (MAX_SOURCE_BYTES + 1)
    assert codes(text)[0][0] == "S002"


def test_file_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.triage"
    path.write_text("#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ProtocolFileError, match="larger than"):
        load(path)


def test_import_depth_limit(tmp_path: Path) -> None:
    depth = MAX_IMPORT_DEPTH + 2
    for n in range(depth):
        following = f'import "lib{n + 1}.triage"\n' if n + 1 < depth else ""
        (tmp_path / f"lib{n}.triage").write_text(f"library lib{n} end\n{following}")
    header, rest = BODY.format(expr="a").split("\n", 1)
    (tmp_path / "top.triage").write_text(f'{header}\nimport "lib0.triage"\n{rest}')
    with pytest.raises(CompileError) as exc:
        load(tmp_path / "top.triage")
    assert any(d.code == "T071" and "nested more than" in d.message for d in exc.value.diagnostics)
