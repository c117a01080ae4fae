"""``triage run``: a terminal interview driven by a :class:`Session`.

Asks the caller block first (who is calling, the callback number read back, whether the
patient can come to the phone, the agent, the chief complaint in the caller's words),
then the protocol's questions, re-asking on invalid input; then anything else the
caller said, and whether the caller agrees with the advice (or declines, and why). Ends
with the triage note. Input ending early stops the interview without a disposition
(exit 1), never with a guess.

At any question the agent may type ``help`` (the question's help text and the answers it
takes) or ``back`` (undo the last answer: it stays in the record as a retraction, and the
question is asked again); ``back`` also works at the first prompt after the outcome, until
the caller has responded to the advice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from pydantic import ValidationError

from triage_dsl.clock import Clock
from triage_dsl.errors import AnswerError, SessionError
from triage_dsl.explain.note import render_note
from triage_dsl.model.caller import RELATIONSHIPS, CallInfo
from triage_dsl.model.result import QuestionInfo, TriageResult
from triage_dsl.protocol import Protocol
from triage_dsl.runtime.session import Session
from triage_dsl.units import TimeTextError, parse_date, parse_text


class _Ended(Exception):
    """The input ended before the interview did."""


YES = {"y", "yes", "true"}
NO = {"n", "no", "false"}
DONT_KNOW = {
    "?",
    "unknown",
    "not known",
    "don't know",
    "dont know",
    "do not know",
    "doesn't know",
    "does not know",
    "not sure",
    "unsure",
}


def _dont_know(word: str) -> bool:
    """``?``, ``unknown``, ``I don't know`` (as the protocols' help texts word it, with a
    straight or a typographic apostrophe), ``do not know``, ``not sure`` ..."""
    words = " ".join(word.replace("\u2019", "'").split())
    return words in DONT_KNOW or (words.startswith("i ") and words[2:] in DONT_KNOW)


def parse_typed(question: QuestionInfo, text: str) -> Any:
    """The answer value for what the agent typed; raises ValueError with a hint."""
    word = text.strip().lower()
    if _dont_know(word):
        if not question.unknown_allowed:
            raise ValueError("this question needs an answer; 'unknown' is not allowed here")
        return "unknown"
    if question.type == "yes/no":
        if word in YES:
            return True
        if word in NO:
            return False
        raise ValueError("answer yes or no")
    if question.type in ("age", "duration"):
        return _typed_time(question, text)
    if question.type in ("number", "whole number"):
        weeks = weeks_and_days(question, word)
        return _typed_number(word) if weeks is None else weeks
    ids = [o.id for o in question.options]
    number = _menu_number(word, len(ids))
    if number is not None:
        return ids[number - 1]
    if word in ids:
        return word
    raise ValueError(f"answer with an option number 1-{len(ids)} or its id")


def _menu_number(word: str, count: int) -> int | None:
    """The 1-based number of a menu entry typed as ASCII digits (``3``, ``03``), when it is
    one of ``count``; None for anything else (``²``, another script's digits, a long run of
    digits that is no entry)."""
    if not (word.isascii() and word.isdigit()) or len(word) > 6:
        return None
    number = int(word)
    return number if 1 <= number <= count else None


# A number as a nurse types it: ASCII digits with an optional sign and decimal point.
# Python's float() also takes "3_8" (38), "1e1", "infinity" and other scripts' digits,
# so a slip of the keyboard could become a different, valid-looking answer.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")
_DATE_SHAPE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")


def _typed_number(word: str) -> int | float:
    if _NUMBER.fullmatch(word) is None:
        if _DECIMAL_COMMA.fullmatch(word):
            raise ValueError(f"answer with a number, with a point for decimals: {word.replace(',', '.')}")
        raise ValueError("answer with a number, in digits (for example 38.5)")
    number = float(word)
    return int(number) if number.is_integer() else number


# Gestational age as maternity notes write it: completed weeks + days ("36+6").
_WEEKS_DAYS = re.compile(r"([0-9]{1,2}) ?\+ ?([0-9]{1,3})")


def weeks_and_days(question: QuestionInfo, word: str) -> float | None:
    """``36+6`` (36 weeks and 6 days) as weeks, for a number question in weeks: 36 + 6/7,
    never rounded (36+6 stays before 37 weeks). None when the answer is not in that form;
    ValueError for days that are not 0 to 6."""
    if question.type != "number" or (question.unit or "").strip().lower() != "weeks":
        return None
    found = _WEEKS_DAYS.fullmatch(word)
    if found is None:
        return None
    weeks, days = int(found[1]), int(found[2])
    if days > 6:
        raise ValueError(
            f"the days after the + are 0 to 6 ({weeks}+{days} would be {weeks + days // 7}+{days % 7})"
        )
    return weeks + days / 7 if days else weeks


def _typed_time(question: QuestionInfo, text: str) -> Any:
    """``11 weeks``, ``3 months``, ``90 minutes``; for an age also a date of birth."""
    words = " ".join(text.split())
    if question.type == "age" and parse_date(words) is not None:
        return {"born": words}
    if question.type == "age" and _DATE_SHAPE.fullmatch(words):
        raise ValueError(f"'{words}' is not a date in the calendar; answer {_time_forms(question)}")
    try:
        parse_text(words)
    except TimeTextError as exc:
        raise ValueError(f"{exc}; answer {_time_forms(question)}") from None
    return words


def _time_forms(question: QuestionInfo) -> str:
    forms = "with a number and a unit, as in 11 weeks, 3 months, 2 days or 90 minutes"
    if question.type == "age":
        forms += ", or with the date of birth, as in 2026-09-01"
    return forms


def _allowed(question: QuestionInfo) -> str:
    extra = ", ? = does not know" if question.unknown_allowed else ""
    if question.type == "yes/no":
        return f"[yes/no{extra}]"
    if question.type == "choice":
        options = "  ".join(f"{n}) {o.label}" for n, o in enumerate(question.options, start=1))
        return f"{options}{'  ' + extra.strip(', ') if extra else ''}"
    if question.range_text is not None:
        example = "11 weeks, 3 months" if question.type == "age" else "12 hours, 2 days"
        born = " or date of birth YYYY-MM-DD" if question.type == "age" else ""
        return f"[{question.range_text}: e.g. {example}{born}{extra}]"
    assert question.range is not None
    unit = f" {question.unit}" if question.unit else ""
    if weeks_and_days(question, "0+0") is not None:
        unit += ", or weeks+days as in 36+6"
    return f"[{question.range[0]:g} to {question.range[1]:g}{unit}{extra}]"


NOT_TEXT = "  That was not UTF-8 text (a byte the terminal could not read); please type it again.\n"


def _line(inp: TextIO, out: TextIO, prompt: str) -> str:
    """One line typed, stripped; asked again while it is not UTF-8 text (bytes a
    terminal's decoder could not read, kept as lone surrogates, could not go in a record,
    which is UTF-8)."""
    while True:
        out.write(prompt)
        out.flush()
        try:
            line = inp.readline()
        except UnicodeDecodeError:  # a strict decoder: that line is lost, the next is read
            out.write(NOT_TEXT)
            continue
        if not line:
            raise _Ended
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            out.write(NOT_TEXT)
            continue
        return line.strip()


def _ask(inp: TextIO, out: TextIO, prompt: str, parse: Callable[[str], Any]) -> Any:
    """Ask until ``parse`` accepts what was typed (it raises ValueError with a hint)."""
    while True:
        try:
            return parse(_line(inp, out, prompt))
        except ValueError as exc:
            out.write(f"  Invalid answer: {exc}. Please ask again.\n")


def _yes_no(text: str) -> bool:
    word = text.lower()
    if word in YES or word in NO:
        return word in YES
    raise ValueError("answer yes or no")


def _needed(what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not text:
            raise ValueError(f"{what} is needed")
        return text

    return parse


def _relationship(text: str) -> str:
    word = text.lower().replace(" ", "_")
    number = _menu_number(word, len(RELATIONSHIPS))
    if number is not None:
        return RELATIONSHIPS[number - 1]
    if word in RELATIONSHIPS:
        return word
    raise ValueError(f"answer with a number 1-{len(RELATIONSHIPS)}")


def ask_call(inp: TextIO, out: TextIO) -> CallInfo:
    """The caller block, asked before the protocol's questions."""
    out.write("Caller\n")
    choices = "  ".join(f"{n}) {r.replace('_', ' ')}" for n, r in enumerate(RELATIONSHIPS, start=1))
    caller = _ask(inp, out, f"Who is calling? {choices}\n  > ", _relationship)
    detail = _line(inp, out, "  About the caller (optional, Enter to skip) > ") if caller != "patient" else ""
    number = _line(inp, out, "Callback number (Enter if none) > ")
    read_back = bool(number) and _ask(
        inp, out, "Read the number back. Did the caller confirm it? [yes/no] > ", _yes_no
    )
    can_come = None
    if caller != "patient":
        can_come = _ask(inp, out, "Can the patient come to the phone? [yes/no] > ", _yes_no)
    agent = _ask(inp, out, "Agent id > ", _needed("the agent's id"))
    complaint = _ask(inp, out, "Chief complaint, in the caller's words > ", _needed("the complaint"))
    out.write("\n")
    return CallInfo(
        caller=caller,
        caller_detail=detail or None,
        callback_number=number or None,
        callback_read_back=read_back,
        patient_can_come_to_phone=can_come,
        agent_id=agent,
        chief_complaint=complaint,
    )


