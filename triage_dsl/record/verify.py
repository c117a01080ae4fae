"""Verification: is the record intact, and does the protocol still give what it says?

Two checks, in order. The **chain**: every link's hash is recomputed from the record's
JSON (``canonical.py``); the first link whose stored hash differs is named. The
**replay**: the protocol (the same source, by SHA-256) is evaluated again with the
record's answers and compared field by field, then trace entry by trace entry; the
first difference is named. A schema 1.0 result has no chain: it is replayed only; any
later schema version, or a result carrying any record field, must have its chain. With
the record key, the **keyed seal** is checked too: a record rehashed by someone without
the key fails there.

Findings name *where* (a trace entry, a field); their messages may quote values, so
they go to the person verifying, never to the library's log.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from triage_dsl.model.call import CallRecord
from triage_dsl.model.result import AnswerEvent, KeyedSeal, TriageResult, final_answers
from triage_dsl.protocol import Protocol
from triage_dsl.record.call import call_decision, call_hash
from triage_dsl.record.canonical import HEADER_FIELDS, chain
from triage_dsl.record.keys import RecordKey
from triage_dsl.runtime.interpreter import evaluate_protocol

log = logging.getLogger("triage_dsl.record")

# What a replay must reproduce, in the order differences are reported.
REPLAYED = (
    "status",
    "answers",
    "asked",
    "missing",
    "next_question",
    "scores",
    "assumptions",
    "decided_by",
    "raised_by",
    "disposition",
    "urgency",
    "escalation",
    "error",
    "errors",
)


@dataclass(frozen=True)
class Finding:
    """One problem: where (safe to log) and what (may quote values)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class Verification:
    """The outcome of verifying one record: the first problem of each check, and notes."""

    problems: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_chain(raw: Mapping[str, Any]) -> Finding | None:
    """The first link of the record's JSON whose hash is wrong (None when intact)."""
    seal = raw.get("seal")
    if not isinstance(seal, Mapping):
        return Finding("seal", "the record has no seal")
    version = seal.get("chain_version")
    if not isinstance(version, str) or version not in HEADER_FIELDS:
        return Finding("seal", f"unknown chain version {version!r}")
    for position, entry in enumerate(raw.get("trace") or [], start=1):
        step = entry.get("step") if isinstance(entry, Mapping) else None
        if step != position:
            return Finding(
                f"trace entry {position}",
                f"has step {step}: an entry was removed, added or moved before it",
            )
    seqs = [item[1].get("seq") for item in _appended_in_list_order(raw)]
    if seqs != list(range(1, len(seqs) + 1)):
        return Finding("overrides/escalation_run", f"appended links have seq {seqs}, expected 1..{len(seqs)}")
    try:
        links = chain(raw, version)
    except ValueError:
        return Finding("record", "holds NaN or infinity, which a sealed record never does")
    for link, expected in links:
        if link.stored != expected:
            return Finding(
                link.where, "hash does not match its content (edited, or a link before it changed)"
            )
    if seal.get("head") != links[-1][1]:
        return Finding("seal head", "does not match the last link")
    return None


