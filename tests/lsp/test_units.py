"""Columns between the checks (characters) and an LSP client's position encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types as lsp

from triage_dsl.lsp.units import Units, from_client, to_client

UTF8, UTF16, UTF32 = (
    lsp.PositionEncodingKind.Utf8,
    lsp.PositionEncodingKind.Utf16,
    lsp.PositionEncodingKind.Utf32,
)
LINE = 'ask "38 °C 🤒" tier x'  # ° is 2 UTF-8 bytes, 🤒 4 bytes and 2 UTF-16 units


@pytest.mark.parametrize(
    ("encoding", "column", "units"),
    [
        (UTF16, 0, 0),
        (UTF16, LINE.index("°"), LINE.index("°")),
        (UTF16, LINE.index("x"), LINE.index("x") + 1),
        (UTF8, LINE.index("°") + 1, LINE.index("°") + 2),
        (UTF8, LINE.index("x"), LINE.index("x") + 1 + 3),
        (UTF32, LINE.index("x"), LINE.index("x")),
        (UTF16, len(LINE) + 2, len(LINE) + 1 + 2),  # past the end: the rest counts as is
    ],
)
def test_columns_convert_both_ways(encoding: str, column: int, units: int) -> None:
    assert to_client(LINE, column, encoding) == units
    assert from_client(LINE, units, encoding) == column


def test_a_column_inside_a_character_is_that_characters() -> None:
    emoji = LINE.index("🤒")
    assert from_client(LINE, to_client(LINE, emoji, UTF16) + 1, UTF16) == emoji
    assert from_client(LINE, to_client(LINE, emoji, UTF8) + 3, UTF8) == emoji


@given(st.text(), st.integers(0, 60), st.sampled_from([UTF8, UTF16, UTF32]))
def test_a_character_column_survives_the_round_trip(line: str, column: int, encoding: str) -> None:
    assert from_client(line, to_client(line, column, encoding), encoding) == column


def test_a_response_is_converted_by_the_lines_of_the_file_each_range_is_in() -> None:
    texts = {"file:///a.triage": "x\n" + LINE + "\n", "file:///b.triage": "🤒🤒 y\n"}
    units = Units(UTF16, texts.get)
    here = lsp.Range(lsp.Position(1, LINE.index("x")), lsp.Position(1, LINE.index("x") + 1))
    there = lsp.Location("file:///b.triage", lsp.Range(lsp.Position(0, 3), lsp.Position(0, 4)))
    edit = lsp.WorkspaceEdit(
        changes={"file:///b.triage": [lsp.TextEdit(lsp.Range(lsp.Position(0, 3), lsp.Position(0, 4)), "z")]}
    )
    out = units.out("file:///a.triage", [lsp.Diagnostic(here, "m"), there, lsp.CodeAction("fix", edit=edit)])
    diagnostic, location, action = out
    assert isinstance(diagnostic, lsp.Diagnostic) and diagnostic.range.start.character == LINE.index("x") + 1
    assert isinstance(location, lsp.Location) and location.range.start.character == 5
    assert isinstance(action, lsp.CodeAction) and action.edit is not None and action.edit.changes is not None
    assert action.edit.changes["file:///b.triage"][0].range.start.character == 5
    assert units.position_in("file:///b.triage", lsp.Position(0, 5)) == lsp.Position(0, 3)
    # an unreadable file's ranges are left as they are
    lost = lsp.Location("file:///gone.triage", lsp.Range(lsp.Position(0, 3), lsp.Position(0, 4)))
    assert units.out("file:///a.triage", lost).range.start.character == 3
