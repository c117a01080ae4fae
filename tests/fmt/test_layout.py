"""The canonical layout, case by case: input -> expected output (a table of small files)."""

from __future__ import annotations

import pytest

from triage_dsl.fmt.layout import layout
from triage_dsl.fmt.safety import FormatError, comments, format_source
from triage_dsl.source import Source

HEADER = "library l\nend\n\n"

CASES = [
    pytest.param(
        'question  fever :yes/no ask "Fever?"   red  flag end',
        'question fever: yes/no\n  ask "Fever?"\n  red flag\nend\n',
        id="one statement a line, one space between tokens",
    ),
    pytest.param(
        "value v=-1+count( a ,b )*2\nvalue w = c in {x,y}",
        "value v = -1 + count(a, b) * 2\nvalue w = c in {x, y}\n",
        id="spacing around signs, parentheses, commas and braces",
    ),
    pytest.param(
        "points p from q\n<= 8: 3\n<= 11:1\n when a: 2\nelse: -1\nend",
        "points p from q\n  <= 8:  3\n  <= 11: 1\n  when a: 2\n  else:  -1\nend\n",
        id="a points table's values in one column",
    ),
    pytest.param(
        "value v = a\n or b\n\n\n\nvalue w = 1",
        "value v = a\n          or b\n\nvalue w = 1\n",
        id="continuation lines align under the expression; one blank line at most",
    ),
    pytest.param(
        '# head\n\n\nquestion a: yes/no # why\n  # inside\n  ask "A?"\nend\n# after\nvalue v = a',
        '# head\n\nquestion a: yes/no  # why\n  # inside\n  ask "A?"\nend\n\n# after\nvalue v = a\n',
        id="comments stay where they are",
    ),
    pytest.param(
        'question a: yes/no\n\n  ask "A?"\n\nend\nquestion b: yes/no ask "B?" end',
        'question a: yes/no\n  ask "A?"\nend\n\nquestion b: yes/no\n  ask "B?"\nend\n',
        id="no blank line after a block opens or before end; one between blocks",
    ),
    pytest.param(
        'triage section d if any of when a advice "x" when b and\nc end default e end',
        'triage\n  section d if any of\n    when a\n      advice "x"\n    when b and\n         c\n  end\n'
        "  default e\nend\n",
        id="sections, criteria and their advice nest",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_layout(text: str, expected: str) -> None:
    assert layout(HEADER + text, "protocol_file") == HEADER + expected
    assert layout(HEADER + expected, "protocol_file") == HEADER + expected  # a fixed point


def test_scenarios_layout() -> None:
    text = 'baseline a = 1,\n b = no\nscenario "s" given a=2 without b expect   tier urgent end'
    assert layout(text, "scenario_file") == (
        'baseline a = 1,\n         b = no\n\nscenario "s"\n  given a = 2\n  without b\n'
        "  expect tier urgent\nend\n"
    )


def test_crlf_and_trailing_spaces_are_normalised() -> None:
    text = "library l\r\nend\r\nvalue v = 1   # one   \r\n"
    assert format_source(Source("l.triage", text)) == "library l\nend\n\nvalue v = 1  # one\n"


def test_a_file_with_syntax_errors_is_refused() -> None:
    with pytest.raises(FormatError) as caught:
        format_source(Source("bad.triage", "protocol x\n question q: yes/no\n"))
    assert "syntax errors" in str(caught.value)
    assert [d.code for d in caught.value.diagnostics] and all(
        d.severity == "error" for d in caught.value.diagnostics
    )


def test_comments_are_found_outside_strings_only() -> None:
    assert comments('ask "a # b"  # c\n# d \nx') == ["# c", "# d"]
