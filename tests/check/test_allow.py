"""``allow CODE "reason"``: accepted warnings are kept, marked, hidden and counted."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from triage_dsl import check
from triage_dsl.cli import main

PROTOCOL = """protocol allowed title "t" version "1" end
question rash: yes/no ask "Is there a stiff neck, or a rash?"
  allow W010 "the NHS meningitis checklist asks them together"
end
question t: number ask "T?" allow T005 "no range needed" end
disposition home label "Home" tier home_care end
disposition see label "See" tier same_day end
triage section see if any of when rash or t > 3 end default home end
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "allowed.triage"
    p.write_text(PROTOCOL, encoding="utf-8")
    return p


def test_an_allowed_warning_is_kept_with_its_reason(path: Path) -> None:
    found = {d.code: d for d in check(path)}
    assert found["W010"].suppressed == "the NHS meningitis checklist asks them together"
    assert found["T005"].suppressed is None  # errors are never suppressed
    assert "errors cannot be allowed" in found["W021"].message


def test_check_hides_suppressed_warnings_and_counts_them(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["check", str(path)])
    shown = capsys.readouterr()
    assert "W010" not in shown.out
    assert "1 error(s), 1 warning(s), 1 suppressed" in shown.out
    main(["check", "--show-suppressed", str(path)])
    out = capsys.readouterr().out
    assert "warning[W010]" in out
    assert "    suppressed: the NHS meningitis checklist asks them together" in out


def test_json_marks_suppressed_findings(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--format", "json", "--show-suppressed", str(path)])
    data = json.loads(capsys.readouterr().out)
    assert (data["errors"], data["warnings"], data["infos"], data["suppressed"]) == (1, 1, 0, 1)
    reasons = {f["code"]: f["suppressed"] for f in data["findings"]}
    assert reasons == {"T005": None, "W010": "the NHS meningitis checklist asks them together", "W021": None}


def test_an_allow_of_an_analysis_code_is_judged_only_when_the_analyses_ran(tmp_path: Path) -> None:
    p = tmp_path / "a.triage"
    p.write_text(
        PROTOCOL.replace('allow T005 "no range needed"', 'range 0 to 9 allow A050 "intended"'),
        encoding="utf-8",
    )
    assert [d.code for d in check(p)] == ["W010"]  # no analyses here: A050 not judged
    out = io.StringIO()
    main(["check", "--format", "json", str(p)], stdout=out)
    codes = [f["code"] for f in json.loads(out.getvalue())["findings"]]
    assert codes == ["W021"]  # the analyses ran and A050 is not reported on 't'
