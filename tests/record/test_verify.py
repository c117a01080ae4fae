"""`triage verify`, `triage redact`, `triage schema record` and `eval --redact` through main()."""

from __future__ import annotations

import copy
import importlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.record.helpers import CHEST, clock, example
from triage_dsl.cli import main

DATA = ROOT / "tests" / "data" / "record"
FROZEN = str(DATA / "protocol" / "chest_pain_adult.triage")


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def record(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(importlib.import_module("triage_dsl.record.seal"), "SYSTEM_CLOCK", clock())
    code, out, _ = run(
        "eval",
        str(CHEST),
        "--answers",
        "-",
        "--session-id",
        "s-1",
        stdin=json.dumps(example("chest_pain_emergency")),
    )
    assert code == 0
    raw: dict[str, Any] = json.loads(out)
    return raw


def verify(raw: dict[str, Any], tmp_path: Path, protocol: str = str(CHEST)) -> tuple[int, str]:
    path = tmp_path / "record.json"
    path.write_text(json.dumps(raw))
    code, out, _ = run("verify", str(path), "--protocol", protocol)
    return code, out


@pytest.mark.parametrize("name", ["chest_pain_1_0.json", "chest_pain_1_1.json"])
def test_fixtures_of_every_schema_version_stay_verifiable(name: str) -> None:
    code, out, _ = run("verify", str(DATA / name), "--protocol", FROZEN)
    assert code == 0 and "intact, and the replay agrees" in out


def test_a_record_from_eval_verifies(record: dict[str, Any], tmp_path: Path) -> None:
    assert record["session_id"] == "s-1" and record["started_at"] == "2026-03-01T02:14:00Z"
    assert verify(record, tmp_path)[0] == 0


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda r: r["answers"].update(unresponsive=True), "record header"),
        (lambda r: r["trace"][2].update(value=True), "trace entry 3"),
        (lambda r: r["disposition"].update(id="ed_now"), "record outcome"),
        (lambda r: r["protocol"].update(sha256="0" * 64), "record header"),
        (lambda r: r["trace"].pop(1), "trace entry 2"),
    ],
)
def test_edits_fail_and_are_named(record: dict[str, Any], tmp_path: Path, edit: Any, named: str) -> None:
    raw = copy.deepcopy(record)
    edit(raw)
    code, out = verify(raw, tmp_path)
    assert code == 1 and named in out.splitlines()[0]


def test_a_rehashed_forgery_is_caught_by_the_replay(record: dict[str, Any], tmp_path: Path) -> None:
    from triage_dsl.model.result import TriageResult
    from triage_dsl.record.seal import rehash

    forged = TriageResult.model_validate(record)
    forged = forged.model_copy(update={"disposition": forged.disposition.model_copy(update={"id": "x"})})  # type: ignore[union-attr]
    code, out = verify(rehash(forged).model_dump(mode="json"), tmp_path)
    assert code == 1 and out.startswith(str(tmp_path)) and "disposition: id" in out


def test_another_protocol_version_is_named(record: dict[str, Any], tmp_path: Path) -> None:
    for name in ("chest_pain_adult.triage", "shared.triage"):
        (tmp_path / name).write_text((CHEST.parent / name).read_text() + "# edited\n")
    code, out = verify(record, tmp_path, protocol=str(tmp_path / "chest_pain_adult.triage"))
    assert code == 1 and "protocol:" in out


def test_verify_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert run("verify", str(bad), "--protocol", str(CHEST))[0] == 2
    assert run("verify", str(tmp_path / "missing.json"), "--protocol", str(CHEST))[0] == 2


