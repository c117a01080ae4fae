"""Checker passes, from chunked golden files: each expected diagnostic is marked on the
line it is reported on (``### CODE``), so a case shows its error where it happens."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from triage_dsl import check
from triage_dsl.cli import main

DATA = Path(__file__).resolve().parents[1] / "data" / "check"
MARK = re.compile(r"###\s*(.*)$")


def marked(text: str) -> list[tuple[int, str]]:
    """The (line, code) pairs a chunk marks with ``### CODE`` at the end of lines."""
    return sorted(
        (number, code)
        for number, line in enumerate(text.splitlines(), start=1)
        if (m := MARK.search(line))
        for code in m.group(1).split()
    )


def _cases(name: str) -> list[tuple[str, str]]:
    text = (DATA / name).read_text(encoding="utf-8")
    chunks = re.split(r"^# ---\n", text, flags=re.M)
    cases = []
    for chunk in chunks:
        lines = [line for line in chunk.splitlines() if not line.startswith("#") or "###" in line]
        header = next((line for line in lines if line.startswith("protocol")), "case")
        cases.append((header.split()[1], "\n".join(lines) + "\n"))
    return cases


@pytest.mark.parametrize(("name", "text"), _cases("errors.triage"), ids=lambda x: x if "\n" not in x else "")
def test_checker_reports_exactly_the_marked_diagnostics(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.triage"
    path.write_text(text, encoding="utf-8")
    found = sorted((d.span.line, d.code) for d in check(path) if d.suppressed is None)
    expected = marked(text)
    assert found == expected


def test_five_mistakes_are_all_reported_with_positions_and_hints(capsys: pytest.CaptureFixture[str]) -> None:
    """The acceptance case: five different mistakes, all reported in one run, no traceback."""
    code = main(["check", str(DATA / "five_mistakes.triage")])
    out = capsys.readouterr().out
    expected = (DATA / "five_mistakes.expected").read_text(encoding="utf-8")
    assert out.replace(str(DATA) + "/", "") == expected
    assert code == 1


def test_json_format_gives_the_same_findings(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    main(["check", "--format", "json", str(DATA / "five_mistakes.triage")])
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == 5
    assert [f["code"] for f in data["findings"]] == ["T041", "T020", "T014", "T034", "T063"]
    assert all(isinstance(f["line"], int) and f["column"] >= 1 for f in data["findings"])


@pytest.mark.parametrize(("name", "text"), _cases("floors.triage"), ids=lambda x: x if "\n" not in x else "")
def test_screens_and_floors_report_exactly_the_marked_diagnostics(
    name: str, text: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{name}.triage"
    path.write_text(text, encoding="utf-8")
    found = sorted((d.span.line, d.code) for d in check(path))
    assert found == marked(text)


def test_a_misspelt_role_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    """A plan that notifies a role nobody declared would page nobody (issue: 'bakup_physician')."""
    shared = (Path(__file__).resolve().parents[2] / "protocols/telephone/shared.triage").read_text()
    path = tmp_path / "shared.triage"
    path.write_text(shared.replace("notify backup_physician by phone", "notify bakup_physician by phone", 1))
    found = [d for d in check(path) if d.code == "T053"]
    assert len(found) == 1 and found[0].severity == "error"
    assert found[0].hint == "did you mean 'backup_physician'?"
    assert "'bakup_physician'" in found[0].message and found[0].span.column > 1
