"""The store on its own: URLs, migrations, the append-only records, the token command."""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from triage_dsl.cli import main
from triage_dsl.store import StoreError, database_url, open_database
from triage_dsl.store.calls import NewRecord, StoredEvent, append_events, create_call, latest_record
from triage_dsl.store.tables import tokens
from triage_dsl.store.tokens import create_token, find_token, token_hash

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5/db", "postgresql+psycopg://u:p@h:5/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls(given: str, expected: str) -> None:
    assert database_url(given) == expected


def test_default_is_sqlite_in_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_DATA", str(tmp_path / "env-data"))
    assert database_url(None) == f"sqlite:///{tmp_path / 'env-data' / 'triage.db'}"
    assert database_url(None, tmp_path / "given") == f"sqlite:///{tmp_path / 'given' / 'triage.db'}"
    db = open_database(None, tmp_path / "given")
    try:
        assert (tmp_path / "given" / "triage.db").exists()
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("given", "env", "expected"),
    [(None, None, 2), ("normal", None, 1), (None, "normal", 1), ("full", "normal", 2), ("NORMAL", None, 1)],
)
def test_sqlite_synchronous_is_full_unless_normal_is_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str | None, env: str | None, expected: int
) -> None:
    if env is None:
        monkeypatch.delenv("TRIAGE_SQLITE_SYNCHRONOUS", raising=False)
    else:
        monkeypatch.setenv("TRIAGE_SQLITE_SYNCHRONOUS", env)
    db = open_database(f"sqlite:///{tmp_path / 'x.db'}", synchronous=given)
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar() == expected  # 2 FULL, 1 NORMAL
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.synchronous == {2: "full", 1: "normal"}[expected]
    finally:
        db.dispose()


def test_an_unknown_synchronous_setting_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"full .*normal"):
        open_database(f"sqlite:///{tmp_path / 'x.db'}", synchronous="off")


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_bad_urls_are_refused_clearly(url: str) -> None:
    with pytest.raises(StoreError, match="database"):
        open_database(url)


def test_migrations_reach_head_and_run_once(database: str) -> None:
    first = open_database(database)
    second = open_database(database)  # again: nothing to do
    try:
        tables = set(inspect(second.engine).get_table_names())
        assert {
            "protocol_versions",
            "calls",
            "answer_events",
            "records",
            "tokens",
            "audit",
            "idempotency_keys",
            "token_generation",
        } <= tables
        with second.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"
    finally:
        first.dispose()
        second.dispose()


def _record(db_url: str, call_id: str) -> None:
    db = open_database(db_url)
    try:
        create_call(db, call_id, NOW, [], None, None)
        append_events(db, call_id, [StoredEvent(1, "close", NOW, {})], None, NewRecord("head-1", "{}"))
        assert latest_record(db, call_id) == (1, "head-1", "{}")
    finally:
        db.dispose()


def test_postgresql_refuses_changes_to_records(postgres: object) -> None:
    from pgserver import Server

    assert isinstance(postgres, Server)
    url = postgres.create_database("triage_append_only")
    _record(url, "call-1")
    db = open_database(url)
    try:
        for statement in (
            "UPDATE records SET body = '[]'",
            "DELETE FROM records",
            "TRUNCATE records CASCADE",
        ):
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
                conn.execute(text(statement))
        assert latest_record(db, "call-1") == (1, "head-1", "{}")
    finally:
        db.dispose()


def test_token_create_prints_a_token_once(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["token", "create", "--data-dir", str(tmp_path), "--role", "review", "--name", "night desk"],
        stdout=out,
        stderr=err,
    )
    assert code == 0
    token = out.getvalue().strip()
    assert token.startswith("trg_") and "not shown again" in err.getvalue()
    db = open_database(None, tmp_path)
    try:
        holder = find_token(db, token)
        assert holder is not None and (holder.name, holder.role) == ("night desk", "review")
        assert find_token(db, token + "x") is None
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["token", "create", "--role", "boss"], "invalid choice"),
        (["token", "create", "--role", "call", "--database", "mysql://x/y"], "unsupported database"),
        (["serve", "no/such/folder"], "not a folder"),
    ],
)
def test_command_errors(argv: list[str], message: str, tmp_path: Path) -> None:
    err = io.StringIO()
    assert main([*argv, "--data-dir", str(tmp_path)], stdout=io.StringIO(), stderr=err) == 2
    assert message in err.getvalue()


def test_version_does_not_load_the_web_stack() -> None:
    code = (
        "import sys; from triage_dsl.cli import main; main(['--version']); "
        "names = ('fastapi', 'sqlalchemy', 'uvicorn', 'alembic', 'psycopg'); "
        "print([m for m in names if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]")


