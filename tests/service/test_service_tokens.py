"""``triage token list`` and ``triage token revoke``: a revoked token is refused at once by
every process, the revocation is audited, and no listing ever shows a secret."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from service_helpers import CHEST, CHEST_EMERGENCY, ROOT, bearer, make_app

from triage_dsl.cli import main
from triage_dsl.store.audit import audit_rows
from triage_dsl.store.tables import tokens as token_table
from triage_dsl.store.tokens import token_hash

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def triage(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def token_command(database: str, data_dir: Path, *argv: str) -> tuple[int, str, str]:
    return triage("token", *argv, "--database", database, "--data-dir", str(data_dir))


def test_list_shows_every_token_but_never_a_secret(database: str, tmp_path: Path) -> None:
    app = make_app(ROOT / "protocols", database, tmp_path)
    try:
        secret = token_command(database, tmp_path, "create", "--role", "review", "--name", "rn-list")[
            1
        ].strip()
        assert TestClient(app).get("/v1/protocols", headers=bearer(secret)).status_code == 200
        code, out, _ = token_command(database, tmp_path, "list", "--format", "json")
        assert code == 0
        rows = {row["name"]: row for row in json.loads(out)}
        mine = rows["rn-list"]
        assert set(mine) == {"id", "name", "role", "created_at", "last_used_at", "revoked_at"}
        assert mine["role"] == "review" and mine["revoked_at"] is None
        assert mine["last_used_at"] is not None  # the request above used it
        code, text, _ = token_command(database, tmp_path, "list")
        assert code == 0 and text.splitlines()[0].split() == [
            "ID",
            "NAME",
            "ROLE",
            "CREATED",
            "LAST",
            "USED",
            "REVOKED",
        ]
        assert any(line.split()[:3] == [str(mine["id"]), "rn-list", "review"] for line in text.splitlines())
        for listing in (out, text):
            assert secret not in listing and token_hash(secret) not in listing and "trg_" not in listing
    finally:
        app.state.db.dispose()


def test_a_revoked_token_is_refused_at_once_by_every_process(database: str, tmp_path: Path) -> None:
    apps = [make_app(ROOT / "protocols", database, tmp_path / name) for name in ("a", "b")]
    try:
        secret = token_command(database, tmp_path, "create", "--role", "call", "--name", "rn-revoke")[
            1
        ].strip()
        clients = [TestClient(app) for app in apps]
        call = clients[0].post("/v1/calls", json={"protocols": [CHEST]}, headers=bearer(secret))
        assert call.status_code == 201
        for client in clients:  # both processes have seen the token work
            assert client.get(f"/v1/calls/{call.json()['id']}", headers=bearer(secret)).status_code == 200
        with apps[0].state.db.engine.connect() as conn:
            token_id = (
                conn.execute(token_table.select().where(token_table.c.token_sha256 == token_hash(secret)))
                .one()
                .id
            )
        code, _, err = token_command(database, tmp_path, "revoke", str(token_id))
        assert code == 0 and "revoked" in err
        for client in clients:
            r = client.get(f"/v1/calls/{call.json()['id']}", headers=bearer(secret))
            assert r.status_code == 401 and r.json()["error"] == "unauthorized"
            r = client.post(
                f"/v1/calls/{call.json()['id']}/answers",
                json={"answers": {"unconscious": False}},
                headers=bearer(secret),
            )
            assert r.status_code == 401
        audited = [row for row in audit_rows(apps[0].state.db) if row["action"] == "revoke_token"]
        assert [row["detail"] for row in audited if f"token {token_id} " in row["detail"]] == [
            f"token {token_id} ('rn-revoke', role call)"
        ]
        assert audited[-1]["token_name"].startswith("command line (")
        # again: nothing changes, nothing more is audited
        code, _, err = token_command(database, tmp_path, "revoke", str(token_id))
        assert code == 0 and "already revoked" in err
        again = [row for row in audit_rows(apps[0].state.db) if row["action"] == "revoke_token"]
        assert len(again) == len(audited)
        listed = {
            row["id"]: row
            for row in json.loads(token_command(database, tmp_path, "list", "--format", "json")[1])
        }
        assert listed[token_id]["revoked_at"] is not None
    finally:
        for app in apps:
            app.state.db.dispose()


def test_revoking_an_unknown_token_says_so(database: str, tmp_path: Path) -> None:
    code, _, err = token_command(database, tmp_path, "revoke", "999999")
    assert code == 2 and "no token 999999" in err and "triage token list" in err


def test_creating_a_token_is_audited(database: str, tmp_path: Path) -> None:
    app: Any = make_app(ROOT / "protocols", database, tmp_path)
    try:
        token_command(database, tmp_path, "create", "--role", "admin", "--name", "ops-audit")
        rows = [row for row in audit_rows(app.state.db) if row["action"] == "create_token"]
        assert any("'ops-audit', role admin" in (row["detail"] or "") for row in rows)
    finally:
        app.state.db.dispose()


def test_a_known_token_is_not_looked_up_again_until_a_token_changes(
    database: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """Each process keeps the tokens it has seen while the tokens' generation stays put; a
    revocation, a change or a deletion made by hand in SQL moves it on (triggers), so
    every process refuses the token on its next request all the same."""
    from triage_dsl.service import auth

    looked_up: list[str] = []
    real = auth.find_token
    monkeypatch.setattr(auth, "find_token", lambda db, token: looked_up.append(token) or real(db, token))
    apps = [make_app(ROOT / "protocols", database, tmp_path / name) for name in ("a", "b")]
    try:
        secrets = [
            token_command(database, tmp_path, "create", "--role", "call", "--name", f"rn-sql-{n}")[1].strip()
            for n in range(3)
        ]
        clients = [TestClient(app) for app in apps]
        call = clients[0].post("/v1/calls", json={"protocols": [CHEST]}, headers=bearer(secrets[0]))
        assert call.status_code == 201
        path = f"/v1/calls/{call.json()['id']}"
        for secret in secrets:
            for client in clients:
                for _ in range(3):
                    assert client.get("/v1/protocols", headers=bearer(secret)).status_code == 200
        assert sorted(looked_up) == sorted(secrets * 2)  # each token once by each process

        by_hand = [
            token_table.update()
            .where(token_table.c.token_sha256 == token_hash(secrets[0]))
            .values(revoked_at=NOW),
            token_table.update()
            .where(token_table.c.token_sha256 == token_hash(secrets[1]))
            .values(role="review"),
            token_table.delete().where(token_table.c.token_sha256 == token_hash(secrets[2])),
        ]
        with apps[0].state.db.engine.begin() as conn:
            conn.execute(by_hand[0])
        for client in clients:
            assert client.get("/v1/protocols", headers=bearer(secrets[0])).status_code == 401
        with apps[0].state.db.engine.begin() as conn:
            conn.execute(by_hand[1])
        for client in clients:  # a review token may read, but no longer answer
            assert client.get("/v1/protocols", headers=bearer(secrets[1])).status_code == 200
            answered = client.post(
                f"{path}/answers", json={"answers": {"unconscious": False}}, headers=bearer(secrets[1])
            )
            assert answered.status_code == 403
        with apps[0].state.db.engine.begin() as conn:
            conn.execute(by_hand[2])
        for client in clients:
            assert client.get("/v1/protocols", headers=bearer(secrets[2])).status_code == 401
    finally:
        for app in apps:
            app.state.db.dispose()


def test_the_generation_is_read_on_the_event_loop_only_for_a_local_file(
    database: str, tmp_path: Path, monkeypatch: Any
) -> None:
    """SQLite's read of one row of a local file stays on the event loop; PostgreSQL's is a
    network round trip and goes to a worker thread, so a stalled server holds up the
    requests that wait for it, not the process's event loop."""
    import threading

    from triage_dsl.store.tokens import TokenCache

    threads: list[str] = []
    real = TokenCache.generation

    def generation(self: TokenCache) -> Any:
        threads.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(TokenCache, "generation", generation)
    app = make_app(ROOT / "protocols", database, tmp_path)
    try:
        secret = token_command(database, tmp_path, "create", "--role", "review")[1].strip()
        with TestClient(app) as client:
            loop_thread = client.portal.call(lambda: threading.current_thread().name)
            assert client.get("/v1/protocols", headers=bearer(secret)).status_code == 200
        remote = app.state.db.dialect != "sqlite"
        assert app.state.tokens.remote is remote and len(threads) == 1
        assert (threads[0] != loop_thread) is remote
    finally:
        app.state.db.dispose()


