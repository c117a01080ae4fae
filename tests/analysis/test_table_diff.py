"""Decision tables agree with the interpreter; diffs are empty for the same behaviour and
find every moved threshold with a witness that really changes the outcome."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.test_cli import run
from tests.runtime.test_properties import PROTOCOL_LIST, full_answers
from triage_dsl import Protocol, compile_text, evaluate, load
from triage_dsl.analysis.cases import generate
from triage_dsl.analysis.diff import diff
from triage_dsl.analysis.table import Table, build_table
from triage_dsl.runtime.answers import all_questions, validate

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "protocols" / "rules"
TABLES: dict[str, Table] = {}


def table_of(protocol: Protocol) -> Table:
    if protocol.id not in TABLES:
        TABLES[protocol.id] = build_table(protocol)
    return TABLES[protocol.id]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_answer_set_falls_in_exactly_one_row_which_agrees_with_the_interpreter(
    data: st.DataObject,
) -> None:
    protocol = data.draw(st.sampled_from(PROTOCOL_LIST))
    answers = data.draw(full_answers(protocol))
    clean, problems = validate(protocol.plan, answers)
    assert not problems
    rows = table_of(protocol).row_for(clean)
    assert len(rows) == 1
    result = evaluate(protocol, answers)
    assert result.disposition is not None and rows[0].disposition == result.disposition.id


def _lowest(protocol: Protocol, qid: str) -> Any:
    """One valid answer to a question: no, the first option, the low end of a range
    (inside the population for the patient's age)."""
    q = all_questions(protocol.plan)[qid]
    if q.type == "yes/no":
        return False
    if q.type == "choice":
        return q.option_ids[0]
    assert q.low is not None
    low = q.low
    population = protocol.plan.population
    if q.is_time:
        if population is not None and population.question == qid:
            low = max(low, population.low)
        return {"value": math.ceil(low), "unit": "minutes"}
    return math.ceil(low) if q.type == "whole number" else low


def test_table_witnesses_reproduce_their_rows() -> None:
    for protocol in PROTOCOL_LIST:
        table = table_of(protocol)
        for row in table.rows[:200]:
            answers = dict(table.witness(row))
            result = evaluate(protocol, answers)
            # A floor that holds at a tier no remaining section can beat decides the row,
            # but the interpreter still asks the less urgent sections' questions: any
            # answers to them must give the row's disposition.
            while result.status == "needs_answers":
                answers.update({qid: _lowest(protocol, qid) for qid in result.missing})
                result = evaluate(protocol, answers)
            assert result.status == "complete" and result.disposition is not None
            assert result.disposition.id == row.disposition


def test_diff_of_a_protocol_with_itself_is_empty() -> None:
    for protocol in PROTOCOL_LIST:
        if protocol.id != "news2":  # news2 is covered by the CLI test below
            assert diff(protocol, protocol) == []


def _rewrite(text: str) -> str:
    """Reformat and relabel without changing behaviour."""
    text = re.sub(r'label "([^"]*)"', r'label "\1 (reworded)"', text)
    text = text.replace("\n  ", "\n      ")
    return "# reformatted copy\n" + text


@pytest.mark.parametrize("name", ["curb65", "qsofa", "heart", "ottawa_ankle", "mcisaac", "esi"])
def test_textual_rewrites_report_no_difference(name: str, tmp_path: Path) -> None:
    (tmp_path / "rules.triage").write_text((RULES / "rules.triage").read_text())
    copy = tmp_path / f"{name}.triage"
    copy.write_text(_rewrite((RULES / f"{name}.triage").read_text()))
    assert diff(load(RULES / f"{name}.triage"), load(copy)) == []


THRESHOLD = re.compile(r"(?P<op><=|>=|<|>|=)\s*(?P<num>\d+(\.\d+)?)")


def _mutations(text: str) -> list[tuple[int, str]]:
    """Every number that follows a comparison in a criterion, value or points row."""
    out = []
    for m in THRESHOLD.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if "#" in text[line_start : m.start()] or text[: m.start()].rstrip().endswith(("range", "to")):
            continue  # comments and declared ranges are not thresholds
        out.append((m.start("num"), m.group("num")))
    return out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_a_moved_threshold_shows_up_with_a_witness_that_really_changes_the_outcome(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(["curb65", "qsofa", "heart", "mcisaac", "esi", "news2"]))
    text = (RULES / f"{name}.triage").read_text()
    body = text[text.index("\nend\n") :]  # after the header
    offset = text.index("\nend\n")
    candidates = [(offset + i, n) for i, n in _mutations(body)]
    position, number = data.draw(st.sampled_from(candidates))
    delta = data.draw(st.sampled_from([1, -1]))
    moved = float(number) + delta
    new_number = f"{moved:g}" if "." not in number else f"{moved:.1f}"
    mutated = text[:position] + new_number + text[position + len(number) :]
    folder = tmp_path_factory.mktemp("mut")
    (folder / "rules.triage").write_text((RULES / "rules.triage").read_text())
    path = folder / f"{name}.triage"
    path.write_text(mutated)
    try:
        new = load(path)
    except Exception:  # the mutation made the protocol invalid (e.g. outside a range)
        return
    old = load(RULES / f"{name}.triage")
    changes = diff(old, new)
    if not changes:
        # Some moves change nothing (a stricter copy of a band inside an "or"): then no
        # answer set may tell the two versions apart.
        for _ in range(100):
            answers = data.draw(full_answers(old))
            a, b = evaluate(old, answers), evaluate(new, answers)
            assert (a.disposition and a.disposition.id) == (b.disposition and b.disposition.id), number
        return
    for change in changes:
        a, b = evaluate(old, change.witness), evaluate(new, change.witness)
        outcome_a = a.disposition.id if a.disposition else a.status
        outcome_b = b.disposition.id if b.disposition else b.status
        assert outcome_a != outcome_b


def test_cli_table_formats() -> None:
    code, out, _ = run("table", str(RULES / "qsofa.triage"))
    assert code == 0 and out.startswith("Decision table of qsofa: 6 rows")
    code, out, _ = run("table", str(RULES / "qsofa.triage"), "--format", "json")
    data = json.loads(out)
    assert (
        code == 0
        and len(data["rows"]) == 6
        and {"conditions", "disposition", "tier", "witness"} <= set(data["rows"][0])
    )
    code, out, _ = run("table", str(RULES / "qsofa.triage"), "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "row,resp_rate,altered_mentation,sbp,disposition,tier"


def test_cli_diff_exit_codes(tmp_path: Path) -> None:
    news2 = str(RULES / "news2.triage")
    code, out, _ = run("diff", news2, news2)
    assert (code, out) == (0, "no difference in behaviour\n")
    (tmp_path / "rules.triage").write_text((RULES / "rules.triage").read_text())
    changed = tmp_path / "qsofa.triage"
    changed.write_text((RULES / "qsofa.triage").read_text().replace("sbp <= 100", "sbp <= 90"))
    code, out, _ = run("diff", str(RULES / "qsofa.triage"), str(changed), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["changes"] and data["changes"][0]["direction"] == "less urgent"
    assert 90 < data["changes"][0]["witness"]["sbp"] <= 100
    assert run("diff", news2, str(tmp_path / "missing.triage"))[0] == 2


def test_cli_cases_are_valid_scenarios_that_pass(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name in ("rules", "curb65"):
        (folder / f"{name}.triage").write_text((RULES / f"{name}.triage").read_text())
    code, _, _ = run("cases", str(folder / "curb65.triage"), "-o", str(folder / "curb65.scenarios"))
    assert code == 0
    code, out, _ = run("test", str(folder / "curb65.triage"))
    assert code == 0 and "PASS curb65" in out


def test_generated_scenarios_cover_both_sides_of_thresholds() -> None:
    text = generate(load(RULES / "curb65.triage"))
    for value in ("urea_mmol_l = 7,", "urea_mmol_l = 7.1", "age = 64.9", "age = 65,"):
        assert value in text or value.rstrip(",") + "\n" in text


def test_not_separable_comparisons_are_reported() -> None:
    protocol = compile_text(
        'protocol pp title "t" version "1" end\n'
        'question sbp: number ask "S?" range 0 to 300 end\n'
        'question dbp: number ask "D?" range 0 to 200 end\n'
        'disposition ed label "ED" tier urgent end\n'
        'disposition home label "Home" tier home_care end\n'
        "triage section ed if any of when sbp - dbp < 25 end default home end\n",
        path="pp.triage",
    )
    from triage_dsl.analysis.domains import NotSeparable
    from triage_dsl.analysis.findings import analyse

    with pytest.raises(NotSeparable, match="combines the number answers dbp, sbp"):
        analyse(protocol)


def test_generated_scenarios_answer_unknown_where_it_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "p.triage"
    path.write_text(
        'protocol p title "t" version "1" end\n'
        'question temp: number ask "T?" range 30 to 45 unknown allowed end\n'
        'question infant: yes/no ask "Infant?" end\n'
        'question spare: yes/no ask "Spare?" unknown allowed end\n'
        'disposition ed label "ED" tier urgent end\n'
        'disposition home label "Home" tier home_care end\n'
        "triage section ed if any of when infant and temp >= 38 end default home end\n"
    )
    text = generate(load(path))
    assert 'scenario "temp = unknown (the caller does not know)"' in text
    assert "given temp = unknown, infant = yes\n  expect ed" in text  # not knowing changes the outcome
    assert "spare = unknown" not in text  # never read by the triage


FLOORS = Path(__file__).resolve().parents[1] / "data" / "floors"


def test_diff_sees_floors_added_and_every_change_is_more_urgent(tmp_path: Path) -> None:
    for path in FLOORS.glob("*.triage"):
        text = re.sub(r"^\s*at least .*?^\s*end\n", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    old, new = load(tmp_path / "cough.triage"), load(FLOORS / "cough.triage")
    changes = diff(old, new)
    assert changes and {c.direction for c in changes} == {"more urgent"}
    raised = {(c.old["disposition"], c.new["disposition"]) for c in changes}
    assert ("home_care", "ed_now") in raised and ("within_24h", "see_today") in raised
    for change in changes:
        result = evaluate(new, change.witness)
        assert result.disposition is not None and result.disposition.id == change.new["disposition"]
        assert result.raised_by is not None


DIFF = Path(__file__).resolve().parents[1] / "data" / "diff"
DIFF_CASES = [
    # (name, old, new): each pair's text and JSON reports are golden files
    ("range_high", "fever", "range_high"),  # range 34 to 43 -> 34 to 44: refused by old
    ("range_low", "fever", "range_low"),  # range 0 to 90 -> 1 to 90: refused by new
    ("unknown_added", "fever", "unknown_added"),  # unknown allowed added: refused by old
    ("unknown_removed", "unknown_added", "fever"),  # and removed: refused by new
    ("moved", "fever", "moved"),  # >= 39.0 -> >= 39.5: the band 39 <= temp_c < 39.5
    ("retiered", "fever", "retiered"),  # the same disposition in another tier
    ("sooner", "fever", "sooner"),  # the same disposition and tier, a shorter time frame
    ("later", "sooner", "fever"),  # and back: a longer one
]


@pytest.mark.parametrize(("name", "old", "new"), DIFF_CASES, ids=[c[0] for c in DIFF_CASES])
def test_diff_golden(name: str, old: str, new: str) -> None:
    paths = [str(DIFF / f"{old}.triage"), str(DIFF / f"{new}.triage")]
    code, text, _ = run("diff", *paths)
    json_code, data, _ = run("diff", *paths, "--format", "json")
    assert code == json_code == 1
    for suffix, got in ((".txt", text), (".json", data)):
        golden = DIFF / f"{name}{suffix}"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.write_text(got, encoding="utf-8")
        assert got == golden.read_text(encoding="utf-8"), f"rerun with UPDATE_GOLDEN=1 and review {golden}"


def _urgency(result: Any) -> tuple[Any, ...]:
    """What a diff compares: the disposition, its tier and its time frame (or the status)."""
    if result.disposition is None or result.urgency is None:
        return (result.status,)
    return (result.disposition.id, result.urgency.tier, result.urgency.time_frame_minutes)


@pytest.mark.parametrize(("name", "old", "new"), DIFF_CASES, ids=[c[0] for c in DIFF_CASES])
def test_every_diff_witness_and_region_really_differs(name: str, old: str, new: str) -> None:
    a, b = load(DIFF / f"{old}.triage"), load(DIFF / f"{new}.triage")
    for change in diff(a, b):
        x, y = evaluate(a, change.witness), evaluate(b, change.witness)
        assert _urgency(x) != _urgency(y)
        if change.direction == "refused by old":
            assert x.status == "error" and y.status == "complete"
        if change.direction == "refused by new":
            assert x.status == "complete" and y.status == "error"
        assert change.regions and change.old_lines and change.new_lines


def test_the_reported_regions_are_exactly_where_the_versions_differ() -> None:
    """Every answer set on a fine grid falls in a reported region iff the outcomes differ."""
    a, b = load(DIFF / "fever.triage"), load(DIFF / "moved.triage")
    (change,) = diff(a, b)
    assert change.regions == (
        {"temp_c": "39 <= temp_c < 39.5", "age": "0 <= age < 80"},
        {"temp_c": "39 <= temp_c < 39.5", "age": "80 <= age <= 90", "cough": "cough = no"},
    )
    for temp in [34 + i / 4 for i in range(37)]:
        for age in (0, 40, 79.5, 80, 85, 90):
            for cough in (True, False):
                answers = {"temp_c": temp, "age": age, "cough": cough}
                x, y = evaluate(a, answers), evaluate(b, answers)
                differs = x.disposition != y.disposition and (x.disposition and x.disposition.id) != (
                    y.disposition and y.disposition.id
                )
                inside = 39 <= temp < 39.5 and (age < 80 or not cough)
                assert differs == inside, answers


def test_a_widened_shipped_range_is_refused_by_old(tmp_path: Path) -> None:
    (tmp_path / "rules.triage").write_text((RULES / "rules.triage").read_text())
    text = (RULES / "qsofa.triage").read_text()
    assert "range 0 to 300" in text
    (tmp_path / "qsofa.triage").write_text(text.replace("range 0 to 300", "range 0 to 350"))
    changes = diff(load(RULES / "qsofa.triage"), load(tmp_path / "qsofa.triage"))
    assert [c.direction for c in changes] == ["refused by old"]
    assert all("300 < sbp <= 350" in region["sbp"] for region in changes[0].regions)