BACK_WORDS = ("back", ":back")
HELP_WORDS = ("help", ":help")
BACK_REASON = "the agent went back ('back' typed): the answer is withdrawn and asked again"


def _command(text: str, question: QuestionInfo | None) -> str | None:
    """``back`` or ``help`` when typed as a command (a choice option of that name wins;
    ``:back`` and ``:help`` are commands always)."""
    word = text.strip().lower()
    if question is not None and word in {o.id for o in question.options}:
        return None
    if word in BACK_WORDS:
        return "back"
    if word in HELP_WORDS:
        return "help"
    return None


def _help(question: QuestionInfo, out: TextIO) -> None:
    out.write(f"  Help: {question.help or 'this question has no help text in the protocol'}\n")
    out.write(f"  Answer: {_allowed(question)}; 'back' undoes the last answer\n")


def _back(session: Session, out: TextIO) -> bool:
    """Undo the last answer (kept in the record as a retraction); False when there is none."""
    try:
        session.undo(BACK_REASON)
    except SessionError as exc:
        out.write(f"  Cannot go back: {exc}.\n")
        return False
    withdrawn = session.log[-1]
    out.write(f"  Went back: the answer to '{withdrawn.question}' is withdrawn (kept in the record).\n")
    return True


Kept = Callable[[Session], None]
"""Called with the session after every change to what the caller said (``--save``)."""


