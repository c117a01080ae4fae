"""Canonical JSON and the hash chain of a record: the tamper evidence.

A record is a chain of *links*: the header (protocol, files, session, time, answers),
each trace entry, the outcome (disposition, urgency, scores, note...), then each
appended override or escalation step in ``seq`` order. A link's hash is the SHA-256 of
the canonical JSON of ``{"kind", "previous", "content"}``, so changing, removing or
reordering any link changes every hash after it.

Hashes are computed over the record's *JSON* (what ``model_dump(mode="json")`` gives
and what a file holds), with the top-level fields of each link named per chain version,
so a record sealed now hashes the same when a later version, with more fields, reads it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

CHAIN_VERSION = "1.3"
GENESIS = "0" * 64

_HEADER_1_1 = (
    "schema_version",
    "protocol",
    "protocol_files",
    "interpreter_version",
    "session_id",
    "started_at",
    "answers",
)
_OUTCOME_1_1 = (
    "sealed_at",
    "status",
    "disposition",
    "urgency",
    "escalation",
    "scores",
    "asked",
    "missing",
    "next_question",
    "decided_by",
    "assumptions",
    "error",
    "errors",
    "note",
)
# 1.2: every answer the caller gave (the log) joins the header; the caller block (with the
# caller's response to the advice) and the floor that raised the outcome join the outcome.
# 1.3: header and outcome as in 1.2; an escalation step may name who it was resolved to
# (``resolved``) and its event how it was delivered (``event.delivery``). These are hashed
# when present and left out when null, so a record of an earlier version, read and written
# again by this one (which adds them as null), keeps its hashes.
_HEADER_1_2 = (*_HEADER_1_1, "answer_log")
_OUTCOME_1_2 = (*_OUTCOME_1_1[:-1], "call", "note", "raised_by")
HEADER_FIELDS: Mapping[str, tuple[str, ...]] = {"1.1": _HEADER_1_1, "1.2": _HEADER_1_2, "1.3": _HEADER_1_2}
OUTCOME_FIELDS: Mapping[str, tuple[str, ...]] = {
    "1.1": _OUTCOME_1_1,
    "1.2": _OUTCOME_1_2,
    "1.3": _OUTCOME_1_2,
}
ESCALATION_ADDED = ("resolved",)
EVENT_ADDED = ("delivery",)


def canonical_json(value: Any) -> str:
    """UTF-8 JSON with keys sorted and no whitespace; NaN and infinity refused.

    >>> canonical_json({"b": [1, 2.5, None], "a": "é"})
    '{"a":"é","b":[1,2.5,null]}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def link_hash(kind: str, previous: str, content: Any) -> str:
    """The hash of one link: its kind, the previous link's hash and its content."""
    return sha256_text(canonical_json({"kind": kind, "previous": previous, "content": content}))


@dataclass(frozen=True)
class Link:
    """One link of a record's chain, as found in the record's JSON."""

    kind: str  # header | trace | outcome | override | escalation
    where: str  # for people: "trace entry 4 (criterion criterion:0.1, file:12)"
    content: Any
    stored: str | None  # the hash the record holds for it


def _without_hash(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "hash"}


def escalation_content(item: Mapping[str, Any]) -> dict[str, Any]:
    """What an escalation step's link hashes: the step without its hash, and without the
    fields added in 1.3 when they are null."""
    content = {k: v for k, v in item.items() if k != "hash" and not (k in ESCALATION_ADDED and v is None)}
    event = content.get("event")
    if isinstance(event, Mapping):
        content["event"] = {k: v for k, v in event.items() if not (k in EVENT_ADDED and v is None)}
    return content


def _entry_where(position: int, entry: Any) -> str:
    if not isinstance(entry, Mapping):
        return f"trace entry {position}"
    return f"trace entry {position} ({entry.get('kind')} {entry.get('node')}, {entry.get('location')})"


def appended(raw: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """The appended links (overrides and escalation steps), in the order they were added."""
    items: list[tuple[str, Mapping[str, Any]]] = [("override", o) for o in raw.get("overrides") or []]
    items += [("escalation", s) for s in raw.get("escalation_run") or []]
    return sorted(items, key=lambda item: _seq(item[1]))


def _seq(item: Mapping[str, Any]) -> int:
    seq = item.get("seq") if isinstance(item, Mapping) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def links(raw: Mapping[str, Any], version: str = CHAIN_VERSION) -> Iterator[Link]:
    """Every link of a record's JSON, in chain order (``raw`` need not be valid)."""
    found = raw.get("seal")
    seal: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    yield Link(
        "header",
        "record header (protocol, files, interpreter version, session, start time, answers, answer log)",
        {f: raw.get(f) for f in HEADER_FIELDS[version]},
        seal.get("header"),
    )
    for position, entry in enumerate(raw.get("trace") or [], start=1):
        content = _without_hash(entry) if isinstance(entry, Mapping) else entry
        stored = entry.get("hash") if isinstance(entry, Mapping) else None
        yield Link("trace", _entry_where(position, entry), content, stored)
    yield Link(
        "outcome",
        "record outcome (status, disposition, urgency, scores, decision, caller block, note, sealing time)",
        {f: raw.get(f) for f in OUTCOME_FIELDS[version]},
        seal.get("outcome"),
    )
    for kind, item in appended(raw):
        where = f"{kind} {_seq(item)}" + (f" by {item.get('by')}" if kind == "override" else "")
        content = _without_hash(item) if kind == "override" else escalation_content(item)
        yield Link(kind, where, content, item.get("hash"))


def chain(raw: Mapping[str, Any], version: str = CHAIN_VERSION) -> list[tuple[Link, str]]:
    """Each link with the hash it should have."""
    out: list[tuple[Link, str]] = []
    previous = GENESIS
    for link in links(raw, version):
        previous = link_hash(link.kind, previous, link.content)
        out.append((link, previous))
    return out
