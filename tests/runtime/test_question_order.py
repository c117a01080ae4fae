"""Follow-up questions are asked after the question they follow, whatever the order of
the declarations: ``a and b`` reads ``b`` only once ``a`` is yes (``or``: once it is no),
so an interview asks ``a`` first (docs/language.md, "Follow-up questions"; docs/testing.md,
"The order of questions")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import protocol
from triage_dsl import Session, evaluate

# The follow-ups are declared before the questions they follow, as a library's shared
# question (here on_blood_thinner) comes after a protocol's own.
ORDER = protocol("""
question vomiting_blood: yes/no ask "Vomiting blood?" red flag end
question black_stool: yes/no ask "Black stool?" red flag end
question dizzy: yes/no ask "Dizzy?" end
question fainted: yes/no ask "Fainted?" red flag end
question on_blood_thinner: yes/no ask "On a blood thinner?" unknown allowed end
question fall: yes/no ask "A fall?" end
disposition er label "ER" tier emergency end
disposition today label "Today" tier same_day end
disposition home label "Home" tier home_care end
triage
  section er if any of
    when on_blood_thinner and vomiting_blood
    when on_blood_thinner and (black_stool or dizzy)
    when (fall or fainted) and on_blood_thinner
  end
  section today if any of
    when dizzy
  end
  default home
end
""")


def interview(answers: dict[str, Any]) -> tuple[list[str], str]:
    """The questions a session asks, in order, answering from ``answers``; the outcome."""
    session = Session(ORDER)
    asked: list[str] = []
    while not session.done:
        question = session.next_question()
        assert question is not None
        asked.append(question.id)
        session.answer(question.id, answers[question.id])
        assert evaluate(ORDER, session.answers).next_question == session.next_question()
    result = session.result()
    assert result.disposition is not None
    return asked, result.disposition.id


NO = dict.fromkeys(["vomiting_blood", "black_stool", "dizzy", "fainted", "fall"], False)


@pytest.mark.parametrize(
    ("answers", "asked", "outcome"),
    [
        # not on a blood thinner: none of the follow-ups is asked, whatever their order
        ({**NO, "on_blood_thinner": False, "dizzy": True}, ["on_blood_thinner", "dizzy"], "today"),
        ({**NO, "on_blood_thinner": False}, ["on_blood_thinner", "dizzy"], "home"),
        # on one: the follow-ups in the order they are declared, the first yes decides
        (
            {**NO, "on_blood_thinner": True, "vomiting_blood": True},
            ["on_blood_thinner", "vomiting_blood"],
            "er",
        ),
        (
            {**NO, "on_blood_thinner": True, "dizzy": True},
            ["on_blood_thinner", "vomiting_blood", "black_stool", "dizzy"],
            "er",
        ),
        (
            {**NO, "on_blood_thinner": True},
            [
                "on_blood_thinner",
                "vomiting_blood",
                "black_stool",
                "dizzy",
                "fall",
                "fainted",
            ],  # `(fall or fainted)`: as written,
            "home",
        ),
        # does not know: every follow-up may still hold, so each is asked
        (
            {**NO, "on_blood_thinner": "unknown", "vomiting_blood": True},
            ["on_blood_thinner", "vomiting_blood"],
            "er",
        ),
    ],
)
def test_a_follow_up_is_asked_after_the_question_it_follows(
    answers: dict[str, Any], asked: list[str], outcome: str
) -> None:
    assert interview(answers) == (asked, outcome)


def test_the_questions_still_missing_list_the_follow_ups_after_the_questions_they_follow() -> None:
    result = evaluate(ORDER, {})
    assert result.missing[0] == "on_blood_thinner"
    assert set(result.missing) == {
        "on_blood_thinner",
        "vomiting_blood",
        "black_stool",
        "dizzy",
        "fainted",
        "fall",
    }
    after_first = evaluate(ORDER, {"on_blood_thinner": True, "vomiting_blood": False, "black_stool": False})
    assert after_first.missing[:1] == ["dizzy"]
