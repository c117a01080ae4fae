"""Pass: the header's age limits and the question they are checked against.

``population adult aged 18 to 120 years`` is enforced at run time against the answer to
the one question marked ``patient age`` (in the file or an imported library). This pass
refuses two such questions and warns when there is none, since the limits then cannot be
enforced. (A ``patient age`` mark on a question that is not an age is refused by the
``declarations`` pass.)
"""

from __future__ import annotations

from triage_dsl.check.declarations import ages_text
from triage_dsl.check.scope import Scope
from triage_dsl.syntax import ast


def patient_age_questions(scope: Scope) -> list[ast.Question]:
    """The questions in scope marked ``patient age``, in declaration order."""
    return [q for q in scope.questions.values() if q.patient_age and q.type == "age"]


def population(scope: Scope) -> None:
    header = scope.file.header
    marked = patient_age_questions(scope)
    for extra in marked[1:]:
        scope.report(
            extra.patient_age_span or extra.span,
            "T094",
            f"two questions are marked 'patient age': '{marked[0].id}' and '{extra.id}'",
            "mark only the question that asks the patient's age",
        )
    if header.kind != "protocol" or header.ages is None or marked:
        return
    scope.report(
        header.ages.span,
        "W090",
        f"the population's age limits ({ages_text(header.ages)}) cannot be enforced: "
        "no question in scope is marked 'patient age'",
        "add an age question with 'patient age', or import the library that has one",
        severity="warning",
    )