def test_shutting_the_app_down_closes_the_connections_kept_outside_the_pool(
    database: str, tmp_path: Path
) -> None:
    """The token cache's connection and the writer's are not the pool's: the app's
    shutdown (the database's dispose) closes them too, not only the process's exit."""
    import sqlite3

    import psycopg

    app = make_app(ROOT / "protocols", database, tmp_path)
    try:
        secret = token_command(database, tmp_path, "create", "--role", "call")[1].strip()
        with TestClient(app) as client:
            r = client.post("/v1/calls", json={"protocols": [CHEST]}, headers=bearer(secret))
            call = r.json()
            question = call["next_question"]["id"]
            r = client.post(
                f"/v1/calls/{call['id']}/answers",
                json={"answers": {question: CHEST_EMERGENCY[question]}},
                headers=bearer(secret),
            )
            assert r.status_code == 200, r.text
            kept = [app.state.tokens._conn, app.state.calls.writer._conn]
            assert all(conn is not None for conn in kept)
            drivers = [kept[0], kept[1].connection.driver_connection]
            for driver in drivers:  # open until the app shuts down
                driver.execute("SELECT 1").fetchall()
        assert app.state.tokens._conn is None and app.state.calls.writer._conn is None
        assert kept[1].closed
        for driver in drivers:
            try:
                driver.execute("SELECT 1")
            except (sqlite3.ProgrammingError, psycopg.OperationalError) as exc:
                assert "closed" in str(exc)
            else:
                raise AssertionError(f"{driver!r} is still open after the app's shutdown")
    finally:
        app.state.db.dispose()
