"""The keyed seal (HMAC-SHA-256 with the record key) and the chain a record must have."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.record.helpers import CHEST, T0, chest, clock, example
from triage_dsl import evaluate, load
from triage_dsl.cli import main
from triage_dsl.errors import RecordError
from triage_dsl.model.result import TriageResult
from triage_dsl.record import FixedClock, override, seal, verify
from triage_dsl.record.keys import RecordKey, RecordKeyError, load_key
from triage_dsl.record.seal import rehash

KEY = RecordKey(b"k" * 32)
OTHER = RecordKey(b"o" * 32)
PROTOCOL = load(CHEST)


def keyed() -> TriageResult:
    return seal(
        evaluate(PROTOCOL, example("chest_pain_emergency")),
        protocol=PROTOCOL,
        session_id="call-0001",
        clock=clock(),
        key=KEY,
    )


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _downgrade(raw: dict[str, Any]) -> None:
    raw["disposition"] = {**raw["disposition"], "id": "routine_chest_pain"}


def _strip_chain(raw: dict[str, Any]) -> None:
    raw["seal"] = None
    for entry in raw["trace"]:
        entry["hash"] = None


def _rehash_unkeyed(raw: dict[str, Any]) -> dict[str, Any]:
    record = TriageResult.model_validate(raw)
    return rehash(record.model_copy(update={"seal": None})).model_dump(mode="json")


@pytest.mark.parametrize(
    ("record_key", "given", "allow", "ok", "says"),
    [
        (KEY, KEY, False, True, ""),
        (KEY, None, False, False, "cannot be checked"),
        (KEY, None, True, True, ""),
        (KEY, OTHER, False, False, "not with the key given"),
        (None, KEY, False, False, "has none, but a key was given"),
        (None, None, False, True, ""),
    ],
    ids=["with-key", "without-key", "without-key-allowed", "wrong-key", "unkeyed-with-key", "unkeyed"],
)
def test_keyed_seal_round_trip(
    record_key: RecordKey | None, given: RecordKey | None, allow: bool, ok: bool, says: str
) -> None:
    record = seal(
        evaluate(PROTOCOL, example("chest_pain_emergency")),
        protocol=PROTOCOL,
        session_id="s",
        clock=clock(),
        key=record_key,
    )
    found = verify(record.model_dump(mode="json"), PROTOCOL, key=given, allow_unkeyed=allow)
    assert found.ok is ok
    if says:
        assert says in found.problems[0].message
    if allow:
        assert "not checked" in found.notes[0]


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (lambda raw: _rehash_unkeyed(raw), "keyed seal"),  # rehashed by someone without the key
        (lambda raw: {**raw, "seal": {**raw["seal"], "keyed": None}}, "keyed seal"),
        (
            lambda raw: {**raw, "seal": {**raw["seal"], "keyed": {**raw["seal"]["keyed"], "mac": "0" * 64}}},
            "keyed seal",
        ),
        (lambda raw: (_downgrade(raw), raw)[1], "record outcome"),
    ],
    ids=["rehashed", "keyed-seal-removed", "mac-forged", "edited"],
)
def test_tampered_keyed_records_fail_with_the_key(tamper: Any, named: str) -> None:
    raw = tamper(copy.deepcopy(keyed().model_dump(mode="json")))
    found = verify(raw, PROTOCOL, key=KEY)
    assert not found.ok and found.problems[0].where.startswith(named)


def test_a_keyed_record_is_extended_only_with_its_key() -> None:
    record = keyed()
    with pytest.raises(RecordError, match="give its key"):
        override(record, PROTOCOL, "ed_now", by="rn", reason="r", clock=clock())
    with pytest.raises(RecordError, match="not the key"):
        override(record, PROTOCOL, "ed_now", by="rn", reason="r", clock=clock(), key=OTHER)
    extended = override(record, PROTOCOL, "ed_now", by="rn", reason="r", clock=clock(), key=KEY)
    assert extended.seal is not None and extended.seal.keyed is not None
    assert extended.seal.keyed.head == extended.seal.head
    assert verify(extended.model_dump(mode="json"), PROTOCOL, key=KEY).ok


def test_a_record_without_its_chain_is_refused(tmp_path: Path) -> None:
    """Defect: seal and hashes set to null, a downgrade forged: verify said 'intact'."""
    protocol, record = chest()
    genuine = override(record, protocol, "ed_now", by="rn", reason="r", clock=clock())
    raw = genuine.model_dump(mode="json")
    _strip_chain(raw)
    forged = raw["overrides"][0]
    forged.update(hash=None, direction="downgrade", previous_tier_rank=0)
    forged["disposition"]["id"] = "routine_chest_pain"
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(raw))
    code, out, _ = run("verify", str(path), "--protocol", str(CHEST))
    assert code == 1 and "intact" not in out and "replay only" not in out
    assert "seal: a schema 1.3 with" in out and "must have its hash chain; missing: the seal and" in out
    for name in ("1.0", "1.1"):  # claiming an older schema does not help while record fields remain
        raw["schema_version"] = name
        found = verify(raw, PROTOCOL)
        assert not found.ok and found.problems[0].where == "seal"


def test_a_1_0_result_stays_replay_only() -> None:
    raw = evaluate(PROTOCOL, example("chest_pain_emergency")).model_dump(
        mode="json", exclude={"answer_log", "call"}
    )
    raw["schema_version"] = "1.0"
    found = verify(raw, PROTOCOL)
    assert found.ok and "replay only" in found.notes[0]


def test_key_sources_and_short_keys(tmp_path: Path) -> None:
    path = tmp_path / "record.key"
    path.write_bytes(b"a" * 32 + b"\n")
    assert load_key(str(path), {}) == RecordKey(b"a" * 32)
    assert load_key(None, {"TRIAGE_RECORD_KEY_FILE": str(path)}) == RecordKey(b"a" * 32)
    assert load_key(None, {"TRIAGE_RECORD_KEY": "b" * 40}) == RecordKey(b"b" * 40)
    assert load_key(None, {}) is None
    with pytest.raises(RecordKeyError, match="at least 32"):
        load_key(None, {"TRIAGE_RECORD_KEY": "short"})
    with pytest.raises(RecordKeyError, match="cannot read"):
        load_key(str(tmp_path / "missing.key"), {})
    assert "a" * 32 not in repr(RecordKey(b"a" * 32))


def test_cli_keyed_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_RECORD_KEY", raising=False)
    monkeypatch.delenv("TRIAGE_RECORD_KEY_FILE", raising=False)
    key = tmp_path / "record.key"
    key.write_text("x" * 44 + "\n")
    answers = json.dumps(example("chest_pain_emergency"))
    code, out, _ = run(
        "eval", str(CHEST), "--answers", "-", "--at", T0, "--key-file", str(key), stdin=answers
    )
    assert code == 0 and json.loads(out)["seal"]["keyed"]["algorithm"] == "hmac-sha256"
    record = tmp_path / "record.json"
    record.write_text(out)
    assert run("verify", str(record), "--protocol", str(CHEST), "--key-file", str(key))[0] == 0
    code, text, _ = run("verify", str(record), "--protocol", str(CHEST))
    assert code == 1 and "cannot be checked" in text
    assert run("verify", str(record), "--protocol", str(CHEST), "--allow-unkeyed")[0] == 0
    monkeypatch.setenv("TRIAGE_RECORD_KEY_FILE", str(key))
    assert run("verify", str(record), "--protocol", str(CHEST))[0] == 0
    monkeypatch.setenv("TRIAGE_RECORD_KEY_FILE", str(tmp_path / "none.key"))
    code, _, err = run("verify", str(record), "--protocol", str(CHEST))
    assert code == 2 and "cannot read the record key file" in err


def test_the_same_call_with_the_same_key_seals_to_the_same_bytes() -> None:
    one, two = keyed(), keyed()
    assert one.model_dump_json() == two.model_dump_json()
    other = seal(
        evaluate(PROTOCOL, example("chest_pain_emergency")),
        protocol=PROTOCOL,
        session_id="call-0001",
        clock=FixedClock(T0),
        key=OTHER,
    )
    assert other.seal is not None and one.seal is not None and other.seal.keyed != one.seal.keyed


@pytest.mark.parametrize(
    ("given", "ok"), [(KEY, True), (None, False), (OTHER, False)], ids=["key", "no-key", "wrong-key"]
)
def test_a_keyed_call_record(given: RecordKey | None, ok: bool) -> None:
    from triage_dsl.record import combine, verify_call

    call = combine([keyed()], call_id="c", clock=clock(), key=KEY)
    found = verify_call(call.model_dump(mode="json"), [PROTOCOL], key=given)
    assert found.ok is ok
    raw = call.model_dump(mode="json")
    raw["keyed"] = None
    assert not verify_call(raw, [PROTOCOL], key=KEY).ok


def test_cli_redaction_with_and_without_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_RECORD_KEY", raising=False)
    monkeypatch.delenv("TRIAGE_RECORD_KEY_FILE", raising=False)
    key = tmp_path / "record.key"
    key.write_text("y" * 40)
    record = tmp_path / "record.json"
    record.write_text(keyed().model_dump_json())
    code, out, _ = run("redact", str(record), "--key-file", str(key))
    pseudonym = RecordKey(b"y" * 40).pseudonym("call-0001")
    assert code == 0 and json.loads(out)["session_id"] == pseudonym
    code, out, _ = run("redact", str(record))
    assert code == 0 and json.loads(out)["session_id"] == "[redacted]"
    answers = json.dumps(example("chest_pain_emergency"))
    flags = ("--session-id", "call-0001", "--redact", "--key-file", str(key))
    code, out, _ = run("eval", str(CHEST), "--answers", "-", *flags, stdin=answers)
    assert code == 0 and json.loads(out)["session_id"] == pseudonym
