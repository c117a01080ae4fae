"""What the generator leaves out because the plan proves it needless: a test of a
variable against the not-yet-read marker where no earlier statement can have set it,
``tidy`` of sums of whole points, a second computation of a score the decision made."""

from __future__ import annotations

from pathlib import Path

import pytest

import triage_dsl
from triage_dsl.runtime.codegen.generate import generate
from triage_dsl.runtime.interpreter import program

RULES = Path(__file__).resolve().parents[2] / "protocols" / "rules"


def plain_source(name: str) -> str:
    p = triage_dsl.load(RULES / f"{name}.triage")
    source = generate(p, program(p)).source
    return source[source.index("def run_plain") :]


@pytest.mark.parametrize("name", ["heart", "curb65", "qsofa"])
def test_a_score_of_whole_points_is_read_once_and_summed_without_tidy(name: str) -> None:
    source = plain_source(name)
    assert " is _M" not in source  # every answer and value is read on a path known to need it
    assert "_tidy(" not in source and "_score(" not in source
    for qid in triage_dsl.load(RULES / f"{name}.triage").plan.questions:
        assert source.count(f"_answers.get({qid!r})") == 1, qid


def test_news2_tests_only_the_answers_a_branch_may_have_read() -> None:
    # spo2 is read on both arms of spo2_points (one test: the scale-2 arm), on_oxygen
    # inside the scale-2 arm only (one test, where oxygen_points reads it)
    source = plain_source("news2")
    assert source.count(" is _M") == 2
    assert "_tidy(" not in source and "_score(" not in source
    # the yes/no row of oxygen_points tests the bool itself
    assert "'yes' if" not in source


def test_a_value_is_tested_only_after_a_branch_may_have_set_it() -> None:
    # ottawa_ankle: the foot zone is read inside the first section only when the ankle
    # zone held, so the second section asks whether it was read; the ankle zone's value,
    # read first on every path, is not asked about again.
    source = plain_source("ottawa_ankle")
    assert source.count("if _v1 is _M:") == 1
    assert "_v0 is _M" not in source
    first = source.splitlines()[1].strip()
    assert first.endswith("= _M") and "_v0" not in first
