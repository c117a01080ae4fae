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

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from triage_dsl.model.plain import final_answers

if TYPE_CHECKING:
    from triage_dsl.model.result import EscalationStepRun, Override, TriageResult


Text = Callable[[str], str]  # free text as the note writes it (plain or Markdown)

# every character that ends a line somewhere (str.splitlines' set): free text is written
# on one line, so a caller's words or a protocol's cannot start a heading or a section
_BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# what Markdown (CommonMark, with tables and strikethrough) reads as markup or HTML; an
# underscore only at a word's edge (inside a word, as in an id, it is never emphasis)
_MARKUP = re.compile(r"([\\`*\[\]<>|~&#!]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def plain_text(text: str) -> str:
    """Free text on one line, as the plain note writes it."""
    return _BREAKS.sub(" ", text)


def markdown_text(text: str) -> str:
    """Free text on one line with every Markdown and HTML character escaped: shown as
    written, never a link, an image, a tag or emphasis."""
    return _MARKUP.sub(r"\\\1", plain_text(text))


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


def _event(run: EscalationStepRun, t: Text) -> str:
    e = run.event
    step = f" (step {run.step}{f', retry {run.attempt}' if run.attempt else ''})" if run.step else ""
    who = f" {run.role}" if run.role else ""
    what = {
        "paged": f"notified{who}" + (f" by {run.channel}" if run.channel else ""),
        "no_answer": f"no answer from{who or ' the clinician'}",
        "callback": f"callback received from{who or ' the clinician'}",
        "told_caller": "told the caller" if run.step else "told the caller the fallback",
    }[e.kind]
    detail = f": {t(e.detail)}" if e.detail else ""
    return f"{_time(e.at)} {what}{step}{detail}"


def _next(run: EscalationStepRun, t: Text) -> str:
    n = run.next
    when = f" at {_time(n.due_at)}" if n.due_at else ""
    if n.kind == "notify":
        return f"Next: notify {n.role} by {n.channel}{when}"
    if n.kind == "wait":
        return f"Next: wait for a callback from {n.role} until {_time(n.due_at) if n.due_at else '-'}"
    if n.kind in ("tell_caller", "fallback"):
        return f"Next: tell the caller{when}: {t(n.text or '')}"
    return "Escalation complete"


def _caller_lines(result: TriageResult, h: Text, bullet: str, t: Text) -> list[str]:
    """The caller block: who called, the callback number, the agent, the complaint."""
    call = result.call
    if call is None:
        return []
    who = "the patient" if call.caller == "patient" else call.caller.replace("_", " ")
    if call.caller_detail:
        who += f" ({t(call.caller_detail)})"
    if call.caller == "patient":
        phone = "the caller is the patient"
    else:
        phone = {True: "yes", False: "no", None: "not asked"}[call.patient_can_come_to_phone]
    return [
        h("Caller"),
        f"{bullet}Calling: {who}",
        f"{bullet}Callback number: {t(call.callback_number) if call.callback_number else '(none given)'}, "
        f"read back and confirmed: {'yes' if call.callback_read_back else 'no'}",
        f"{bullet}Patient can come to the phone: {phone}",
        f"{bullet}Agent: {t(call.agent_id)}",
        f'{bullet}Chief complaint, in the caller\'s words: "{t(call.chief_complaint)}"',
        "",
    ]


def _said_lines(result: TriageResult, h: Text, bullet: str, t: Text) -> list[str]:
    """Every answer the caller gave, in order (with corrections, retractions and notes),
    and every red flag answered no."""
    if not result.answer_log:
        return []
    lines = [h("Questions asked, in order, with every answer the caller gave")]
    for e in result.answer_log:
        asked = t(e.prompt or e.question or "")
        if e.kind == "note":
            after = " (after the outcome)" if e.after_outcome else ""
            lines.append(f"{bullet}Caller added{after}: {t(e.text or '')}")
        elif e.problem is not None:
            lines.append(f"{bullet}Not accepted ({e.problem}): {t(e.question or '')} = {t(_answer(e.value))}")
        elif e.kind == "retraction":
            lines.append(
                f"{bullet}Withdrawn: {asked} (was {t(_answer(e.previous))}). Reason: {t(e.reason or '')}"
            )
        else:
            unused = "" if e.question in result.answers else " (not used by any criterion)"
            if e.kind == "correction":
                why = f". Reason: {t(e.reason)}" if e.reason else ""
                was = t(_answer(e.previous))
                lines.append(f"{bullet}Corrected: {asked} {t(_answer(e.value))} (was {was}){unused}{why}")
            else:
                lines.append(f"{bullet}{asked} {t(_answer(e.value))}{unused}")
    lines.append("")
    final = final_answers(result.answer_log)
    prompts = {e.question: e.prompt or e.question for e in result.answer_log if e.red_flag and e.question}
    no = [q for q in prompts if final.get(q) is False]
    lines.append(h("Red flags answered no"))
    lines += [f"{bullet}{t(prompts[q])}" for q in no] or [f"{bullet}(none)"]
    lines.append("")
    return lines


def _response_lines(result: TriageResult, h: Text, bullet: str, t: Text) -> list[str]:
    call = result.call
    if call is None:
        return []
    if call.agreement == "agrees":
        said = "agrees with the advice"
    elif call.agreement == "declines":
        said = f"declined the advice. Reason: {t(call.declined_reason or '')}"
    else:
        said = "not recorded"
    return [h("Caller's response"), f"{bullet}{said}", ""]


def _record_lines(result: TriageResult, h: Text, bullet: str, t: Text) -> list[str]:
    """Overrides and escalation steps run (records only)."""
    lines: list[str] = []
    if result.overrides:
        lines.append(h("Overrides"))
        for o in result.overrides:
            change = {"downgrade": "a downgrade", "upgrade": "an upgrade", "same_tier": "same tier"}.get(
                o.direction, "no computed disposition before"
            )
            lines.append(
                f"{bullet}{_time(o.at)} {t(o.by)} changed the disposition"
                f" from {t(o.previous_disposition or '-')} to "
                f"{t(o.disposition.label)} ({t(o.disposition.id)}, tier {t(o.urgency.tier)}), {change}"
                + (f". Reason: {t(o.reason)}" if o.reason else "")
            )
        last = result.overrides[-1]
        lines.append(
            f"{bullet}Disposition in effect: {t(last.disposition.label)} (tier {t(last.urgency.tier)})"
        )
        lines.append("")
    if result.escalation_run:
        lines.append(h("Escalation steps run"))
        first = result.escalation_run[0].seq
        later = [o for o in result.overrides if o.seq > first]  # each ends a run and starts one
        for run in result.escalation_run:
            while later and later[0].seq < run.seq:
                lines.append(f"{bullet}{_restart(later.pop(0), t)}")
            lines.append(f"{bullet}{_event(run, t)}")
        lines += [f"{bullet}{_restart(o, t)}" for o in later]
        if later:  # the last override came after the last event: its run has not begun
            o = later[-1]
            lines.append(
                f"{bullet}Next: step 1 of plan {t(o.escalation.id)}, due at {_time(o.at)}"
                if o.escalation
                else f"{bullet}No escalation plan in effect"
            )
        else:
            lines.append(f"{bullet}{_next(result.escalation_run[-1], t)}")
        lines.append("")
    return lines


def _restart(o: Override, t: Text) -> str:
    """The line for an override between escalation events: the run it starts."""
    plan = o.escalation
    starts = f"a new escalation run starts: plan {t(plan.id)}, step 1" if plan else "no plan from here on"
    return f"{_time(o.at)} override {o.seq} to {t(o.disposition.id)}: {starts}"


def render_note(result: TriageResult, markdown: bool = False) -> str:
    """The note as plain text (``markdown=False``) or Markdown. Free text (the
    protocol's, the caller's, an agent's) is written on one line, and in Markdown with
    its markup escaped: it cannot add a section, a link or a tag to the note."""
    t = markdown_text if markdown else plain_text

    def h(title: str) -> str:
        return f"## {title}" if markdown else f"{title}:"

    bullet = "- " if markdown else "  - "
    p = result.protocol
    lines = [
        (f"# Triage note: {t(p.title)}" if markdown else f"TRIAGE NOTE: {t(p.title)}"),
        f"Protocol {t(p.id)} version {t(p.version or '-')}, source SHA-256 {t(p.sha256[:16])}",
    ]
    if p.status is not None:
        lines.append(f"Protocol status: {t(p.status)}")
    if result.started_at is not None:
        session = f" (session {t(result.session_id)})" if result.session_id else ""
        lines.append(f"Call started {_time(result.started_at)}{session}")
    lines.append("")
    lines += _caller_lines(result, h, bullet, t)
    if result.status == "error":
        lines += [h("Not evaluated"), f"{bullet}{t(result.error or '')}", ""]
        lines += _said_lines(result, h, bullet, t)
        lines += _record_lines(result, h, bullet, t)
        return "\n".join(lines).rstrip() + "\n"
    if result.answer_log:
        lines += _said_lines(result, h, bullet, t)
    else:
        prompts = {e.node: e.text for e in result.trace if e.kind == "answer"}
        lines.append(h("Questions asked"))
        for question in result.asked:
            prompt = prompts.get(f"question:{question}", question)
            lines.append(f"{bullet}{t(prompt)} {t(_answer(result.answers.get(question)))}")
        if not result.asked:
            lines.append(f"{bullet}(none)")
        lines.append("")
    if result.status == "needs_answers":
        lines += [h("Outcome"), f"{bullet}Not yet decided; still to ask: {t(', '.join(result.missing))}", ""]
        lines += _record_lines(result, h, bullet, t)
        return "\n".join(lines).rstrip() + "\n"
    assert result.disposition is not None and result.urgency is not None
    u = result.urgency
    lines += [
        h("Disposition"),
        f"{bullet}{t(result.disposition.label)} ({t(result.disposition.id)})",
        f"{bullet}Urgency: {t(u.label)} (tier {t(u.tier)}{', ' + t(u.time_frame) if u.time_frame else ''})",
    ]
    if result.decided_by is not None:
        lines.append(f"{bullet}Reason: {t(result.decided_by.explanation)}")
    raised = result.raised_by
    if raised is not None:
        label = t(result.disposition.label)
        because = f"'{t(raised.text)}'" + (
            " could not be ruled out (the caller did not know)" if raised.kind == "unknown_answer" else ""
        )
        lines.append(
            f"{bullet}Raised to {label} because {because} ({t(raised.location)}); "
            f"the protocol's minimum for this caller (floor at {t(raised.floor_location)}"
            + (f", screen {t(raised.screen)}" if raised.screen else "")
            + f"), from {t(raised.from_disposition)} (tier {t(raised.from_tier)})"
        )
    for assumption in result.assumptions:
        lines.append(f"{bullet}Assumption: {t(assumption.reason)}")
    scores = {k: v for k, v in result.scores.items() if v is not None}
    if scores:
        lines.append(f"{bullet}Scores: " + ", ".join(f"{t(k)} {v:g}" for k, v in scores.items()))
    lines.append("")
    if result.disposition.care_advice:
        lines.append(h("Care advice given"))
        lines += [f"{bullet}{t(a)}" for a in result.disposition.care_advice]
        lines.append("")
    if result.escalation is not None:
        e = result.escalation
        lines.append(
            h(f"Escalation ({t(e.id)}, at most {e.worst_case_minutes:g} minutes before the fallback)")
        )
        for n, step in enumerate(e.steps, start=1):
            if step.kind == "tell_caller":
                lines.append(f"{bullet}{n}. Tell the caller: {t(step.text or '')}")
            else:
                wait = f", wait {step.wait_minutes:g} min for callback" if step.wait_minutes else ""
                retry = (
                    f", retry {step.retries} time(s) every {step.retry_every_minutes:g} min"
                    if step.retries
                    else ""
                )
                lines.append(
                    f"{bullet}{n}. Notify {t(step.role or '')} by {t(step.channel or '')}{wait}{retry}"
                )
        lines.append(f"{bullet}If nobody responds: {t(e.fallback)}")
        lines.append("")
    lines += _response_lines(result, h, bullet, t)
    lines += _record_lines(result, h, bullet, t)
    return "\n".join(lines).rstrip() + "\n"
