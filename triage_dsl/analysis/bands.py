"""Answer regions as bands per question: ``39 <= temp_c < 39.5``, ``cough = yes``.

A region is a set of answer classes per question (indexes into a :class:`Domains`); a
question absent from a region may take any answer. :func:`merge_regions` joins regions
that differ in one question only, so a change reads as a few bands rather than every
combination the walk happened to split; :func:`band` writes one question's classes as
the protocol would.
"""

from __future__ import annotations

from collections.abc import Iterable

from triage_dsl.analysis.domains import AnswerClass, Domains, interval_text

Region = dict[str, frozenset[int]]


def band(question: str, classes: list[AnswerClass]) -> str:
    """One question's classes as a band: ``39 <= temp_c < 39.5``, ``age = 80``,
    ``pain in mild, moderate``, ``cough = yes``, ``cough = unknown``; joined by ``or``.

    >>> from triage_dsl.analysis.domains import Atom
    >>> band("t", [AnswerClass("t", "number", atoms=(Atom(39, 39), Atom(39, 39.5)))])
    '39 <= t < 39.5'
    """
    parts: list[str] = []
    numbers = [c for c in classes if c.kind == "number"]
    if numbers:
        text = numbers[0].number_text
        for low, high, low_closed, high_closed in interval_text(tuple(a for c in numbers for a in c.atoms)):
            if low == high:
                parts.append(f"{question} = {text(low)}")
            else:
                left = "<=" if low_closed else "<"
                right = "<=" if high_closed else "<"
                parts.append(f"{text(low)} {left} {question} {right} {text(high)}")
    options = [o for c in classes if c.kind == "choice" for o in c.options]
    if options:
        parts.append(
            f"{question} = {options[0]}" if len(options) == 1 else f"{question} in {', '.join(options)}"
        )
    for c in classes:
        if c.kind == "yes/no":
            parts.append(f"{question} = {'yes' if c.value else 'no'}")
        elif c.kind == "unknown":
            parts.append(f"{question} = unknown")
    return " or ".join(parts)


def merge_regions(regions: Iterable[Region], doms: Domains) -> list[Region]:
    """Regions joined where they differ in one question's classes only; a question whose
    every class is then covered drops out (any answer). Order: first seen first."""
    merged = [dict(r) for r in regions]
    changed = True
    while changed:
        changed = False
        for i in range(len(merged)):
            for j in range(i + 1, len(merged)):
                joined = _join(merged[i], merged[j], doms)
                if joined is not None:
                    merged[i] = joined
                    del merged[j]
                    changed = True
                    break
            if changed:
                break
    unique: list[Region] = []
    for r in merged:
        if r not in unique:
            unique.append(r)
    return unique


def _join(a: Region, b: Region, doms: Domains) -> Region | None:
    if a.keys() != b.keys():
        return None
    differ = [q for q in a if a[q] != b[q]]
    if len(differ) > 1:
        return None
    if not differ:
        return a
    q = differ[0]
    union = a[q] | b[q]
    out = dict(a)
    if len(union) == len(doms.classes[q]):
        del out[q]
    else:
        out[q] = union
    return out


def describe(region: Region, doms: Domains) -> dict[str, str]:
    """A region as question -> band text, in the order of the questions' declarations."""
    return {q: band(q, [doms.classes[q][i] for i in sorted(region[q])]) for q in doms.classes if q in region}
