"""The triage note: the plain-language chart entry, rendered from a result's trace.

Written as a nurse charts a call: protocol and version, the questions in the order
asked with the answers, what decided the outcome and where it is written, the
disposition, its urgency, the care advice and the escalation plan.
"""

from __future__ import annotations

from triage_dsl.model.result import TriageResult


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


def render_note(result: TriageResult, markdown: bool = False) -> str:
    """The note as plain text (``markdown=False``) or Markdown."""

    def h(title: str) -> str:
        return f"## {title}" if markdown else f"{title}:"

    bullet = "- " if markdown else "  - "
    p = result.protocol
    lines = [
        (f"# Triage note: {p.title}" if markdown else f"TRIAGE NOTE: {p.title}"),
        f"Protocol {p.id} version {p.version or '-'}, source SHA-256 {p.sha256[:16]}",
        "",
    ]
    if result.status == "error":
        lines += [h("Not evaluated"), f"{bullet}{result.error}"]
        return "\n".join(lines) + "\n"
    prompts = {e.node: e.text for e in result.trace if e.kind == "answer"}
    lines.append(h("Questions asked"))
    for question in result.asked:
        prompt = prompts.get(f"question:{question}", question)
        lines.append(f"{bullet}{prompt} {_answer(result.answers.get(question))}")
    if not result.asked:
        lines.append(f"{bullet}(none)")
    lines.append("")
    if result.status == "needs_answers":
        lines += [h("Outcome"), f"{bullet}Not yet decided; still to ask: {', '.join(result.missing)}"]
        return "\n".join(lines) + "\n"
    assert result.disposition is not None and result.urgency is not None
    u = result.urgency
    lines += [
        h("Disposition"),
        f"{bullet}{result.disposition.label} ({result.disposition.id})",
        f"{bullet}Urgency: {u.label} (tier {u.tier}{', ' + u.time_frame if u.time_frame else ''})",
    ]
    if result.decided_by is not None:
        lines.append(f"{bullet}Reason: {result.decided_by.explanation}")
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
    return "\n".join(lines).rstrip() + "\n"
