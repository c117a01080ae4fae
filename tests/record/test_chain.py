"""The hash chain: sealing is deterministic, and any single edit, removal or swap is detected."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.record.helpers import chest, news2
from triage_dsl import __version__
from triage_dsl.record import canonical_json, verify
from triage_dsl.record.verify import check_chain

_, CHEST_RECORD = chest()
NEWS2_PROTOCOL, NEWS2_RECORD = news2()
RAW = NEWS2_RECORD.model_dump(mode="json")


def test_sealing_is_deterministic_given_clock_and_session() -> None:
    assert chest()[1].model_dump_json() == CHEST_RECORD.model_dump_json()


def test_a_record_carries_versions_session_times_and_hashes() -> None:
    r = CHEST_RECORD
    assert r.schema_version == "1.3" and r.interpreter_version == __version__
    assert r.session_id == "call-0001" and r.started_at is not None and r.sealed_at is not None
    assert r.protocol_files and r.protocol.sha256 in r.protocol_files.values()
    assert all(e.hash and len(e.hash) == 64 for e in r.trace)
    assert len({e.hash for e in r.trace}) == len(r.trace)
    assert r.seal is not None and r.seal.head == r.seal.outcome
    assert r.note and "Call started 2026-03-01 02:14 UTC" in r.note


def test_an_intact_record_passes_the_chain_check() -> None:
    assert check_chain(RAW) is None


def test_canonical_json_is_sorted_and_compact() -> None:
    assert canonical_json({"b": 1.0, "a": [True, None]}) == '{"a":[true,null],"b":1.0}'
    with pytest.raises(ValueError):
        canonical_json(float("nan"))


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


def _same(a: Any, b: Any) -> bool:
    return canonical_json(a) == canonical_json(b)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_single_edited_trace_field_is_detected(data: st.DataObject) -> None:
    raw = copy.deepcopy(RAW)
    entry = data.draw(st.sampled_from(raw["trace"]))
    key = data.draw(st.sampled_from(sorted(entry)))
    new = data.draw(JSON.filter(lambda v: not _same(v, entry[key])))
    entry[key] = new
    found = check_chain(raw)
    assert found is not None and "trace entry" in found.where


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_removed_entry_is_detected(data: st.DataObject) -> None:
    raw = copy.deepcopy(RAW)
    raw["trace"].pop(data.draw(st.integers(0, len(raw["trace"]) - 1)))
    assert check_chain(raw) is not None


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_reordered_pair_is_detected(data: st.DataObject) -> None:
    raw = copy.deepcopy(RAW)
    n = len(raw["trace"])
    i = data.draw(st.integers(0, n - 2))
    j = data.draw(st.integers(i + 1, n - 1))
    raw["trace"][i], raw["trace"][j] = raw["trace"][j], raw["trace"][i]
    assert check_chain(raw) is not None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_edited_top_level_field_fails_verification(data: st.DataObject) -> None:
    raw = copy.deepcopy(RAW)
    key = data.draw(
        st.sampled_from(sorted(k for k in raw if k not in ("trace", "overrides", "escalation_run")))
    )
    raw[key] = data.draw(JSON.filter(lambda v: not _same(v, raw[key])))
    assert not verify(raw, NEWS2_PROTOCOL).ok


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (("answers", "resp_rate"), 27, "record header"),
        (("protocol", "sha256"), "0" * 64, "record header"),
        (("disposition", "id"), "zero", "record outcome"),
        (("urgency", "rank"), 3, "record outcome"),
        (("trace", 3, "value"), 99, "trace entry 4"),
        (("seal", "head"), "f" * 64, "seal head"),
    ],
)
def test_edits_are_named_where(path: tuple[Any, ...], value: Any, where: str) -> None:
    raw = copy.deepcopy(RAW)
    target: Any = raw
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    found = check_chain(raw)
    assert found is not None and found.where.startswith(where)


@pytest.mark.parametrize("value", [0, 1, "false", "", [], {}])
def test_redacted_must_be_a_json_boolean(value: Any) -> None:
    """``redacted`` is the one top-level field outside the chain: a value the model would
    read as false (0, "false") is an edit, and verification names it."""
    raw = copy.deepcopy(RAW)
    raw["redacted"] = value
    outcome = verify(raw, NEWS2_PROTOCOL)
    assert not outcome.ok
    assert [p.where for p in outcome.problems] == ["redacted"]


def test_redacted_false_verifies() -> None:
    raw = copy.deepcopy(RAW)
    raw["redacted"] = False
    assert verify(raw, NEWS2_PROTOCOL).ok
