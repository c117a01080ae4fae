"""Pass: the triage block: present once, targets that exist, urgency in order.

A protocol needs exactly one ``triage`` block (a library none); each section's and
floor's target is a disposition (or, for a section, an imported protocol); the screens a
triage names exist and are named once; sections, with the screens' sections spliced in,
should run from most to least urgent (a warning, since the first match wins).
"""

from __future__ import annotations

from triage_dsl.check.scope import Scope
from triage_dsl.check.walk import blocks as declared_blocks
from triage_dsl.errors import did_you_mean
from triage_dsl.syntax import ast


def logic(scope: Scope) -> None:
    header = scope.file.header
    for item in scope.file.items:
        if isinstance(item, ast.Screen):
            for part in declared_blocks(item):
                _target(scope, part.target)
    blocks = [item for item in scope.file.items if isinstance(item, ast.Triage)]
    if header.kind == "library":
        for block in blocks:
            scope.report(
                block.span,
                "T060",
                "a library holds shared definitions, not triage logic",
                "move the triage block into a protocol file",
            )
        return
    if not blocks:
        scope.report(
            header.id_span,
            "T061",
            f"protocol '{header.id}' has no triage block",
            "add: triage  section ... end  default DISPOSITION end",
        )
        return
    for extra in blocks[1:]:
        scope.report(extra.span, "T062", "a protocol has one triage block", "merge the sections")
    triage = blocks[0]
    previous: tuple[int, ast.Target] | None = None
    for section, use in expanded_sections(scope, triage, report=True):
        if use is None:
            _target(scope, section.target)
        rank = _rank(scope, section.target)
        if rank is not None:
            if previous is not None and rank < previous[0]:
                if use is None:
                    scope.report(
                        section.target.span,
                        "W001",
                        f"'{section.target.id}' is more urgent than '{previous[1].id}' above it, "
                        "but the first matching section wins",
                        "order sections from most to least urgent",
                        severity="warning",
                    )
                else:
                    scope.report(
                        use.span,
                        "W001",
                        f"screen '{use.id}' brings section '{section.target.id}' "
                        f"({section.span.location}), more urgent than '{previous[1].id}' above it, "
                        "but the first matching section wins",
                        "name the screen first in the triage block",
                        severity="warning",
                    )
            previous = (rank, section.target)
    _target(scope, triage.default)
    rank = _rank(scope, triage.default)
    if rank is not None and previous is not None and rank < previous[0]:
        scope.report(
            triage.default.span,
            "W001",
            f"the default '{triage.default.id}' is more urgent than '{previous[1].id}'",
            "the default is the least urgent outcome",
            severity="warning",
        )

    for floor in triage.floors:
        _target(scope, floor.target)


def expanded_sections(
    scope: Scope, triage: ast.Triage, *, report: bool = False
) -> list[tuple[ast.Section, ast.ScreenUse | None]]:
    """The triage's sections in evaluation order, each screen's sections spliced in where
    the triage names it (with the ``screen`` line that brought them). With ``report``,
    unknown screens and a screen named twice are reported."""
    out: list[tuple[ast.Section, ast.ScreenUse | None]] = []
    seen: dict[str, ast.ScreenUse] = {}
    for part in triage.parts:
        if isinstance(part, ast.Section):
            out.append((part, None))
            continue
        screen = scope.screens.get(part.id)
        if screen is None:
            if report:
                scope.report(
                    part.id_span,
                    "T066",
                    f"unknown screen '{part.id}'",
                    did_you_mean(part.id, scope.screens)
                    or "declare it with: screen NAME ... end (or import the library that does)",
                )
            continue
        if part.id in seen:
            if report:
                scope.report(
                    part.id_span,
                    "T067",
                    f"screen '{part.id}' is already run in this triage block ({seen[part.id].span.location})",
                    "name each screen once",
                )
            continue
        seen[part.id] = part
        out.extend((section, part) for section in screen.sections)
    return out


def floors(scope: Scope, triage: ast.Triage) -> list[ast.Floor]:
    """Every floor that applies to the triage's outcome: the floors of its screens (in the
    order the triage names them), then its own."""
    out: list[ast.Floor] = []
    seen: set[str] = set()
    for use in triage.screens:
        screen = scope.screens.get(use.id)
        if screen is not None and use.id not in seen:
            seen.add(use.id)
            out.extend(screen.floors)
    return [*out, *triage.floors]


def _target(scope: Scope, target: ast.Target) -> None:
    if target.kind == "protocol" and target.id in scope.protocols:
        _shared_questions(scope, target)
    if target.kind == "disposition":
        if target.id not in scope.dispositions:
            scope.report(
                target.span,
                "T063",
                f"unknown disposition '{target.id}'",
                did_you_mean(target.id, scope.dispositions) or "declare it with: disposition NAME ... end",
            )
    elif target.id not in scope.protocols and target.id not in scope.broken_protocols:
        scope.report(
            target.span,
            "T064",
            f"unknown protocol '{target.id}'",
            did_you_mean(target.id, scope.protocols) or 'import it first: import "other_protocol.triage"',
        )


def _rank(scope: Scope, target: ast.Target) -> int | None:
    if target.kind != "disposition" or target.id not in scope.dispositions:
        return None
    return scope.tier_rank(scope.dispositions[target.id].tier)


def _shared_questions(scope: Scope, target: ast.Target) -> None:
    """A protocol continued with reads the same answers: a question id must mean the same
    question (the same declaration, e.g. from a shared library) in both."""
    callee = scope.protocols[target.id]
    for qid, theirs in callee.plan.questions.items():
        ours = scope.questions.get(qid)
        if ours is not None and ours.span != theirs.span:
            scope.report(
                target.span,
                "T065",
                f"question '{qid}' means different things here ({ours.id_span.where}) "
                f"and in protocol '{target.id}' ({theirs.span.where})",
                "declare it once in a shared library that both import",
            )