def _unkept(session: Session) -> None:
    return None


def _questions(session: Session, inp: TextIO, out: TextIO, kept: Kept = _unkept) -> None:
    """Ask what the outcome still depends on, one question at a time (the engine picks
    the next; see docs/testing.md, "The order of questions"), until the outcome; ``kept``
    after every answer and every answer taken back."""
    while not session.done:
        question = session.next_question()
        if question is None:  # pragma: no cover - a needs_answers result always names one
            break
        out.write(f"{question.prompt}\n")
        if question.help:
            out.write(f"  ({question.help})\n")
        while True:
            line = _line(inp, out, f"  {_allowed(question)} > ")
            command = _command(line, question)
            if command == "help":
                _help(question, out)
                continue
            if command == "back":
                if _back(session, out):
                    kept(session)
                    break
                continue
            try:
                value = parse_typed(question, line)
                session.answer(question.id, value)
            except (ValueError, AnswerError) as exc:
                out.write(f"  Invalid answer: {exc}. Please ask again.\n")
                continue
            kept(session)
            if weeks_and_days(question, line.strip()) is not None:
                weeks, _, days = line.strip().partition("+")
                out.write(f"  ({weeks.strip()} weeks and {days.strip()} days: {value:g} weeks)\n")
            break


def _outcome_line(session: Session) -> str:
    result = session.result()
    label = result.disposition.label if result.disposition else "-"
    tier = f" (tier {result.urgency.tier})" if result.urgency else ""
    return f"\nOutcome: {label}{tier}. Type 'back' at the next prompt to undo the last answer.\n"


