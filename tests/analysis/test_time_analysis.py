"""The analyses over an age and a duration: exact classes in minutes, bands in units."""

from __future__ import annotations

import io
from pathlib import Path

from triage_dsl import load
from triage_dsl.analysis.cases import generate
from triage_dsl.analysis.diff import diff
from triage_dsl.analysis.table import build_table, to_markdown
from triage_dsl.cli import main
from triage_dsl.runtime.interpreter import evaluate_protocol

DATA = Path(__file__).resolve().parents[1] / "data" / "time"
INFANT = load(DATA / "fever_infant.triage")


def test_table_bands_are_written_in_the_protocol_units() -> None:
    text = to_markdown(build_table(INFANT))
    assert "| >= 0 days and < 3 months | >= 38 and <= 45 | any | red | urgent |" in text
    assert ">= 3 months and <= 18 years" in text
    assert ">= 0 minutes and <= 1.5 hours or unknown" in text


def test_every_table_row_witness_evaluates_to_its_disposition() -> None:
    table = build_table(INFANT)
    for row in table.rows:
        answers = table.witness(row)
        result = evaluate_protocol(INFANT, answers)
        if result.status == "complete":
            assert result.disposition is not None and result.disposition.id == row.disposition


def test_cases_write_answers_with_units_on_each_side_of_a_threshold() -> None:
    text = generate(INFANT)
    for line in (
        'scenario "patient_age = 90.3125 days (threshold 3 months)"',
        'scenario "patient_age = 3 months (threshold 3 months)"',
        'scenario "patient_age = 92.3125 days (threshold 3 months)"',
        'scenario "patient_age = 1 year (threshold 1 year)"',
        'scenario "pain_started = 89 minutes (threshold 1.5 hours)"',
        'scenario "pain_started = 91 minutes (threshold 1.5 hours)"',
    ):
        assert line in text


def test_generated_cases_pass_as_scenarios(tmp_path: Path) -> None:
    protocol = tmp_path / "fever_infant.triage"
    protocol.write_text((DATA / "fever_infant.triage").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "fever_infant.scenarios").write_text(generate(INFANT), encoding="utf-8")
    out = io.StringIO()
    assert main(["test", str(protocol)], stdout=out, stderr=io.StringIO()) == 0, out.getvalue()


def test_diff_finds_a_moved_age_threshold_with_a_witness_in_units(tmp_path: Path) -> None:
    source = (DATA / "fever_infant.triage").read_text(encoding="utf-8")
    moved = tmp_path / "fever_infant.triage"
    moved.write_text(
        source.replace("when patient_age < 3 months and", "when patient_age < 13 weeks and"),
        encoding="utf-8",
    )
    changes = diff(INFANT, load(moved))
    assert changes, "13 weeks (91 days) is a day short of 3 months (91.3125 days)"
    assert {(c.witness["patient_age"], c.old["disposition"], c.direction) for c in changes} == {
        ("13 weeks", "red", "less urgent")
    }
    assert {c.new["disposition"] for c in changes} == {"soon", "home"}


def test_check_finds_no_dead_question_in_a_population_protocol() -> None:
    out, err = io.StringIO(), io.StringIO()
    paths = [str(DATA / "adult_demo.triage"), str(DATA / "fever_infant.triage")]
    code = main(["check", *paths], stdout=out, stderr=err)
    assert code == 0 and out.getvalue() == "" and "0 error(s), 0 warning(s)" in err.getvalue()


def test_render_shows_time_constants_and_answers_in_units() -> None:
    from triage_dsl.render import overlay_of, protocol_dot

    result = evaluate_protocol(INFANT, {"patient_age": "11 weeks", "temp_c": 38.2})
    overlay = overlay_of(result, INFANT.id)
    assert overlay.values["question:patient_age"] == "11 weeks"
    source = protocol_dot(INFANT, overlay=overlay).source
    assert "patient_age &lt; 3 months" in source and "11 weeks" in source
