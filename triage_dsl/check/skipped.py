"""What the checks could not see: lines lost to syntax errors, and the findings that
depend on them.

After a syntax error the parser keeps every block that parsed (``Damage`` lists what it
could not read), so the checks still run on the rest of the file. A finding that depends
on a damaged block would be a false alarm (``unknown name 'drooling'`` when drooling's
declaration has a syntax error), so it is withheld; instead each damaged region gets one
note (S050) saying which checks were skipped there and how many findings were withheld.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from triage_dsl.errors import Diagnostic
from triage_dsl.source import Source, Span

if TYPE_CHECKING:
    from triage_dsl.syntax.parser import Damage

# A lost block of these kinds makes findings of these codes unreliable anywhere.
LOST_BLOCK_CODES = {"triage": ("T061",)}


def damaged_names(damage: Iterable[Damage]) -> set[str]:
    """The ids declared by damaged blocks (those whose declaration line could be read)."""
    return {d.name for d in damage if d.name}


def _depends(d: Diagnostic, path: str, damage: Sequence[Damage], names: set[str]) -> bool:
    for lost in damage:
        if d.span.path == path and lost.block[0] <= d.span.line <= lost.block[1]:
            return True  # inside a block that is incomplete
        if lost.whole_block and d.code in LOST_BLOCK_CODES.get(lost.kind, ()):
            return True
        if lost.kind == "tiers" and "tier" in d.message:
            return True  # the tier scale did not parse: the default scale stood in
    return any(f"'{name}'" in d.message for name in names)


def withhold(
    diagnostics: Sequence[Diagnostic],
    source: Source,
    damage: Sequence[Damage],
    imported_names: set[str],
    passes: int,
) -> list[Diagnostic]:
    """The check findings that do not depend on damaged lines, plus one S050 note per
    damaged region (``passes``: how many check passes skipped it)."""
    names = damaged_names(damage) | imported_names
    if not damage and not names:
        return list(diagnostics)
    kept = [d for d in diagnostics if not _depends(d, source.path, damage, names)]
    held = len(diagnostics) - len(kept)
    regions = _regions(damage)
    for index, (first, last, what) in enumerate(regions):
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        message = f"{passes} checks skipped in {lines}: {what} did not parse"
        if held and index == len(regions) - 1:
            message += f"; {held} finding(s) that depend on unparsed lines withheld"
        kept.append(
            Diagnostic(
                Span(source.path, first, 1, first, len(source.line(first)) + 1),
                "S050",
                "info",
                message,
                "fix the syntax error(s); the checks run on these lines once they parse",
            )
        )
    if not regions and held:
        kept.append(
            Diagnostic(
                Span.point(source.path, 1, 1),
                "S050",
                "info",
                f"{held} finding(s) withheld: they depend on imported declarations that did not parse",
                "fix the syntax errors of the imported files",
            )
        )
    return kept


def _regions(damage: Sequence[Damage]) -> list[tuple[int, int, str]]:
    """Damaged line ranges, adjacent dropped lines of one block merged, in file order."""
    regions: list[tuple[int, int, str]] = []
    for lost in sorted(damage, key=lambda d: (d.first_line, d.last_line)):
        what = f"{lost.kind} '{lost.name}'" if lost.name else f"the {lost.kind} block"
        what = what if lost.whole_block else f"a line of {what}"
        if regions and not lost.whole_block and regions[-1][1] + 1 == lost.first_line:
            first, _, _ = regions[-1]
            regions[-1] = (first, lost.last_line, what.replace("a line of", "lines of"))
            continue
        regions.append((lost.first_line, lost.last_line, what))
    return regions
