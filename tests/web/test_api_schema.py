"""Property tests of the JSON API against its own OpenAPI document (schemathesis).

Requests are generated from ``/openapi.json`` (valid ones and, for the bodies, ones that
break the schema) and sent to the real application in-process, on a fresh SQLite file,
with an admin token. Every response must be free of server errors (no 5xx: bad input
gets a 4xx with a message) and match the status codes, content types and bodies the
document declares. Where a request names a call, half the time it names a real call
started for it, and its answers go to the question that call asks next, so the
interpreter's own checks (not only the request schema) meet arbitrary values.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed (pip install -e '.[dev]')")
schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is not installed (pip install -e '.[dev]')"
)

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.live_service import PROTOCOLS  # noqa: E402
from triage_dsl.clock import FixedClock  # noqa: E402
from triage_dsl.service.app import create_app  # noqa: E402
from triage_dsl.store.tokens import create_token  # noqa: E402

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
# Protocols a real call is started on: yes/no, numbers, choices, ages and durations.
CALL_PROTOCOLS = ("news2", "fever_child", "heart", "qsofa")
EXAMPLES = 20  # per operation and mode: 14 operations x 2 modes x 20, about a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class Api:
    def __init__(self, folder: Path) -> None:
        self.app = create_app(
            PROTOCOLS,
            f"sqlite:///{folder / 'triage.db'}",
            clock=FixedClock(START),
            data_folder=folder / "data",
        )
        self.token = create_token(self.app.state.db, "admin", "schemathesis", START)
        self.client = TestClient(self.app)
        self.started = 0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def new_call(self) -> dict[str, Any]:
        protocol = CALL_PROTOCOLS[self.started % len(CALL_PROTOCOLS)]
        self.started += 1
        response = self.client.post("/v1/calls", json={"protocols": [protocol]}, headers=self.headers())
        assert response.status_code == 201, response.text
        call: dict[str, Any] = response.json()
        return call


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    built = Api(tmp_path_factory.mktemp("api"))
    yield built
    built.app.state.db.dispose()


def aim_at_a_real_call(case: Any, api: Api) -> None:
    """Half the cases that name a call get a real one, and answers for its next question."""
    generated = str((case.path_parameters or {}).get("call_id", ""))
    if not generated or len(generated) % 2:
        return
    call = api.new_call()
    case.path_parameters["call_id"] = call["id"]
    body = case.body
    question = call.get("next_question")
    if case.path.endswith("/answers") and question and isinstance(body, dict):
        answers = body.get("answers")
        if isinstance(answers, dict) and answers:
            value = next(iter(answers.values()))
            body["answers"] = {question["id"]: value}


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_error_and_every_response_matches_the_document(api: Api, mode: str) -> None:
    """Each operation of the document, with requests that follow it (positive) or break
    it (negative); a failure names the operation and the request (hypothesis shrinks it)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=generation))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def requests_to(case: Any) -> None:
            aim_at_a_real_call(case, api)
            case.call_and_validate(headers=api.headers(), checks=CHECKS)

        try:
            requests_to()
        except Unsatisfiable:  # negative: nothing of the operation can be broken (no parameters or body)
            assert mode == "negative", operation.label
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all failures reported
            failures.append(f"{operation.label} ({mode} requests):\n{exc}")
    assert not failures, "\n\n".join(failures)