def _closing(session: Session, inp: TextIO, out: TextIO, kept: Kept = _unkept) -> bool:
    """Anything else the caller said, then the caller's response to the advice. False
    when the agent typed ``back`` first (the last answer is withdrawn: ask again)."""
    first = True
    while text := _line(inp, out, "Anything else the caller said? (Enter when done) > "):
        if first and _command(text, None) == "back":
            if _back(session, out):
                kept(session)
                return False
            continue
        first = False
        session.note(text)
        kept(session)
    agrees = _ask(inp, out, "Does the caller agree with the advice? [yes/no] > ", _yes_no)
    reason = None if agrees else _ask(inp, out, "Why does the caller decline? > ", _needed("a reason"))
    session.respond(agrees, reason)
    return True


def interview(
    protocol: Protocol,
    inp: TextIO,
    out: TextIO,
    call: CallInfo | None = None,
    finish: Callable[[TriageResult], TriageResult] | None = None,
    now: datetime | None = None,
    clock: Clock | None = None,
    stopped: Callable[[Session], None] | None = None,
    kept: Kept = _unkept,
    resumed: Session | None = None,
) -> tuple[int, TriageResult | None]:
    """Run the interview; ``call`` skips asking the caller block; ``finish`` (sealing)
    makes the result the note is rendered from; ``now`` is its clock (a date of birth is
    read with it); ``clock`` times the answer log; ``stopped`` is given the session when
    the interview stops before its end (input ended, Ctrl-C, a signal), so what the caller
    said is kept; ``kept`` after every change to what the caller said (so a crash loses
    nothing); ``resumed`` continues a session rebuilt from a saved record instead of
    starting one. Returns the exit code (1 unless complete, with the caller's response)
    and the result."""
    out.write(f"{protocol.title} (protocol {protocol.id} {protocol.version})\n")
    if protocol.status is not None and protocol.status != "approved":
        out.write(f"Note: this protocol's status is {protocol.status}, not approved.\n")
    for disclaimer in protocol.header.disclaimers:
        out.write(f"Note: {disclaimer}\n")
    out.write("\n")
    code = 0
    session: Session | None = None
    try:
        if resumed is not None:
            session = resumed
            given = sum(1 for e in session.log if e.kind in ("answer", "correction"))
            out.write(f"Resumed: {given} answers kept from the saved record.\n\n")
        else:
            session = Session(protocol, call=call or ask_call(inp, out), now=now, clock=clock)
        _questions(session, inp, out, kept)
    except _Ended:
        out.write("\nInterview stopped before a disposition was reached.\n")
        if stopped is not None and session is not None:
            stopped(session)
        return 1, None
    except BaseException as exc:  # Ctrl-C, SIGTERM, SIGHUP: keep what the caller said, then stop
        if isinstance(exc, KeyboardInterrupt):
            out.write("\nInterview stopped (Ctrl-C) before a disposition was reached: no advice was given.\n")
        if stopped is not None and session is not None:
            stopped(session)
        raise
    try:
        while True:
            if not session.done:  # refused (outside the protocol's population): no advice
                code = 1
                break
            out.write(_outcome_line(session))
            if _closing(session, inp, out, kept):
                break
            _questions(session, inp, out, kept)  # the agent went back: ask again
    except _Ended:
        if not session.done:  # ended while asking again after 'back'
            out.write("\nInterview stopped before a disposition was reached.\n")
            if stopped is not None:
                stopped(session)
            return 1, None
        # the outcome stands and is kept; the caller's response is missing
        out.write("\nInput ended before the caller's response to the advice was recorded.\n")
        code = 1
    except (SessionError, ValidationError) as exc:  # pragma: no cover - the prompts validate
        out.write(f"\nCaller's response not recorded: {exc}\n")
        code = 1
    except BaseException as exc:  # Ctrl-C or a signal after the outcome: it was given, keep it
        if isinstance(exc, KeyboardInterrupt):
            where = "before a disposition was reached" if not session.done else "after the outcome was given"
            out.write(f"\nInterview stopped (Ctrl-C) {where}: the caller's response was not recorded.\n")
        if stopped is not None:
            stopped(session)
        raise
    result = session.result()
    if finish is not None:
        result = finish(result)
    out.write("\n" + (result.note or render_note(result)))
    return code, result