def test_group_commit_stores_a_batch_and_refuses_only_the_append_that_collided(database: str) -> None:
    from triage_dsl.store.calls import Conflict, load_call
    from triage_dsl.store.writer import Append, Writer

    db = open_database(database)
    try:
        ids = [f"batch-{database[-12:]}-{n}" for n in range(3)]
        for call_id in ids:
            create_call(db, call_id, NOW, [], None, None)
        append_events(db, ids[1], [StoredEvent(1, "answer", NOW, {"n": 0})], None)  # another process's
        woken: list[int] = []
        batch = [
            Append(call_id, [StoredEvent(1, "answer", NOW, {"n": 1})], None, None, None) for call_id in ids
        ]
        batch.append(Append(ids[2], [StoredEvent(2, "close", NOW, {})], None, NewRecord("head-b", "{}"), NOW))
        for n, item in enumerate(batch):
            item.wake = lambda n=n: woken.append(n)  # type: ignore[misc]
        Writer(db).store(batch)
        assert sorted(woken) == [0, 1, 2, 3]  # every request is woken, the refused one too
        assert [type(item.error) for item in batch] == [type(None), Conflict, type(None), type(None)]
        stored = {call_id: [(e.seq, e.payload) for e in load_call(db, call_id)[1]] for call_id in ids}  # type: ignore[index]
        assert stored == {ids[0]: [(1, {"n": 1})], ids[1]: [(1, {"n": 0})], ids[2]: [(1, {"n": 1}), (2, {})]}
        assert latest_record(db, ids[2]) == (2, "head-b", "{}")
        # a batch without a collision is one transaction, and a lone append goes through the writer thread
        more = [
            Append(call_id, [StoredEvent(3, "answer", NOW, {"n": 3})], None, None, None)
            for call_id in ids[2:]
        ]
        writer = Writer(db)
        writer.store([*more, Append(ids[0], [StoredEvent(2, "answer", NOW, {})], None, None, None)])
        assert writer.batches == 1
        writer.append(ids[0], [StoredEvent(3, "answer", NOW, {})], None)
        with pytest.raises(Conflict):
            writer.append(ids[0], [StoredEvent(3, "answer", NOW, {})], None)

        # a coroutine awaits its commit on the event loop (the writer thread wakes it)
        async def on_the_loop() -> None:
            await writer.append_async(ids[0], [StoredEvent(4, "answer", NOW, {"n": 4})], None)
            with pytest.raises(Conflict):
                await writer.append_async(ids[0], [StoredEvent(4, "answer", NOW, {})], None)

        asyncio.run(on_the_loop())
        assert [(e.seq, e.payload) for e in load_call(db, ids[0])[1]][-1] == (4, {"n": 4})  # type: ignore[index]
    finally:
        db.dispose()


def test_the_coroutines_of_one_batch_are_woken_by_one_call_to_their_loop(database: str) -> None:
    """The writer thread settles the futures of a batch's coroutines with one
    ``call_soon_threadsafe`` a loop, each with its own outcome (the one that collided
    gets its Conflict, the others their commit)."""
    from triage_dsl.store.calls import Conflict, load_call
    from triage_dsl.store.writer import Append, Writer
    from triage_dsl.store.writer import _settle as settle

    db = open_database(database)
    try:
        ids = [f"wake-{database[-12:]}-{n}" for n in range(3)]
        for call_id in ids:
            create_call(db, call_id, NOW, [], None, None)
        append_events(db, ids[1], [StoredEvent(1, "answer", NOW, {"n": 0})], None)  # another process's
        writer = Writer(db)

        async def batch_of_three() -> tuple[list[BaseException | None], int]:
            loop = asyncio.get_running_loop()
            calls = 0
            real = loop.call_soon_threadsafe

            def counted(callback: Any, *args: object) -> object:
                nonlocal calls
                calls += callback is settle  # not the executor's own call, below
                return real(callback, *args)

            loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
            batch = [
                Append(call_id, [StoredEvent(1, "answer", NOW, {"n": 1})], None, None, None)
                for call_id in ids
            ]
            for item in batch:
                item.stored = loop.create_future()
            await loop.run_in_executor(None, writer.store, batch)
            await asyncio.gather(*(item.stored for item in batch if item.stored is not None))
            return [item.error for item in batch], calls

        errors, calls = asyncio.run(batch_of_three())
        assert calls == 1
        assert [type(e) for e in errors] == [type(None), Conflict, type(None)]
        assert [len(load_call(db, call_id)[1]) for call_id in ids] == [1, 1, 1]  # type: ignore[index]
    finally:
        db.dispose()


def test_the_tokens_generation_is_read_again_on_a_new_connection_when_its_own_broke(database: str) -> None:
    from triage_dsl.store.tokens import TokenCache

    db = open_database(database)
    try:
        cache = TokenCache(db)
        before = cache.generation()
        cache._conn.close()  # the database went away under it (a restart)
        token = create_token(db, "call", "gen", NOW)
        with db.engine.begin() as conn:
            conn.execute(
                tokens.update().where(tokens.c.token_sha256 == token_hash(token)).values(revoked_at=NOW)
            )
        assert cache.generation() == before + 1  # read again, once, on a new connection
    finally:
        db.dispose()


def test_psycopgs_warning_for_a_rolled_back_pipeline_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL a batch rolled back by a collision (a request sent again, another
    process first) made psycopg warn 'error ignored terminating <Pipeline>: pipeline
    aborted': noise in the operator's log that reads as a failure. Opening a PostgreSQL
    database drops that one warning; the driver's others still show."""
    from psycopg import errors

    from triage_dsl.store import database as store_database

    psycopg_log = logging.getLogger("psycopg")
    psycopg_log.removeFilter(store_database._QUIET)
    store_database.quiet_pipeline_noise()
    store_database.quiet_pipeline_noise()  # once, however many databases are opened
    assert psycopg_log.filters.count(store_database._QUIET) == 1
    with caplog.at_level(logging.WARNING, logger="psycopg"):
        psycopg_log.warning(
            "error ignored terminating %r: %s", "<Pipeline>", errors.PipelineAborted("pipeline aborted")
        )
        psycopg_log.warning("error ignored terminating %r: %s", "<Pipeline>", "connection lost")
    assert [r.getMessage() for r in caplog.records] == [
        "error ignored terminating '<Pipeline>': connection lost"
    ]
