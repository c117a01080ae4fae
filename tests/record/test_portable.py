"""Identity of what ran: the content hash covers the protocol and every import, and the
same call seals to the same bytes whatever the working directory or path spelling."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS, ROOT
from tests.record.helpers import PINNED, T0, example
from triage_dsl import evaluate, load
from triage_dsl.cli import main
from triage_dsl.record import verify

TELEPHONE = PINNED


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue()


@pytest.mark.parametrize("flag", ["--answers", "--cases"])
def test_the_same_call_gives_the_same_bytes_from_any_directory_and_path(
    flag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = example("chest_pain_emergency")
    stdin = json.dumps(answers) if flag == "--answers" else json.dumps({"id": "c1", "answers": answers})
    spellings = [
        (ROOT, "tests/data/record/protocol/chest_pain_adult.triage"),
        (ROOT, str(TELEPHONE / "chest_pain_adult.triage")),
        (TELEPHONE, "chest_pain_adult.triage"),
        (TELEPHONE, "./../protocol/chest_pain_adult.triage"),
        (ROOT / "tests", "data/record/protocol/chest_pain_adult.triage"),
    ]
    outputs = set()
    for folder, path in spellings:
        monkeypatch.chdir(folder)
        extra = ["--session-id", "s-1", "--at", T0] if flag == "--answers" else []
        code, out = run("eval", path, flag, "-", *extra, stdin=stdin)
        assert code == 0
        outputs.add(out)
    assert len(outputs) == 1
    text = outputs.pop()
    assert str(ROOT) not in text and '"path":"chest_pain_adult.triage"'.replace(":", ": ") in text.replace(
        '":"', '": "'
    )


def test_the_content_hash_changes_with_an_imported_file(tmp_path: Path) -> None:
    """Defect: a change in an imported library changed the outcome, not the hash."""
    for name in ("chest_pain_adult.triage", "shared.triage"):
        shutil.copy(TELEPHONE / name, tmp_path / name)
    before = evaluate(load(tmp_path / "chest_pain_adult.triage"), {"collapsed": True}).protocol
    shared = tmp_path / "shared.triage"
    shared.write_text(shared.read_text() + "\n# a comment changes the file\n")
    after = evaluate(load(tmp_path / "chest_pain_adult.triage"), {"collapsed": True}).protocol
    assert before.sha256 == after.sha256  # the main file did not change
    assert before.content_sha256 != after.content_sha256
    original = evaluate(load(TELEPHONE / "chest_pain_adult.triage"), {"collapsed": True}).protocol
    assert original.content_sha256 == before.content_sha256  # the same files elsewhere: the same hash


def test_a_record_names_a_changed_import(tmp_path: Path) -> None:
    from triage_dsl.record import FixedClock, seal

    protocol = load(TELEPHONE / "chest_pain_adult.triage")
    record = seal(
        evaluate(protocol, {"collapsed": True}), protocol=protocol, session_id="s", clock=FixedClock(T0)
    )
    for name in ("chest_pain_adult.triage", "shared.triage"):
        shutil.copy(TELEPHONE / name, tmp_path / name)
    (tmp_path / "shared.triage").write_text((TELEPHONE / "shared.triage").read_text() + "\n# edited\n")
    found = verify(record.model_dump(mode="json"), load(tmp_path / "chest_pain_adult.triage"))
    assert not found.ok and found.problems[0].where == "protocol content"


def test_batch_lines_carry_the_content_hash() -> None:
    code, out = run(
        "eval",
        str(TELEPHONE / "chest_pain_adult.triage"),
        "--cases",
        "-",
        stdin=json.dumps({"id": 1, "answers": {"collapsed": True}}),
    )
    line = json.loads(out)
    assert (
        code == 0
        and line["protocol"]["content_sha256"] == load(TELEPHONE / "chest_pain_adult.triage").content_sha256
    )
    assert line["protocol"]["status"] == "draft"


def test_refused_batch_lines_carry_the_content_hash_too() -> None:
    protocol = load(TELEPHONE / "chest_pain_adult.triage")
    code, out = run("eval", str(TELEPHONE / "chest_pain_adult.triage"), "--cases", "-", stdin="{oops\n[1]\n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [line["status"] for line in lines] == ["error", "error"]  # lines failed
    assert {line["protocol"]["content_sha256"] for line in lines} == {protocol.content_sha256}


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"patient_age": "15 years"},
        {"patient_age": "30 years"},
        {"patient_age": "11 weeks", "temp_c": 38.2},
    ],
)
def test_no_result_holds_an_absolute_path(answers: dict[str, object]) -> None:
    paths = sorted(PROTOCOLS.rglob("*.triage")) + sorted((ROOT / "tests" / "data" / "time").glob("*.triage"))
    for path in paths:
        if not re.search(r"^protocol ", path.read_text(), re.MULTILINE):
            continue  # a library
        protocol = load(path)
        known = {k: v for k, v in answers.items() if k in protocol.plan.questions}
        assert str(ROOT) not in evaluate(protocol, known).model_dump_json(), path
