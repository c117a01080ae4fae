"""Fixtures for the service: a copy of the bundled protocols, a database (SQLite, or a
PostgreSQL server started for the session), an app on a stepping clock, tokens per role."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the service extra is not installed (pip install -e '.[dev]')")

from fastapi.testclient import TestClient
from pgserver import Server, binaries
from service_helpers import ROOT, START, Served, make_app

from triage_dsl.clock import FixedClock
from triage_dsl.store.tokens import create_token

_names = itertools.count(1)


def pytest_runtest_setup(item: pytest.Item) -> None:
    Served.started.clear()  # the servers of the test about to run, from now on


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """A failed test that started ``triage serve`` processes reports their logs: a 500's
    traceback is only there."""
    report = yield
    if report.failed and call.when != "teardown":
        for server in Served.started:
            try:
                text = server.log.read_text(errors="replace")
            except OSError as exc:
                text = f"(cannot read {server.log}: {exc.strerror})"
            report.sections.append((f"triage serve log {server.log}", text or "(empty)"))
    return report


@pytest.fixture
def protocol_dir() -> Path:
    """The bundled protocols (read only: compiled once for every test)."""
    return ROOT / "protocols"


@pytest.fixture
def own_protocol_dir(tmp_path: Path) -> Path:
    """A copy of the bundled protocols, for a test that changes them."""
    target = tmp_path / "protocols"
    shutil.copytree(ROOT / "protocols", target)
    return target


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    bindir = binaries()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (apt-get install postgresql; .ci/run installs it)")
    server = Server(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh, empty database URL of each kind, per test module (tests share it: each
    works on its own calls)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'triage.db'}"
    server: Server = request.getfixturevalue("postgres")
    return server.create_database(f"triage_test_{next(_names)}")


@pytest.fixture(scope="module")
def app(database: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    application = make_app(ROOT / "protocols", database, tmp_path_factory.mktemp("app"))
    yield application
    application.state.db.dispose()


@pytest.fixture(scope="module")
def client(app: Any) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def tokens(app: Any) -> dict[str, str]:
    now = FixedClock(START).now()
    return {role: create_token(app.state.db, role, f"{role}-1", now) for role in ("call", "review", "admin")}
