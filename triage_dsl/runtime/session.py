"""The interview session: ask what to ask next, record the answer, repeat.

A session holds answers only; every step re-evaluates the shared compiled protocol with
the answers so far, so a session's result is by construction the batch result for the
same answers (``session == batch``), trace included.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from triage_dsl.errors import AnswerError, SessionError
from triage_dsl.model.result import QuestionInfo, TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.answers import all_questions, check_answer


class Session:
    """A step-by-step interview over one compiled protocol.

    >>> from triage_dsl import load
    >>> s = Session(load("protocols/rules/qsofa.triage"))
    >>> s.next_question().id
    'resp_rate'
    >>> s.answer("resp_rate", 24).status
    'needs_answers'
    """

    def __init__(
        self, protocol: Protocol, answers: Mapping[str, Any] | None = None, *, now: datetime | None = None
    ) -> None:
        """``now`` (an aware datetime) is the session's clock, used to turn a date of birth
        into an age; without it a date of birth is refused."""
        self.protocol = protocol
        self.now = now
        self._answers: dict[str, Any] = {}
        self._result: TriageResult | None = None
        for question_id, value in (answers or {}).items():
            self.answer(question_id, value)

    @property
    def answers(self) -> dict[str, Any]:
        """The answers given so far, in the order given."""
        return dict(self._answers)

    def result(self) -> TriageResult:
        """The result for the answers so far (complete, or needs_answers)."""
        if self._result is None:
            from triage_dsl.runtime.interpreter import evaluate_protocol

            self._result = evaluate_protocol(self.protocol, self._answers, now=self.now)
        return self._result

    @property
    def done(self) -> bool:
        return self.result().status == "complete"

    def next_question(self) -> QuestionInfo | None:
        """The question to ask next, or None when the result is complete."""
        return self.result().next_question

    def answer(self, question_id: str, value: Any) -> TriageResult:
        """Record one answer (``"unknown"`` when the caller does not know).

        Raises :class:`AnswerError` for an invalid answer (nothing is recorded) and
        :class:`SessionError` when the question was already answered.
        """
        questions = all_questions(self.protocol.plan)
        if question_id not in questions:
            raise AnswerError(f"'{question_id}' is not a question of protocol '{self.protocol.id}'")
        if question_id in self._answers:
            raise SessionError(f"'{question_id}' is already answered; start a new session to change it")
        _, problem = check_answer(questions[question_id], value, self.now)
        if problem is not None:
            raise AnswerError(problem.message)
        self._answers[question_id] = value
        self._result = None
        return self.result()
