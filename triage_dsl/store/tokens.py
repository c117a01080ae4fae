"""Bearer tokens: shown once when made, stored only as a SHA-256 hash, each with a role."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import bindparam, insert, or_, select, update

from triage_dsl.store.database import Database, StoreError
from triage_dsl.store.tables import audit, tokens

Role = Literal["call", "review", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
PREFIX = "trg_"


@dataclass(frozen=True)
class TokenHolder:
    """Who a token belongs to (never the token itself)."""

    id: int
    name: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """What ``triage token list`` shows of a token (never its text or its hash)."""

    id: int
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


# "last used" is kept to this many seconds: a request writes it at most that often per
# token and process, not on every request
LAST_USED_SECONDS = 60


def create_token(db: Database, role: str, name: str, now: datetime, by: str | None = None) -> str:
    """A new token for ``role``; its text is returned once and never stored. ``by`` (who
    made it, e.g. the operating-system user of ``triage token create``) is audited."""
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    with db.engine.begin() as conn:
        result = conn.execute(
            insert(tokens).values(name=name, role=role, token_sha256=token_hash(token), created_at=now)
        )
        if by is not None:
            key = result.inserted_primary_key
            assert key is not None
            detail = f"token {key[0]} ({name!r}, role {role})"
            conn.execute(insert(audit).values(at=now, token_name=by, action="create_token", detail=detail))
    return token


def list_tokens(db: Database) -> list[TokenInfo]:
    """Every token, oldest first, revoked ones included."""
    query = select(
        tokens.c.id,
        tokens.c.name,
        tokens.c.role,
        tokens.c.created_at,
        tokens.c.last_used_at,
        tokens.c.revoked_at,
    ).order_by(tokens.c.id)
    with db.engine.connect() as conn:
        return [
            TokenInfo(
                int(r.id), r.name, r.role, _aware(r.created_at), _maybe(r.last_used_at), _maybe(r.revoked_at)
            )
            for r in conn.execute(query)
        ]


def revoke_token(db: Database, token_id: int, now: datetime, by: str) -> tuple[TokenInfo, bool]:
    """Revoke a token (from now on every process refuses it: the revocation moves the
    tokens' generation on, which each request reads, see :class:`TokenCache`) and audit
    who did it: the token and whether it was revoked now (False: it already was, and
    nothing changed). Raises :class:`StoreError` for an unknown id."""
    with db.engine.begin() as conn:
        row = conn.execute(
            select(tokens.c.name, tokens.c.role, tokens.c.revoked_at).where(tokens.c.id == token_id)
        ).first()
        if row is None:
            raise StoreError(f"no token {token_id} (see: triage token list)")
        if row.revoked_at is None:
            conn.execute(update(tokens).where(tokens.c.id == token_id).values(revoked_at=now))
            detail = f"token {token_id} ({row.name!r}, role {row.role})"
            conn.execute(insert(audit).values(at=now, token_name=by, action="revoke_token", detail=detail))
    return next(info for info in list_tokens(db) if info.id == token_id), row.revoked_at is None


def touch_token(db: Database, token_id: int, now: datetime) -> None:
    """Note that the token was used now (to the minute: see :data:`LAST_USED_SECONDS`)."""
    from datetime import timedelta

    stale = now - timedelta(seconds=LAST_USED_SECONDS)
    with db.engine.begin() as conn:
        conn.execute(
            update(tokens)
            .where(
                tokens.c.id == token_id, or_(tokens.c.last_used_at.is_(None), tokens.c.last_used_at < stale)
            )
            .values(last_used_at=now)
        )


def _aware(at: datetime) -> datetime:
    from datetime import UTC

    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite drops the zone


def _maybe(at: datetime | None) -> datetime | None:
    return None if at is None else _aware(at)


def find_token(db: Database, token: str) -> TokenHolder | None:
    """The holder of ``token`` (None when unknown or revoked)."""
    with db.engine.connect() as conn:
        row = conn.execute(_FIND, {"sha256": token_hash(token)}).first()
    return None if row is None else TokenHolder(int(row.id), row.name, row.role)


# built once: every request runs it (building the statement cost more than running it)
_FIND = select(tokens.c.id, tokens.c.name, tokens.c.role).where(
    tokens.c.token_sha256 == bindparam("sha256"), tokens.c.revoked_at.is_(None)
)


class TokenCache:
    """The holders of the tokens this process has seen, kept while the tokens' generation
    (``token_generation``, moved on by the database whenever a token is revoked, deleted or
    changed) stays where it was when they were looked up.

    Each request reads that one row (a raw driver query on a connection kept for it: a
    fifth of the cost of looking the token up through SQLAlchemy) before trusting what
    is kept, so a token revoked by any process, or by hand in SQL, is refused by every
    process on its next request. A token not kept (new to this process, or the
    generation moved) is looked up in the database; unknown tokens are not kept (one
    created later must work at once)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._holders: dict[str, TokenHolder] = {}
        self.remote = db.dialect != "sqlite"  # PostgreSQL: the read is a network round trip
        self._read_lock = threading.RLock()  # a read, or closing its connection (also within a read)
        self._conn: Any = None  # the driver's connection (sqlite3 or psycopg), kept
        db.on_dispose(self.close)  # it is not the pool's: the database's dispose closes it

    def generation(self) -> int:
        """The tokens' generation now: one read of one row on a connection of its own,
        outside any transaction (so it sees every commit). A connection that broke (the
        database restarted) is replaced once: the read is safe to repeat."""
        with self._read_lock:
            for attempt in (1, 2):
                try:
                    row = self._read()
                    break
                except Exception as exc:
                    self.close()
                    if attempt == 2:
                        raise StoreError(f"cannot read the tokens' generation: {type(exc).__name__}") from exc
        if row is None:
            raise StoreError("the tokens' generation row is missing: the database was changed by hand")
        return int(row[0])

    def _read(self) -> Any:
        if self._conn is None:
            pooled = self.db.engine.raw_connection()
            driver: Any = pooled.driver_connection
            pooled.detach()  # this object's own: never handed back to the pool
            if self.remote:
                driver.autocommit = True
            self._conn = driver
        cursor = self._conn.cursor()
        try:
            cursor.execute(_GENERATION)
            return cursor.fetchone()
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the connection the generation is read on (a later read opens another);
        waits for a read in progress on it (the app's shutdown may come during one)."""
        with self._read_lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(Exception):  # already broken
                    conn.close()

    def cached(self, token: str) -> tuple[TokenHolder | None, int]:
        """The holder kept for ``token`` (None: look it up) and the generation read now,
        which :meth:`keep` needs: everything kept is forgotten first if it moved."""
        generation = self.generation()
        return self.kept(token, generation), generation

    def kept(self, token: str, generation: int) -> TokenHolder | None:
        """The holder kept for ``token`` while the tokens' generation is ``generation``,
        read after the request came (None: look it up); everything kept is forgotten
        first if the generation moved."""
        digest = token_hash(token)
        with self._lock:
            if generation != self._generation:
                self._holders.clear()
                self._generation = generation
            return self._holders.get(digest)

    def keep(self, token: str, holder: TokenHolder, generation: int) -> None:
        """Keep ``holder``, looked up *after* ``generation`` was read (so a revocation
        between the two has moved the generation on, and the next request forgets it)."""
        with self._lock:
            if generation == self._generation:
                self._holders[token_hash(token)] = holder


_GENERATION = "SELECT generation FROM token_generation WHERE id = 1"
