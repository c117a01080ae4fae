"""Answer regions as bands per question: ``39 <= temp_c < 39.5``, ``cough = yes``.

A region is a set of answer classes per question (indexes into a :class:`Domains`); a
question absent from a region may take any answer. :func:`merge_regions` joins regions
that differ in one question only, so a change reads as a few bands rather than every
combination the walk happened to split; :func:`band` writes one question's classes as
the protocol would.
"""

from __future__ import annotations

import bisect
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
    every class is then covered drops out (any answer). Order: first seen first.

    The joins are those of the plain rule, in its order: take the first region that joins
    with a later one, join it with the first such region (the result keeps the earlier
    place), and start again from the top. Done literally that is cubic (a NEWS2 threshold
    moved by one point gives 4,002 regions: tens of minutes); here regions are found by
    what they share (the same questions, and the same classes for all of them but one),
    and a region before the one just joined can only have gained that one as a partner,
    so the next join is found without starting again (``tests/analysis/test_bands.py``
    compares the two on generated regions)."""
    merged: dict[int, Region] = dict(enumerate(dict(r) for r in regions))
    buckets: dict[tuple[object, ...], list[int]] = {}

    def signatures(region: Region) -> list[tuple[object, ...]]:
        keys = frozenset(region)
        if not region:
            return [(keys, None)]
        items = sorted(region.items())
        return [(keys, q, tuple(item for item in items if item[0] != q)) for q, _ in items]

    def add(place: int) -> None:
        for sig in signatures(merged[place]):
            bisect.insort(buckets.setdefault(sig, []), place)

    def remove(place: int) -> None:
        for sig in signatures(merged[place]):
            buckets[sig].remove(place)

    def first_partner(place: int, after: bool) -> int | None:
        """The first region after ``place`` (or before it) that joins with it."""
        found: int | None = None
        for sig in signatures(merged[place]):
            bucket = buckets[sig]
            if after:
                k = bisect.bisect_right(bucket, place)
                if k < len(bucket) and (found is None or bucket[k] < found):
                    found = bucket[k]
            elif bucket[0] < place and (found is None or bucket[0] < found):
                found = bucket[0]
        return found

    for place in merged:
        add(place)
    order = sorted(merged)
    position = 0  # no region before order[position] joins with any other
    while position < len(order):
        first = order[position]
        if first not in merged:
            position += 1
            continue
        second = first_partner(first, after=True)
        if second is None:
            position += 1
            continue
        while second is not None:  # join, then the earlier partner the result gained, if any
            joined = _join(merged[first], merged[second], doms)
            assert joined is not None
            remove(first)
            remove(second)
            del merged[second]
            merged[first] = joined
            add(first)
            earlier = first_partner(first, after=False)
            if earlier is None:
                break
            first, second = earlier, first
        position = bisect.bisect_left(order, first)
    unique: list[Region] = []
    seen: set[tuple[tuple[str, frozenset[int]], ...]] = set()
    for place in sorted(merged):
        r = merged[place]
        mark = tuple(sorted(r.items()))
        if mark not in seen:
            seen.add(mark)
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
