"""The interview session: ask what to ask next, record the answer, repeat.

A session holds the caller's words as an **answer log** (every answer, correction,
retraction and note, in order, each with its time from the clock). A step (an answer,
then the question to ask next) is incremental: the session keeps the walk of the
sections with what each one read (``incremental.py``), and an answer re-walks only from
the first section that read that question. The full result is built when it is asked
for, by the batch evaluation of the answers in force, so a session's result is by
construction the batch result for the same answers (``session == batch``), trace
included, plus the log and the caller block; the differential tests hold the walk's
status and next question to the batch result's at every step.

Nothing the caller says is lost: an answer no criterion reads stays in the log, a
changed answer is a *correction* (with the answer it replaces), a withdrawn one a
*retraction* with its reason. Once the outcome is reached, answers are refused (they
could no longer change what was decided and advised); what the caller adds then is
kept with :meth:`Session.note`, marked as said after the outcome.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeGuard

from pydantic import JsonValue, ValidationError

from triage_dsl.clock import SYSTEM_CLOCK, Clock, utc
from triage_dsl.errors import AnswerError, SessionError
from triage_dsl.model.caller import CallInfo
from triage_dsl.model.result import AnswerEvent, QuestionInfo, TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.answers import MAX_SHOWN, Clean, all_questions, check_answer, describe, printable
from triage_dsl.runtime.incremental import Walk
from triage_dsl.runtime.program import MISS, Program, program


def as_json(value: Any) -> JsonValue:
    """An answer as the log keeps it: JSON values as given; anything else (NaN, a
    Python object) as its text, so an invalid answer is kept, never lost."""
    if value is True or value is False or value is None:
        return value  # yes/no: the commonest answer
    if _plain(value):
        return value  # the common answers, as _bounded keeps them
    if type(value) is dict and len(value) <= 100:
        for k, item in value.items():
            t = type(item)
            if not (
                type(k) is str
                and len(k) <= MAX_SHOWN
                and k.isascii()
                and (  # _plain(item)
                    t is bool
                    or item is None
                    or (t is str and item.isascii())
                    or (t is int and -(10**20) < item < 10**20)
                )
            ):
                break
        else:
            return dict(value)  # {"value": 11, "unit": "weeks"}: a copy, as _bounded makes
    return _bounded(value, 0)


def _plain(value: Any) -> TypeGuard[bool | str | int | None]:
    """A value :func:`_bounded` keeps as it is: yes/no, null, ASCII text, a small integer."""
    t = type(value)
    return (
        t is bool
        or value is None
        or (t is str and value.isascii())
        or (t is int and -(10**20) < value < 10**20)
    )


def _bounded(value: Any, depth: int) -> JsonValue:
    """JSON values as given, within bounds: a huge integer, a string that is not valid
    Unicode, nesting deeper than 4 or a non-JSON object is kept as a short description
    (the log must serialise whatever the caller sent)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**20 else describe(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("ascii", "replace")
        return value
    if depth < 4 and isinstance(value, list | tuple):
        return [_bounded(item, depth + 1) for item in value[:100]]
    if depth < 4 and isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        return {printable(k): _bounded(v, depth + 1) for k, v in list(value.items())[:100]}
    return describe(value)


def answer_log(
    protocol: Protocol, answers: Mapping[Any, Any], now: datetime | None = None
) -> list[AnswerEvent]:
    """The log of answers given together (a batch, ``triage eval``): one ``answer`` event
    each, in the order given, invalid ones with the rule they broke (``now`` reads a date
    of birth, as the evaluation does). Times are left for the record to fill with the
    call's start."""
    questions = all_questions(protocol.plan)
    log: list[AnswerEvent] = []
    for key, value in answers.items():
        q = questions.get(key) if isinstance(key, str) else None
        problem: str | None = "unknown_question" if q is None else None
        if q is not None:
            if value is None:
                continue  # null means not answered
            found = check_answer(q, value, now)[1]
            problem = found.code if found is not None else None
        log.append(
            AnswerEvent(
                seq=len(log) + 1,
                kind="answer",
                question=str(key),
                value=as_json(value),
                prompt=q.prompt if q else None,
                red_flag=q.red_flag if q else False,
                problem=problem,
            )
        )
    return log


class Session:
    """A step-by-step interview over one compiled protocol.

    >>> from triage_dsl import load
    >>> s = Session(load("protocols/rules/qsofa.triage"))
    >>> s.next_question().id
    'resp_rate'
    >>> s.answer("resp_rate", 24).id
    'altered_mentation'
    >>> s.answer("resp_rate", 20, reason="misheard").id
    'altered_mentation'
    >>> s.result().answer_log[-1].kind
    'correction'
    """

    def __init__(
        self,
        protocol: Protocol,
        answers: Mapping[str, Any] | None = None,
        *,
        call: CallInfo | None = None,
        clock: Clock | None = None,
        now: datetime | None = None,
    ) -> None:
        """``clock`` times the answer log (default: the system clock); ``now`` (an aware
        datetime) is the evaluation's clock, used to turn a date of birth into an age
        (without it a date of birth is refused) and, when given, the session's start."""
        self.protocol = protocol
        self.clock = clock or SYSTEM_CLOCK
        self.now = now
        self._call = call
        self._answers: dict[str, Any] = {}
        self._clean: dict[str, Clean] = {}  # the answers in force, validated
        self._walk: Walk | None = None  # started on the first question asked
        # the walk's status, the question to ask next and its info, until a change
        self._state_now: tuple[str, str | None, QuestionInfo | None] | None = None
        self._program: Program | None = None
        # what the caller said, in order: the time it was said and the event's fields; the
        # validated events are built from them when the log is read (``_events``)
        self._said: list[tuple[datetime, dict[str, Any]]] = []
        self._log: list[AnswerEvent] = []  # the events built so far (a prefix of _said)
        self._results: dict[bool, TriageResult] = {}  # built when asked for, by trace or not
        # the evaluation's clock is the call's start, so a replay reads a date of birth alike
        self.started_at = utc(now) if now is not None else utc(self.clock.now())
        # answers given together at the start are all kept, even past the outcome
        for question_id, value in (answers or {}).items():
            self._give(question_id, value, None)

    @property
    def answers(self) -> dict[str, Any]:
        """The answers in force (after corrections and retractions), in the order given."""
        return dict(self._answers)

    @property
    def log(self) -> list[AnswerEvent]:
        """Everything the caller said, in order: answers, corrections, retractions, notes."""
        return list(self._events())

    @property
    def call(self) -> CallInfo | None:
        """The caller block given to the session (with the caller's response, once given)."""
        return self._call

    def result(self, *, trace: bool = True) -> TriageResult:
        """The result for the answers so far (complete, or needs_answers), with the log,
        the caller block and the time the session started (the call's start); built on
        the first call after a change (``trace=False``: without the trace)."""
        result = self._results.get(trace)
        if result is None:
            from triage_dsl.runtime.interpreter import evaluate_protocol

            fresh = evaluate_protocol(self.protocol, self._answers, trace=trace, now=self.now)
            result = fresh.model_copy(
                update={"answer_log": list(self._events()), "call": self._call, "started_at": self.started_at}
            )
            self._results[trace] = result
        return result

    @property
    def status(self) -> str:
        """The result's status (``complete``, ``needs_answers`` or ``error``), without
        building the result."""
        return self._state()[0]

    @property
    def done(self) -> bool:
        return self._state()[0] == "complete"

    def next_question(self) -> QuestionInfo | None:
        """The question to ask next (the result's ``next_question``), or None when the
        result is complete; without building the result."""
        state = self._state_now
        return (state if state is not None else self._state())[2]  # shared: frozen, read-only

    def answer(self, question_id: str, value: Any, *, reason: str | None = None) -> QuestionInfo | None:
        """Record one answer (``"unknown"`` when the caller does not know); returns the
        question to ask next (None once the outcome is reached: see :meth:`result`).

        Answering a question again records a *correction* (with the answer it replaces
        and ``reason``). Raises :class:`AnswerError` for an invalid answer (nothing is
        recorded) and :class:`SessionError` once the outcome is reached: use
        :meth:`note` for what the caller adds then.
        """
        state = self._state_now
        if (state if state is not None else self._state())[0] == "complete":
            self._refuse_when_done("answer", question_id)
        return self._give(question_id, value, reason)

    def retract(self, question_id: str, reason: str) -> QuestionInfo | None:
        """Withdraw an answer (the caller takes it back): logged with ``reason``; the
        question is asked again if the outcome depends on it. Returns the question to ask
        next."""
        self._refuse_when_done("retract", question_id)
        if question_id not in self._answers:
            raise SessionError(f"'{question_id}' has no answer to retract")
        if not reason or not reason.strip():
            raise SessionError("a retraction needs a reason: say why the answer is withdrawn")
        return self._withdraw(question_id, reason)

    def undo(self, reason: str) -> QuestionInfo | None:
        """Take back the last answer still in force (the agent went back: a mistyped
        answer), logged as a *retraction* with ``reason``; the question is asked again if
        the outcome depends on it (returned: the question to ask next). Unlike
        :meth:`retract` this is allowed once the outcome is reached, until the caller has
        responded to the advice (the advice was not yet given on that answer);
        both the answer and its retraction stay in the log."""
        if self._call is not None and self._call.agreement is not None:
            raise SessionError("cannot go back: the caller has responded to the advice")
        if not self._answers:
            raise SessionError("there is no answer to go back to")
        if not reason or not reason.strip():
            raise SessionError("going back needs a reason")
        question_id = next(
            said["question"]
            for _, said in reversed(self._said)
            if said["kind"] in ("answer", "correction") and said["question"] in self._answers
        )
        return self._withdraw(question_id, reason)

    def _withdraw(self, question_id: str, reason: str) -> QuestionInfo | None:
        """Take ``question_id``'s answer out of force, logged as a retraction."""
        previous = self._answers.pop(question_id)
        self._changed(question_id, None)
        q = self._compiled().questions_all[question_id]
        self._append(
            kind="retraction",
            question=question_id,
            previous=as_json(previous),
            reason=reason.strip(),
            prompt=q.prompt,
            red_flag=q.red_flag,
        )
        return self.next_question()

    def note(self, text: str) -> AnswerEvent:
        """Keep something the caller said that is not an answer (any time, also after the
        outcome: then it is marked ``after_outcome``)."""
        if not text or not text.strip():
            raise SessionError("a note needs text")
        after = self.done
        self._append(kind="note", text=text.strip(), after_outcome=after)
        return self._events()[-1]

    def respond(self, agrees: bool, reason: str | None = None) -> TriageResult:
        """The caller's response to the advice, once the outcome is reached: agrees, or
        declines (with ``reason``). Kept in the caller block; a response given again
        replaces it there, and the earlier one is kept in the log as a note."""
        if self._call is None:
            raise SessionError(
                "no caller block: start the session with Session(protocol, call=CallInfo(...))"
            )
        if not self.done:
            raise SessionError("the caller responds to the advice once the outcome is reached")
        before = self._call
        try:
            self._call = CallInfo.model_validate(
                {
                    **self._call.model_dump(),
                    "agreement": "agrees" if agrees else "declines",
                    "declined_reason": None if agrees else reason,
                }
            )
        except ValidationError as exc:
            raise SessionError(str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
        if before.agreement is not None:  # a changed response: the earlier one stays in the log
            earlier = before.agreement + (f" ({before.declined_reason})" if before.declined_reason else "")
            self._append(
                kind="note",
                text=f"the caller's earlier response to the advice: {earlier}",
                after_outcome=True,
            )
        self._results.clear()
        return self.result()

    # ----------------------------------------------------------------- internals
    def _compiled(self) -> Program:
        compiled = self._program
        if compiled is None:
            compiled = self._program = program(self.protocol)
        return compiled

    def _events(self) -> list[AnswerEvent]:
        """The log's validated events, built for what was said since the log was last read
        (each with the time it was said)."""
        log = self._log
        for seq in range(len(log) + 1, len(self._said) + 1):
            at, fields = self._said[seq - 1]
            log.append(AnswerEvent(seq=seq, at=at, **fields))
        return log

    def _state(self) -> tuple[str, str | None, QuestionInfo | None]:
        """(status, the id of the question to ask next, its info), from the incremental
        walk (kept until the answers in force change)."""
        state = self._state_now
        if state is None:
            if self._walk is None:
                self._walk = Walk.start(self.protocol, self._clean)
            status, qid = self._walk.next_question(self.protocol.plan.population)
            info = None
            if qid is not None:
                compiled = self._program
                info = (compiled if compiled is not None else self._compiled()).question_info(qid)
            state = self._state_now = (status, qid, info)
        return state

    def _changed(self, question_id: str, clean: Clean | None) -> None:
        """Put ``question_id``'s clean answer in force (None: withdrawn) and resume the
        walk where that answer was read."""
        if clean is None:
            self._clean.pop(question_id, None)
        else:
            self._clean[question_id] = clean
        self._state_now = None
        if self._walk is not None:
            self._walk.changed(question_id)

    def _refuse_when_done(self, what: str, question_id: str) -> None:
        state = self._state_now
        if (state if state is not None else self._state())[0] == "complete":
            d = self.result().disposition
            raise SessionError(
                f"cannot {what} '{question_id}': the outcome is reached ({d.id if d else '-'}); "
                "an answer now could not change what was decided. Keep what the caller adds with note(), "
                "or start a new session"
            )

    def _give(self, question_id: str, value: Any, reason: str | None) -> QuestionInfo | None:
        compiled = self._program
        if compiled is None:
            compiled = self._compiled()
        q = compiled.questions_all.get(question_id) if isinstance(question_id, str) else None
        if q is None:
            name = printable(question_id) if isinstance(question_id, str) else describe(question_id)
            raise AnswerError(
                f"'{name}' is not a question of protocol '{self.protocol.id}'",
                question=name,
                code="unknown_question",
                value=value,
            )
        clean = compiled.checkers[question_id](value)  # the common valid answers, as check_answer
        if clean is MISS:
            clean, problem = check_answer(q, value, self.now)
            if problem is not None:
                raise AnswerError(problem.message, question=question_id, code=problem.code, value=value)
        answers = self._answers
        correction = question_id in answers
        self._keep(
            {
                "kind": "correction" if correction else "answer",
                "question": question_id,
                "value": as_json(value),
                "previous": as_json(answers[question_id]) if correction else None,
                "reason": reason.strip() if reason is not None and reason.strip() else None,
                "prompt": q.prompt,
                "red_flag": q.red_flag,
            }
        )
        answers[question_id] = value
        self._clean[question_id] = clean
        self._state_now = None
        walk = self._walk
        if walk is not None:
            walk.changed(question_id)
        return self._state()[2]

    def _append(self, **fields: Any) -> None:
        """Keep what was said with the clock's reading now (its event is built when the
        log is read: ``_events``)."""
        self._keep(fields)

    def _keep(self, fields: dict[str, Any]) -> None:
        """:meth:`_append` with the event's fields as one dict."""
        at = self.clock.now()
        if at.tzinfo is not UTC:
            at = utc(at)
        self._said.append((at, fields))
        if self._results:
            self._results.clear()