def _appended_in_list_order(raw: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    merged = [("override", o) for o in raw.get("overrides") or []] + [
        ("escalation", s) for s in raw.get("escalation_run") or []
    ]
    # each list must be in seq order on its own; merged, they cover 1..n
    for name in ("overrides", "escalation_run"):
        seqs = [i.get("seq") for i in raw.get(name) or [] if isinstance(i, Mapping)]
        if seqs != sorted(s for s in seqs if isinstance(s, int)):
            return [("", {"seq": None})]
    return sorted(merged, key=lambda item: item[1].get("seq") or 0)


def _portable(value: Any, prefix: str) -> Any:
    """Paths made relative to the protocol's folder (``prefix``), hashes dropped: a record
    made in another working directory still replays."""
    if isinstance(value, dict):
        return {k: _portable(v, prefix) for k, v in value.items() if k != "hash"}
    if isinstance(value, list):
        return [_portable(v, prefix) for v in value]
    if isinstance(value, str) and prefix:
        return value.replace(prefix, "")
    return value


def _folder(path: str) -> str:
    cut = max(path.rfind("/"), path.rfind("\\"))
    return path[: cut + 1]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _first_difference(recorded: Any, replayed: Any) -> str:
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key in [*recorded, *(k for k in replayed if k not in recorded)]:
            was, now = recorded.get(key), replayed.get(key)
            if was != now:
                return f"{key}: the record says {_show(was)}, the replay gives {_show(now)}"
    return f"the record says {_show(recorded)}, the replay gives {_show(replayed)}"


# Fields only a sealed record has: a result holding any of them must have its chain.
RECORD_FIELDS = (
    "interpreter_version",
    "session_id",
    "started_at",
    "sealed_at",
    "protocol_files",
    "overrides",
    "escalation_run",
    "answer_log",
    "call",
    "seal",
)


def missing_chain(raw: Mapping[str, Any], record: TriageResult) -> Finding | None:
    """A record that should have a hash chain and has none (or only part of one)."""
    hashes = [e.hash for e in record.trace]
    if record.seal is not None and all(hashes):
        return None
    present = [name for name in RECORD_FIELDS if raw.get(name) not in (None, [], {})]
    if record.schema_version == "1.0" and not present and not any(hashes):
        return None
    what = [] if record.seal is not None else ["the seal"]
    if not all(hashes):
        what.append(f"the hash of {sum(1 for h in hashes if not h)} trace entr(ies)")
    why = f"schema {record.schema_version}" + (f" with {', '.join(present)}" if present else "")
    return Finding("seal", f"a {why} record must have its hash chain; missing: {' and '.join(what)}")


def check_keyed(
    record: TriageResult, key: RecordKey | None, allow_unkeyed: bool
) -> tuple[Finding | None, list[str]]:
    """The record's keyed seal against the key (docs/record.md says what each case means)."""
    assert record.seal is not None
    return _check_mac(record.seal.keyed, record.seal.head, key, allow_unkeyed)


def _check_mac(
    keyed: KeyedSeal | None, head: str, key: RecordKey | None, allow_unkeyed: bool
) -> tuple[Finding | None, list[str]]:
    if keyed is None:
        if key is not None:
            return Finding(
                "keyed seal",
                "the record has none, but a key was given: a record sealed with the key carries "
                "one (removed, or sealed without the key)",
            ), []
        return None, []
    if key is None:
        if allow_unkeyed:
            return None, ["the keyed seal was not checked (no key given; --allow-unkeyed)"]
        return Finding(
            "keyed seal",
            f"the record is sealed with key {keyed.key_id}; without the key it cannot be checked "
            "(give --key-file, or --allow-unkeyed to check the chain and the replay only)",
        ), []
    if keyed.key_id != key.key_id:
        return Finding(
            "keyed seal", f"made with key {keyed.key_id}, not with the key given ({key.key_id})"
        ), []
    if keyed.head != head:
        return Finding("keyed seal", "covers another head: the record was extended or edited after it"), []
    if not hmac.compare_digest(keyed.mac, key.seal_mac(keyed.head)):
        return Finding("keyed seal", "the MAC does not match: the seal was not made with this key"), []
    return None, []


def check_log(log: list[AnswerEvent]) -> Finding | None:
    """The answer log is in order and each correction or retraction names the answer it
    replaces."""
    held: dict[str, Any] = {}
    for position, event in enumerate(log, start=1):
        where = f"answer log entry {position}"
        if event.seq != position:
            return Finding(where, f"has seq {event.seq}: an entry was removed, added or moved before it")
        if event.question is None or event.problem is not None:
            continue
        if event.kind in ("correction", "retraction") and held.get(event.question) != event.previous:
            return Finding(where, f"{event.kind} of '{event.question}' does not follow the answer before it")
        if event.kind == "retraction":
            held.pop(event.question, None)
        elif event.kind in ("answer", "correction"):
            held[event.question] = event.value
    return None


def replay(record: TriageResult, protocol: Protocol) -> tuple[Finding | None, list[str]]:
    """Evaluate the protocol again with the record's answers (those its answer log ends
    with, when it has one): the first difference, and notes."""
    if protocol.sha256 != record.protocol.sha256:
        return Finding(
            "protocol",
            f"the record was made with source SHA-256 {record.protocol.sha256}, "
            f"{protocol.path} has {protocol.sha256}",
        ), []
    if (
        record.protocol.content_sha256 is not None
        and record.protocol.content_sha256 != protocol.content_sha256
    ):
        return Finding(
            "protocol content",
            f"the record was made with content SHA-256 {record.protocol.content_sha256} (the protocol "
            f"and its imports); {protocol.path} and its imports have {protocol.content_sha256}",
        ), []
    if record.protocol_files is not None:
        recorded = sorted(record.protocol_files.values())
        now = sorted(sha for _, sha in protocol.files)
        if recorded != now:
            return Finding(
                "protocol files",
                "the protocol or a file it imports differs from the one the record was made with",
            ), []
    if record.status == "error":
        return None, ["replay skipped: a record of invalid answers holds no answers to replay"]
    log_problem = check_log(record.answer_log)
    if log_problem is not None:
        return log_problem, []
    answers = final_answers(record.answer_log) if record.answer_log else record.answers
    # The record's start is the evaluation's clock (it turned any date of birth into an age).
    fresh = evaluate_protocol(protocol, answers, trace=bool(record.trace), now=record.started_at)
    was = _portable(record.model_dump(mode="json"), _folder(record.protocol.path))
    now_ = _portable(fresh.model_dump(mode="json"), _folder(protocol.path))
    for name in REPLAYED:
        if was[name] != now_[name]:
            return Finding(name, _first_difference(was[name], now_[name])), []
    for position in range(max(len(was["trace"]), len(now_["trace"]))):
        a = was["trace"][position] if position < len(was["trace"]) else None
        b = now_["trace"][position] if position < len(now_["trace"]) else None
        if a != b:
            entry = a or b or {}
            where = f"trace entry {position + 1} ({entry.get('kind')} {entry.get('node')})"
            return Finding(where, _first_difference(a, b)), []
    return None, []


def parse_record(raw: Mapping[str, Any]) -> tuple[TriageResult | None, Finding | None]:
    try:
        return TriageResult.model_validate(raw), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "record"
        return None, Finding(where, f"not a valid record: {first['msg']}")


def verify(
    raw: Mapping[str, Any],
    protocol: Protocol,
    *,
    key: RecordKey | None = None,
    allow_unkeyed: bool = False,
) -> Verification:
    """Verify one record's JSON (as read from its file) against the protocol; with
    ``key``, its keyed seal too. A record with a keyed seal fails without the key unless
    ``allow_unkeyed`` (then a note says the seal was not checked)."""
    result = Verification()
    record, invalid = parse_record(raw)
    if invalid is None and type(raw.get("redacted", False)) is not bool:
        # the one top-level field outside the chain: only JSON true or false, never a value
        # the model would read as one (0, "false"), so that no edit of it goes unnoticed
        invalid = Finding("redacted", f"must be true or false, not {json.dumps(raw.get('redacted'))}")
        record = None
    if record is None:
        assert invalid is not None
        result.problems.append(invalid)
        return result
    if record.redacted:
        result.problems.append(Finding("record", "a redacted copy cannot be verified; verify the original"))
        return result
    unchained = missing_chain(raw, record)
    if record.seal is None and unchained is None:
        result.notes.append(f"schema {record.schema_version} result without a hash chain: replay only")
    elif unchained is not None:
        result.problems.append(unchained)
    else:
        broken = check_chain(raw)
        if broken is not None:
            result.problems.append(broken)
        else:
            keyed, notes = check_keyed(record, key, allow_unkeyed)
            result.notes += notes
            if keyed is not None:
                result.problems.append(keyed)
    difference, notes = replay(record, protocol)
    result.notes += notes
    if difference is not None:
        result.problems.append(difference)
    for problem in result.problems:
        log.warning("record of protocol %s failed verification at %s", record.protocol.id, problem.where)
    return result


def verify_call(
    raw: Mapping[str, Any],
    protocols: Sequence[Protocol],
    *,
    key: RecordKey | None = None,
    allow_unkeyed: bool = False,
) -> Verification:
    """Verify a call record: each protocol's record, the call's hash and its disposition."""
    result = Verification()
    try:
        call = CallRecord.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        result.problems.append(Finding(".".join(map(str, first["loc"])) or "call", first["msg"]))
        return result
    by_sha = {p.sha256: p for p in protocols}
    for n, (one, one_raw) in enumerate(zip(call.results, raw["results"], strict=True), start=1):
        protocol = by_sha.get(one.protocol.sha256)
        if protocol is None:
            result.problems.append(
                Finding(f"result {n} ({one.protocol.id})", "no --protocol given with this source SHA-256")
            )
            continue
        inner = verify(one_raw, protocol, key=key, allow_unkeyed=allow_unkeyed)
        result.problems += [
            Finding(f"result {n} ({one.protocol.id}): {p.where}", p.message) for p in inner.problems
        ]
        result.notes += [f"result {n} ({one.protocol.id}): {note}" for note in inner.notes]
    if raw.get("hash") != call_hash(dict(raw)):
        result.problems.append(Finding("call", "hash does not match its content"))
    elif call.keyed is not None or key is not None:
        problem, notes = _check_mac(call.keyed, call.hash or "", key, allow_unkeyed)
        result.notes += [f"call: {note}" for note in notes]
        if problem is not None:
            result.problems.append(Finding(f"call: {problem.where}", problem.message))
    decision = call_decision(call.results)
    for name, value in decision.items():
        stored = getattr(call, name)
        if (stored.model_dump() if hasattr(stored, "model_dump") else stored) != (
            value.model_dump() if hasattr(value, "model_dump") else value
        ):
            result.problems.append(Finding(name, "differs from what the protocols' records give"))
            break
    return result
