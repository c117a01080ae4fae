"""The triage note: the plain-language chart entry, rendered from a result's trace.

Written as a nurse charts a call: protocol, version and status, the time of the call,
the caller block (who called, the callback number read back, whether the patient can
come to the phone, the agent, the chief complaint in the caller's words), the questions
in the order asked with the answers, every answer the caller gave in order (those no
criterion used, corrections, retractions and notes too), every red flag answered no,
what decided the outcome and where it is written (and the floor that raised it, if one
did), the disposition, its urgency, the care advice, the escalation plan, the caller's
response to the advice, and for a record (``triage_dsl.record``) the overrides and the
escalation steps run.

It reads a result's fields only, so it renders the plain results of ``triage eval``
(:mod:`triage_dsl.model.plain`) as it renders the pydantic ones, without pydantic.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from triage_dsl.model.plain import final_answers

if TYPE_CHECKING:
    from triage_dsl.model.result import EscalationStepRun, Override, TriageResult


def _answer(value: object) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value == "unknown":
        return "does not know"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _time(at: datetime) -> str:
    return f"{at.date().isoformat()} {at:%H:%M} UTC"  # %Y drops the zeros of a year before 1000


def _event(run: EscalationStepRun) -> str:
    e = run.event
    step = f" (step {run.step}{f', retry {run.attempt}' if run.attempt else ''})" if run.step else ""
    who = f" {run.role}" if run.role else ""
    what = {
        "paged": f"notified{who}" + (f" by {run.channel}" if run.channel else ""),
        "no_answer": f"no answer from{who or ' the clinician'}",
        "callback": f"callback received from{who or ' the clinician'}",
        "told_caller": "told the caller" if run.step else "told the caller the fallback",
    }[e.kind]
    detail = f": {e.detail}" if e.detail else ""
    return f"{_time(e.at)} {what}{step}{detail}"


def _next(run: EscalationStepRun) -> str:
    n = run.next
    when = f" at {_time(n.due_at)}" if n.due_at else ""
    if n.kind == "notify":
        return f"Next: notify {n.role} by {n.channel}{when}"
    if n.kind == "wait":
        return f"Next: wait for a callback from {n.role} until {_time(n.due_at) if n.due_at else '-'}"
    if n.kind in ("tell_caller", "fallback"):
        return f"Next: tell the caller{when}: {n.text}"
    return "Escalation complete"


def _caller_lines(result: TriageResult, h: Callable[[str], str], bullet: str) -> list[str]:
    """The caller block: who called, the callback number, the agent, the complaint."""
    call = result.call
    if call is None:
        return []
    who = "the patient" if call.caller == "patient" else call.caller.replace("_", " ")
    if call.caller_detail:
        who += f" ({call.caller_detail})"
    if call.caller == "patient":
        phone = "the caller is the patient"
    else:
        phone = {True: "yes", False: "no", None: "not asked"}[call.patient_can_come_to_phone]
    return [
        h("Caller"),
        f"{bullet}Calling: {who}",
        f"{bullet}Callback number: {call.callback_number or '(none given)'}, "
        f"read back and confirmed: {'yes' if call.callback_read_back else 'no'}",
        f"{bullet}Patient can come to the phone: {phone}",
        f"{bullet}Agent: {call.agent_id}",
        f'{bullet}Chief complaint, in the caller\'s words: "{call.chief_complaint}"',
        "",
    ]


def _said_lines(result: TriageResult, h: Callable[[str], str], bullet: str) -> list[str]:
    """Every answer the caller gave, in order (with corrections, retractions and notes),
    and every red flag answered no."""
    if not result.answer_log:
        return []
    lines = [h("Questions asked, in order, with every answer the caller gave")]
    for e in result.answer_log:
        asked = e.prompt or e.question or ""
        if e.kind == "note":
            after = " (after the outcome)" if e.after_outcome else ""
            lines.append(f"{bullet}Caller added{after}: {e.text}")
        elif e.problem is not None:
            lines.append(f"{bullet}Not accepted ({e.problem}): {e.question} = {_answer(e.value)}")
        elif e.kind == "retraction":
            lines.append(f"{bullet}Withdrawn: {asked} (was {_answer(e.previous)}). Reason: {e.reason}")
        else:
            unused = "" if e.question in result.answers else " (not used by any criterion)"
            if e.kind == "correction":
                why = f". Reason: {e.reason}" if e.reason else ""
                lines.append(
                    f"{bullet}Corrected: {asked} {_answer(e.value)} (was {_answer(e.previous)}){unused}{why}"
                )
            else:
                lines.append(f"{bullet}{asked} {_answer(e.value)}{unused}")
    lines.append("")
    final = final_answers(result.answer_log)
    prompts = {e.question: e.prompt or e.question for e in result.answer_log if e.red_flag and e.question}
    no = [q for q in prompts if final.get(q) is False]
    lines.append(h("Red flags answered no"))
    lines += [f"{bullet}{prompts[q]}" for q in no] or [f"{bullet}(none)"]
    lines.append("")
    return lines


def _response_lines(result: TriageResult, h: Callable[[str], str], bullet: str) -> list[str]:
    call = result.call
    if call is None:
        return []
    if call.agreement == "agrees":
        said = "agrees with the advice"
    elif call.agreement == "declines":
        said = f"declined the advice. Reason: {call.declined_reason}"
    else:
        said = "not recorded"
    return [h("Caller's response"), f"{bullet}{said}", ""]


def _record_lines(result: TriageResult, h: Callable[[str], str], bullet: str) -> list[str]:
    """Overrides and escalation steps run (records only)."""
    lines: list[str] = []
    if result.overrides:
        lines.append(h("Overrides"))
        for o in result.overrides:
            change = {"downgrade": "a downgrade", "upgrade": "an upgrade", "same_tier": "same tier"}.get(
                o.direction, "no computed disposition before"
            )
            lines.append(
                f"{bullet}{_time(o.at)} {o.by} changed the disposition"
                f" from {o.previous_disposition or '-'} to "
                f"{o.disposition.label} ({o.disposition.id}, tier {o.urgency.tier}), {change}"
                + (f". Reason: {o.reason}" if o.reason else "")
            )
        last = result.overrides[-1]
        lines.append(f"{bullet}Disposition in effect: {last.disposition.label} (tier {last.urgency.tier})")
        lines.append("")
    if result.escalation_run:
        lines.append(h("Escalation steps run"))
        first = result.escalation_run[0].seq
        later = [o for o in result.overrides if o.seq > first]  # each ends a run and starts one
        for run in result.escalation_run:
            while later and later[0].seq < run.seq:
                lines.append(f"{bullet}{_restart(later.pop(0))}")
            lines.append(f"{bullet}{_event(run)}")
        lines += [f"{bullet}{_restart(o)}" for o in later]
        if later:  # the last override came after the last event: its run has not begun
            o = later[-1]
            lines.append(
                f"{bullet}Next: step 1 of plan {o.escalation.id}, due at {_time(o.at)}"
                if o.escalation
                else f"{bullet}No escalation plan in effect"
            )
        else:
            lines.append(f"{bullet}{_next(result.escalation_run[-1])}")
        lines.append("")
    return lines


def _restart(o: Override) -> str:
    """The line for an override between escalation events: the run it starts."""
    plan = o.escalation
    starts = f"a new escalation run starts: plan {plan.id}, step 1" if plan else "no plan from here on"
    return f"{_time(o.at)} override {o.seq} to {o.disposition.id}: {starts}"


def render_note(result: TriageResult, markdown: bool = False) -> str:
    """The note as plain text (``markdown=False``) or Markdown."""

    def h(title: str) -> str:
        return f"## {title}" if markdown else f"{title}:"

    bullet = "- " if markdown else "  - "
    p = result.protocol
    lines = [
        (f"# Triage note: {p.title}" if markdown else f"TRIAGE NOTE: {p.title}"),
        f"Protocol {p.id} version {p.version or '-'}, source SHA-256 {p.sha256[:16]}",
    ]
    if p.status is not None:
        lines.append(f"Protocol status: {p.status}")
    if result.started_at is not None:
        session = f" (session {result.session_id})" if result.session_id else ""
        lines.append(f"Call started {_time(result.started_at)}{session}")
    lines.append("")
    lines += _caller_lines(result, h, bullet)
    if result.status == "error":
        lines += [h("Not evaluated"), f"{bullet}{result.error}", ""]
        lines += _said_lines(result, h, bullet)
        lines += _record_lines(result, h, bullet)
        return "\n".join(lines).rstrip() + "\n"
    if result.answer_log:
        lines += _said_lines(result, h, bullet)
    else:
        prompts = {e.node: e.text for e in result.trace if e.kind == "answer"}
        lines.append(h("Questions asked"))
        for question in result.asked:
            prompt = prompts.get(f"question:{question}", question)
            lines.append(f"{bullet}{prompt} {_answer(result.answers.get(question))}")
        if not result.asked:
            lines.append(f"{bullet}(none)")
        lines.append("")
    if result.status == "needs_answers":
        lines += [h("Outcome"), f"{bullet}Not yet decided; still to ask: {', '.join(result.missing)}", ""]
        lines += _record_lines(result, h, bullet)
        return "\n".join(lines).rstrip() + "\n"
    assert result.disposition is not None and result.urgency is not None
    u = result.urgency
    lines += [
        h("Disposition"),
        f"{bullet}{result.disposition.label} ({result.disposition.id})",
        f"{bullet}Urgency: {u.label} (tier {u.tier}{', ' + u.time_frame if u.time_frame else ''})",
    ]
    if result.decided_by is not None:
        lines.append(f"{bullet}Reason: {result.decided_by.explanation}")
    raised = result.raised_by
    if raised is not None:
        label = result.disposition.label
        because = f"'{raised.text}'" + (
            " could not be ruled out (the caller did not know)" if raised.kind == "unknown_answer" else ""
        )
        lines.append(
            f"{bullet}Raised to {label} because {because} ({raised.location}); "
            f"the protocol's minimum for this caller (floor at {raised.floor_location}"
            + (f", screen {raised.screen}" if raised.screen else "")
            + f"), from {raised.from_disposition} (tier {raised.from_tier})"
        )
    for assumption in result.assumptions:
        lines.append(f"{bullet}Assumption: {assumption.reason}")
    scores = {k: v for k, v in result.scores.items() if v is not None}
    if scores:
        lines.append(f"{bullet}Scores: " + ", ".join(f"{k} {v:g}" for k, v in scores.items()))
    lines.append("")
    if result.disposition.care_advice:
        lines.append(h("Care advice given"))
        lines += [f"{bullet}{a}" for a in result.disposition.care_advice]
        lines.append("")
    if result.escalation is not None:
        e = result.escalation
        lines.append(h(f"Escalation ({e.id}, at most {e.worst_case_minutes:g} minutes before the fallback)"))
        for n, step in enumerate(e.steps, start=1):
            if step.kind == "tell_caller":
                lines.append(f"{bullet}{n}. Tell the caller: {step.text}")
            else:
                wait = f", wait {step.wait_minutes:g} min for callback" if step.wait_minutes else ""
                retry = (
                    f", retry {step.retries} time(s) every {step.retry_every_minutes:g} min"
                    if step.retries
                    else ""
                )
                lines.append(f"{bullet}{n}. Notify {step.role} by {step.channel}{wait}{retry}")
        lines.append(f"{bullet}If nobody responds: {e.fallback}")
        lines.append("")
    lines += _response_lines(result, h, bullet)
    lines += _record_lines(result, h, bullet)
    return "\n".join(lines).rstrip() + "\n"
