"""The answer route's response bytes kept per protocols and next question
(views.CallBytes): the same bytes as the call's model serialised by the route, at every
step of interviews on every telephone protocol, alone and together."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from service_helpers import ROOT, make_app

from triage_dsl import load
from triage_dsl.service import shortcut, views
from triage_dsl.service.state import CallState
from triage_dsl.store.calls import StoredEvent

TELEPHONE = sorted(p.stem for p in (ROOT / "protocols/telephone").glob("*.triage") if p.stem != "shared")
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def caller(question: dict[str, Any], rng: random.Random) -> Any:
    kind = question["type"]
    if rng.random() < 0.1 and question["unknown_allowed"]:
        return "unknown"
    if kind == "yes/no":
        return rng.random() < 0.3
    if kind == "choice":
        return rng.choice(question["options"])["id"]
    if kind == "age":
        return {"value": rng.randint(1, 90), "unit": "years"}
    if kind == "duration":
        return {"value": rng.randint(1, 10), "unit": rng.choice(["hours", "days"])}
    low, high = question["range"]
    value = rng.uniform(low, high)
    return round(value) if kind == "whole number" else round(value, 1)


@pytest.fixture(scope="module")
def serialize(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("views")
    app = make_app(ROOT / "protocols", f"sqlite:///{tmp / 'views.db'}", tmp)
    try:
        route = next(r for r in app.routes if isinstance(r, APIRoute) and r.path == shortcut.PATH)
        assert route.response_field is not None
        yield route.response_field.serialize_json
    finally:
        app.state.db.dispose()


@pytest.mark.parametrize("names", [*([name] for name in TELEPHONE), ["chest_pain_adult", "fever_child"]])
def test_the_kept_bytes_are_the_models_bytes_at_every_step(names: list[str], serialize: Any) -> None:
    protocols = [load(ROOT / "protocols/telephone" / f"{name}.triage") for name in names]
    made = views.CallBytes(serialize)
    kept = 0
    for n in range(4):  # the later calls meet the bytes the earlier ones left
        rng = random.Random(n)
        state = CallState.start(
            f"{n:08d}-aaaa-4bbb-8ccc-{n:012d}", NOW, None, list(enumerate(protocols)), None
        )
        at = NOW
        for _ in range(200):
            out = made(state)
            expected = serialize(views.call_out(state))
            if isinstance(out, bytes):
                kept += 1
                assert out == expected
            else:
                assert serialize(out) == expected
            if state.closed:
                break
            at += timedelta(seconds=1)
            body = views.call_out(state)
            if body.next_question is None or state.sealed:
                event = StoredEvent(state.seq + 1, "close", at, {})
            else:
                question = body.next_question.model_dump()
                event = StoredEvent(
                    state.seq + 1, "answer", at, {"question": question["id"], "value": caller(question, rng)}
                )
            if not state.sealed and event.kind == "close":
                state.apply(StoredEvent(state.seq + 1, "seal", at, {}))
                event = StoredEvent(state.seq + 1, "close", at, {})
            state.apply(event)
            if event.kind == "answer" and not state.sealed and state.complete:
                state.apply(StoredEvent(state.seq + 1, "seal", at, {}))
    assert kept > 4  # the kept bytes were used, not only made


def test_a_call_id_json_would_escape_is_never_cut_out(serialize: Any) -> None:
    protocol = load(ROOT / "protocols/telephone/head_injury.triage")
    made = views.CallBytes(serialize)
    state = CallState.start('odd"id', NOW, None, [(1, protocol)], None)
    out = made(state)
    assert not isinstance(out, bytes) and serialize(out) == serialize(views.call_out(state))