def test_redact_flag_and_command_remove_answers(record: dict[str, Any], tmp_path: Path) -> None:
    code, out, _ = run(
        "eval", str(CHEST), "--answers", "-", "--redact", stdin=json.dumps(example("chest_pain_emergency"))
    )
    redacted = json.loads(out)
    assert code == 0 and redacted["redacted"] is True and redacted["note"] is None
    assert set(redacted["answers"].values()) == {"[redacted]"}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(record))
    code, out, _ = run("redact", str(path))
    copy_ = json.loads(out)
    assert code == 0 and copy_["seal"] == record["seal"] and copy_["disposition"] == record["disposition"]
    assert copy_["session_id"] == "[redacted]"  # no key: an identifier is removed, not hashed
    code, out = verify(copy_, tmp_path)
    assert code == 1 and "redacted" in out


def test_schema_record_is_versioned() -> None:
    code, out, _ = run("schema", "record")
    schema = json.loads(out)
    assert code == 0 and schema["$id"].endswith("/record/1.3") and "seal" in schema["properties"]
    code, out, _ = run("schema", "call")
    assert code == 0 and json.loads(out)["$id"].endswith("/call/1.3")


FLOORS = ROOT / "tests" / "data" / "floors" / "cough.triage"
RAISED = {
    "collapsed": False,
    "coughing_blood": False,
    "short_of_breath": False,
    "pregnant": True,
    "fever": True,
    "age_years": 40,
    "immunosuppressed": False,
    "worried": False,
}


@pytest.fixture
def raised_record(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(importlib.import_module("triage_dsl.record.seal"), "SYSTEM_CLOCK", clock())
    code, out, _ = run("eval", str(FLOORS), "--answers", "-", stdin=json.dumps(RAISED))
    assert code == 0
    raw: dict[str, Any] = json.loads(out)
    return raw


def test_a_record_raised_by_a_floor_is_sealed_with_chain_1_2_and_verifies(
    raised_record: dict[str, Any], tmp_path: Path
) -> None:
    assert raised_record["schema_version"] == "1.3" and raised_record["seal"]["chain_version"] == "1.3"
    assert raised_record["raised_by"]["to_disposition"] == "ed_now"
    assert verify(raised_record, tmp_path, protocol=str(FLOORS))[0] == 0
    raw = copy.deepcopy(raised_record)
    raw["raised_by"]["from_disposition"] = "see_today"
    code, out = verify(raw, tmp_path, protocol=str(FLOORS))
    assert code == 1 and "record outcome" in out.splitlines()[0]


@pytest.mark.parametrize(
    ("call", "code", "says"),
    [
        ({"caller": "patient", "agent_id": "a-1", "chief_complaint": "chest pain"}, 0, ""),
        ({"caller": "neighbour", "agent_id": "a-1", "chief_complaint": "x"}, 2, "caller: Input should be"),
        (
            {"caller": "patient", "agent_id": "a-1", "chief_complaint": "x", "agreement": "declines"},
            2,
            "needs declined_reason",
        ),
        ({"caller": "patient", "agent_id": " ", "chief_complaint": "x"}, 2, "agent_id is empty"),
        ({"caller": "patient", "chief_complaint": "x", "mrn": "1"}, 2, "agent_id: Field required"),
    ],
)
def test_eval_call_file(tmp_path: Path, call: dict[str, Any], code: int, says: str) -> None:
    path = tmp_path / "call.json"
    path.write_text(json.dumps(call))
    answers = json.dumps(example("chest_pain_emergency"))
    got, out, err = run(
        "eval",
        str(CHEST),
        "--answers",
        "-",
        "--call",
        str(path),
        "--at",
        "2026-03-01T02:14:00Z",
        stdin=answers,
    )
    assert got == code and says in err
    if code == 0:
        record = json.loads(out)
        assert record["call"]["chief_complaint"] == "chest pain" and "Caller:" in record["note"]
        assert verify(record, tmp_path)[0] == 0
        record["call"]["agreement"] = "agrees"
        assert verify(record, tmp_path)[0] == 1  # the caller block is in the chain


def test_schema_call_info() -> None:
    code, out, _ = run("schema", "call-info")
    schema = json.loads(out)
    assert (
        code == 0 and schema["$id"].endswith("/call-info/1.3") and "callback_number" in schema["properties"]
    )
