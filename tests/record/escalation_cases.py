"""Escalation events across overrides: one table for the record API and the service.

Each case runs on ``allergic_reaction`` (chosen for its dispositions: ``call_911`` and
``anaphylaxis_call_911`` share the plan ``emergency_911``, ``allergy_home_care`` has no
plan), starting from a call overridden before its interview ended: sealed with no
disposition (a run without a plan), then overridden to ``call_911`` at minute 0.
``emergency_911`` is: tell the caller, notify the on-call physician, notify the backup,
all without a wait, then the fallback; ``ed_now_page`` waits 10 minutes for a callback
and retries once. A step is an override ``("override", disposition, minute, reason)`` or
an event ``("event", kind, minute, expect)``; ``minute`` counts from the seal.
``expect`` is the next step the event leads to (``"notify 2"``, ``"wait 1"``,
``"fallback"``, ``"done"``) or, after ``!``, part of the message it is refused with.
``runs`` is the record at the end: per escalation run, its plan and how many events it
holds (the first run from the seal, one more per override).

Times given here matter only to the record API: the service stamps each request with its
own clock, always in order, so the cases marked ``in_process_only`` (an event out of time
order) cannot be sent to it.
"""

from __future__ import annotations

from dataclasses import dataclass

Step = tuple[str, str, int, str]


@dataclass(frozen=True)
class Case:
    name: str
    steps: tuple[Step, ...]
    runs: tuple[tuple[str | None, int], ...]
    in_process_only: bool = False


PROTOCOL = "allergic_reaction"
DOWN = "seen by the GP an hour ago"  # a downgrade needs a reason
FIRST: Step = ("override", "call_911", 0, "the caller collapsed")  # every case starts so

CASES = (
    Case(
        "same plan, same disposition: the run starts over",
        (
            ("event", "told_caller", 1, "notify 2"),
            ("override", "call_911", 2, ""),
            ("event", "told_caller", 3, "notify 2"),
            ("event", "paged", 4, "notify 3"),
        ),
        ((None, 0), ("emergency_911", 1), ("emergency_911", 2)),
    ),
    Case(
        "same plan id, another disposition",
        (
            ("event", "told_caller", 1, "notify 2"),
            ("event", "paged", 2, "notify 3"),
            ("override", "anaphylaxis_call_911", 3, ""),
            ("event", "paged", 4, "!step 1 expects 'told_caller'"),
            ("event", "told_caller", 4, "notify 2"),
        ),
        ((None, 0), ("emergency_911", 2), ("emergency_911", 1)),
    ),
    Case(
        "a callback in the earlier run does not end the new one",
        (
            ("event", "told_caller", 1, "notify 2"),
            ("event", "paged", 2, "notify 3"),
            ("event", "callback", 3, "done"),
            ("override", "call_911", 4, ""),
            ("event", "callback", 5, "!before anyone was notified"),
            ("event", "told_caller", 5, "notify 2"),
        ),
        ((None, 0), ("emergency_911", 3), ("emergency_911", 1)),
    ),
    Case(
        "another plan",
        (
            ("event", "told_caller", 1, "notify 2"),
            ("override", "ed_now", 2, DOWN),
            ("event", "told_caller", 3, "!step 1 expects 'paged'"),
            ("event", "paged", 3, "wait 1"),
            ("event", "no_answer", 14, "notify 1"),
        ),
        ((None, 0), ("emergency_911", 1), ("ed_now_page", 2)),
    ),
    Case(
        "no plan, then a plan",
        (
            ("override", "allergy_home_care", 1, DOWN),
            ("event", "told_caller", 2, "!no escalation plan is in effect"),
            ("override", "see_today", 3, "called back: worse"),
            ("event", "paged", 4, "wait 1"),
        ),
        ((None, 0), ("emergency_911", 0), (None, 0), ("same_day_callback", 1)),
    ),
    Case(
        "a plan, then none",
        (
            ("event", "told_caller", 1, "notify 2"),
            ("override", "allergy_home_care", 2, DOWN),
            ("event", "paged", 3, "!no escalation plan is in effect"),
        ),
        ((None, 0), ("emergency_911", 1), (None, 0)),
    ),
    Case(
        "override and back, with events between",
        (
            ("event", "told_caller", 1, "notify 2"),
            ("override", "ed_now", 2, DOWN),
            ("event", "paged", 3, "wait 1"),
            ("override", "call_911", 4, ""),
            ("event", "paged", 5, "!step 1 expects 'told_caller'"),
            ("event", "told_caller", 5, "notify 2"),
        ),
        ((None, 0), ("emergency_911", 1), ("ed_now_page", 1), ("emergency_911", 1)),
    ),
    Case(
        "override and back, nothing between",
        (
            ("event", "told_caller", 1, "notify 2"),
            ("event", "paged", 2, "notify 3"),
            ("override", "ed_now", 3, DOWN),
            ("override", "call_911", 4, ""),
            ("event", "told_caller", 5, "notify 2"),
        ),
        ((None, 0), ("emergency_911", 2), ("ed_now_page", 0), ("emergency_911", 1)),
    ),
    Case(
        "an event before the override that started the run",
        (
            ("event", "told_caller", 1, "notify 2"),
            ("override", "call_911", 5, ""),
            ("event", "told_caller", 3, "!before the run of plan 'emergency_911' started"),
            ("event", "told_caller", 0, "!time order"),
            ("event", "told_caller", 5, "notify 2"),  # at the override's minute: in order
        ),
        ((None, 0), ("emergency_911", 1), ("emergency_911", 1)),
        in_process_only=True,
    ),
    Case(
        "events out of order within the new run",
        (
            ("override", "ed_now", 1, DOWN),
            ("event", "paged", 6, "wait 1"),
            ("event", "no_answer", 4, "!time order"),
            ("event", "no_answer", 16, "notify 1"),
        ),
        ((None, 0), ("emergency_911", 0), ("ed_now_page", 2)),
        in_process_only=True,
    ),
)


def next_of(kind: str, step: int | None) -> str:
    """A next step as the table writes it."""
    return f"{kind} {step}" if kind in ("notify", "wait", "tell_caller") else kind
