"""Messages of the checks added after the clinical safety review: they say what happens
to the caller and how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage_dsl import check
from triage_dsl.check.prompts import joining_word
from triage_dsl.check.ranges import unit_key

HEAD = 'protocol p title "t" version "1" end\n'
TAIL = (
    'disposition home label "Home" tier home_care end\n'
    'disposition ed label "ED" tier urgent end\n'
    "triage section ed if any of when {when} end default home end\n"
)


def _only(tmp_path: Path, question: str, when: str) -> tuple[str, str, str | None]:
    path = tmp_path / "p.triage"
    path.write_text(HEAD + question + "\n" + TAIL.format(when=when), encoding="utf-8")
    (d,) = check(path)
    return d.code, d.message, d.hint


def test_a_narrow_temperature_range_names_what_it_refuses(tmp_path: Path) -> None:
    code, message, hint = _only(tmp_path, 'question t: number ask "T?" unit "C" range 34 to 43 end', "t > 38")
    assert code == "W011"
    assert "range 34 to 43 of 't' refuses 24-34 C, which occurs in hypothermia" in message
    assert hint == "widen the range: range 24 to 43"


def test_a_range_narrow_at_both_ends_names_both(tmp_path: Path) -> None:
    _, message, hint = _only(
        tmp_path, 'question p: whole number ask "P?" unit "beats/min" range 50 to 200 end', "p > 130"
    )
    assert "40-50 beats/min, which occurs in bradycardia" in message
    assert "200-300 beats/min, which occurs in supraventricular tachycardia in infants" in message
    assert hint == "widen the range: range 40 to 300"


def test_red_flag_unknown_means_no_is_an_error_on_the_value(tmp_path: Path) -> None:
    code, message, hint = _only(tmp_path, 'question s: yes/no ask "S?" red flag unknown means no end', "s")
    assert code == "T080" and "treated as not having it" in message
    assert hint is not None and "unknown means yes" in hint


@pytest.mark.parametrize(
    ("prompt", "word"),
    [
        ("Do they have asthma and a reliever inhaler?", "and"),
        ("Was the person knocked out, and have they not woken up?", "and"),
        ("Did it come on suddenly, or is it severe?", "or"),
        ("Are they unusually tired, or confused?", "or"),
        ("Are their lips or skin turning very pale, blue or grey?", None),
        ("Does the chest pain come and go?", None),
        ("Is the person struggling to breathe: gasping, choking and unable to speak?", None),
        ("Do they take a blood thinner (warfarin and others)?", None),
        ("Is it painful to pass urine or to open the bowels?", None),
    ],
)
def test_compound_prompts(prompt: str, word: str | None) -> None:
    assert joining_word(prompt) == word


@pytest.mark.parametrize(
    ("unit", "key"),
    [("C", "C"), ("°C", "C"), (" celsius ", "C"), ("bpm", "beats/min"), ("days", None), (None, None)],
)
def test_units_are_recognised_by_their_usual_spellings(unit: str | None, key: str | None) -> None:
    assert unit_key(unit) == key
