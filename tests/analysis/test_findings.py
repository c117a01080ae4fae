"""Static verification findings, from chunked golden files (``### CODE`` on the line)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.check.test_checks import _cases, marked
from triage_dsl import load
from triage_dsl.analysis.findings import analyse

DATA = Path(__file__).resolve().parents[1] / "data" / "analysis"


@pytest.mark.parametrize(
    ("name", "text"), _cases("../analysis/findings.triage"), ids=lambda x: x if "\n" not in x else ""
)
def test_analyses_report_exactly_the_marked_findings(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.triage"
    path.write_text(text, encoding="utf-8")
    expected = marked(text)
    found = sorted((d.span.line, d.code) for d in analyse(load(path)))
    assert found == expected


def _finding(text: str, code: str, tmp_path: Path) -> tuple[str, dict[str, object] | None]:
    path = tmp_path / "p.triage"
    path.write_text(text, encoding="utf-8")
    (d,) = [d for d in analyse(load(path)) if d.code == code]
    return d.message, dict(d.witness) if d.witness is not None else None


def test_unreachable_names_the_covering_criterion(tmp_path: Path) -> None:
    ((_name, text),) = [c for c in _cases("../analysis/findings.triage") if c[0] == "unreachable"]
    message, _ = _finding(text, "A002", tmp_path)
    assert "'temp >= 39'" in message and "p.triage:8" in message


def test_gap_witness_really_falls_through(tmp_path: Path) -> None:
    ((_name, text),) = [c for c in _cases("../analysis/findings.triage") if c[0] == "bands"]
    message, witness = _finding(text, "A011", tmp_path)
    assert "in (36, 36.1]" in message
    assert witness is not None and 36 < float(witness["temp"]) <= 36.1  # type: ignore[arg-type]


def test_monotonic_witness_shows_the_less_urgent_answer(tmp_path: Path) -> None:
    ((_name, text),) = [c for c in _cases("../analysis/findings.triage") if c[0] == "monotonic"]
    path = tmp_path / "p.triage"
    path.write_text(text, encoding="utf-8")
    findings = {d.span.line: d for d in analyse(load(path))}
    bleeding = findings[3]
    assert bleeding.witness is not None and dict(bleeding.witness)["bleeding"] is True
    from triage_dsl import evaluate

    protocol = load(path)
    worse = evaluate(protocol, dict(bleeding.witness))
    better = evaluate(protocol, {**dict(bleeding.witness), "bleeding": False})
    assert worse.urgency is not None and better.urgency is not None
    assert worse.urgency.rank > better.urgency.rank


# Findings that wait for a clinical decision, each an open item of
# docs/safety/hazard-log.md: `triage check protocols/` shows them on every run.
PENDING = {("post_operative_concern.triage", "A051")}  # an unknown temperature, not a low one


def test_shipped_protocols_have_no_findings_but_those_allowed_with_a_reason() -> None:
    from triage_dsl.compiler import check_file

    root = Path(__file__).resolve().parents[2] / "protocols"
    findings, pending = [], set()
    for path in sorted(root.rglob("*.triage")):
        if re.search(r"^library ", path.read_text(encoding="utf-8"), re.M):
            continue
        diagnostics, _ = check_file(path, analyse)
        for d in diagnostics:
            if d.code.startswith("A") and d.suppressed is None:
                if (path.name, d.code) in PENDING:
                    pending.add((path.name, d.code))
                else:
                    findings.append(d.render())
    assert findings == []
    assert pending == PENDING  # an item decided and fixed leaves this list


def test_an_unknown_less_urgent_than_a_known_answer_is_reported_with_its_witness(tmp_path: Path) -> None:
    ((_name, text),) = [c for c in _cases("../analysis/findings.triage") if c[0] == "unknown_downgrades"]
    message, witness = _finding(text, "A051", tmp_path)
    assert message.startswith("answering 'temp' \"I don't know\" instead of ")
    assert message.endswith("gives a less urgent outcome ('today' instead of 'ed')")
    assert witness is not None and witness["temp"] == "unknown" and witness["infant"] is False
    from triage_dsl import evaluate

    protocol = load(tmp_path / "p.triage")
    unknown, low = evaluate(protocol, witness), evaluate(protocol, {**witness, "temp": 35})
    assert unknown.disposition is not None and low.disposition is not None
    assert (unknown.disposition.id, low.disposition.id) == ("today", "ed")


@pytest.mark.parametrize(
    ("name", "text"), _cases("../analysis/floors.triage"), ids=lambda x: x if "\n" not in x else ""
)
def test_floor_findings_are_exactly_the_marked_ones(name: str, text: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.triage"
    path.write_text(text, encoding="utf-8")
    assert sorted((d.span.line, d.code) for d in analyse(load(path))) == marked(text)


def test_a_floor_warning_can_be_allowed_with_a_reason(tmp_path: Path) -> None:
    from triage_dsl.analysis.findings import analyse as analyses
    from triage_dsl.compiler import check_file

    ((_name, text),) = [c for c in _cases("../analysis/floors.triage") if c[0] == "floor_allowed"]
    path = tmp_path / "p.triage"
    path.write_text(text, encoding="utf-8")
    diagnostics, _ = check_file(path, analyses)
    (floor,) = [d for d in diagnostics if d.code == "A060"]
    assert floor.suppressed == "kept while the default is reviewed"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("floor_below_everything", "every outcome is already at least as urgent"),
        ("floor_never_holds", "its criteria never hold when the outcome is less urgent"),
    ],
)
def test_a_floor_that_never_raises_says_why(name: str, reason: str, tmp_path: Path) -> None:
    ((_name, text),) = [c for c in _cases("../analysis/floors.triage") if c[0] == name]
    message, _ = _finding(text, "A060", tmp_path)
    assert message.startswith("floor 'at least") and reason in message


def test_a_gated_red_flag_witness_really_gets_a_less_urgent_outcome(tmp_path: Path) -> None:
    """Review finding 1 in small: confusion counts only with extreme pain."""
    ((_name, text),) = [c for c in _cases("../analysis/findings.triage") if c[0] == "gated"]
    message, witness = _finding(text, "A031", tmp_path)
    assert "'confused'" in message and "'emergency'" in message
    assert witness is not None and witness["confused"] is True and witness["pain"] != "extreme"
    from triage_dsl import evaluate

    protocol = load(tmp_path / "p.triage")
    result = evaluate(protocol, witness)
    assert result.status == "complete" and result.urgency is not None
    assert result.urgency.tier != "emergency"
    gated = evaluate(protocol, {**witness, "pain": "extreme"})
    assert gated.urgency is not None and gated.urgency.tier == "emergency"


def test_an_unknown_that_decides_a_section_is_a_note_with_its_witness(tmp_path: Path) -> None:
    ((_name, text),) = [c for c in _cases("../analysis/findings.triage") if c[0] == "unknown_decides"]
    path = tmp_path / "p.triage"
    path.write_text(text, encoding="utf-8")
    (d,) = [d for d in analyse(load(path)) if d.code == "A050"]
    assert d.severity == "info" and d.witness == (("temp", "unknown"),)
    from triage_dsl import evaluate

    for infant in (True, False):
        for rash in (True, False, "unknown"):
            result = evaluate(load(path), {"temp": "unknown", "infant": infant, "rash": rash})
            assert result.disposition is not None and result.disposition.id == "ed"


def test_an_age_or_duration_in_a_finding_reads_as_the_caller_would_say_it(tmp_path: Path) -> None:
    text = """protocol dur title "t" version "1" end
question fever_for: duration ask "How long?" range 0 minutes to 60 days unknown allowed end
disposition ed label "ED" tier urgent end
disposition home label "Home" tier home_care end
triage
  section ed if any of
    when fever_for is not unknown and fever_for > 5 days
  end
  default home
end
"""
    message, _ = _finding(text, "A051", tmp_path)
    known = message.split(" instead of ")[1].split(" gives ")[0]
    assert re.fullmatch(r"\d+(\.\d+)? (minutes?|hours?|days?|weeks?|months?|years?)", known), message
