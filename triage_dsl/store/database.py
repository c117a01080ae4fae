"""Opening the database: URL rules, SQLite settings, migrations to head.

``open_database(url)`` creates the engine and upgrades the schema (Alembic, programmatic;
several processes starting together on PostgreSQL take an advisory lock first).
SQLite runs in WAL mode. ``synchronous`` is ``full`` by default (a committed answer survives
the process being killed and the machine losing power: an fsync per commit); ``normal`` is
selectable (:data:`SYNCHRONOUS`): a committed answer survives the process being killed, but
the last commits before a power loss or an operating-system crash may be lost.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from triage_dsl.errors import TriageError

MIGRATIONS = Path(__file__).with_name("migrations")
DATA_ENV = "TRIAGE_DATA"
DEFAULT_DATA_DIR = ".triage-data"
_LOCK_ID = 0x7472_6961_6765  # "triage": the advisory lock migrations run under
SYNCHRONOUS: tuple[str, ...] = ("full", "normal")  # SQLite's synchronous setting; the first is the default
SYNCHRONOUS_ENV = "TRIAGE_SQLITE_SYNCHRONOUS"


class StoreError(TriageError):
    """The database cannot be opened or used (bad URL, unreachable server, bad folder)."""


def data_dir(given: str | os.PathLike[str] | None = None) -> Path:
    """The data folder: ``given``, else ``$TRIAGE_DATA``, else ``./.triage-data``."""
    return Path(given or os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR)


def database_url(url: str | None, folder: str | os.PathLike[str] | None = None) -> str:
    """The SQLAlchemy URL for ``url``: None means the SQLite file ``triage.db`` in the data
    folder (created); ``postgresql://`` and ``postgres://`` mean psycopg 3.

    >>> database_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> database_url("sqlite:///x.db")
    'sqlite:///x.db'
    """
    if not url:
        folder = data_dir(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data folder {folder}: {exc.strerror}") from None
        return f"sqlite:///{(folder / 'triage.db').resolve()}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_synchronous(given: str | None = None) -> str:
    """SQLite's ``synchronous`` setting: ``given``, else ``$TRIAGE_SQLITE_SYNCHRONOUS``, else
    ``full``.

    >>> sqlite_synchronous("NORMAL")
    'normal'
    """
    value = (given or os.environ.get(SYNCHRONOUS_ENV) or SYNCHRONOUS[0]).lower()
    if value not in SYNCHRONOUS:
        raise StoreError(
            f"unknown SQLite synchronous setting {value!r}: use full (survives a power loss) or "
            "normal (survives a killed process, may lose the last commits in a power loss)"
        )
    return value


def _sqlite_settings(synchronous: str) -> Any:
    def settings(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return settings


@dataclass(frozen=True)
class Database:
    """An engine on a migrated database."""

    engine: Engine
    url: str
    synchronous: str | None = None  # SQLite only: "full" or "normal"
    # what keeps a connection of its own outside the pool (the token cache, the writer):
    # each is closed by :meth:`dispose` with the pool's
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_dispose(self, close: Callable[[], None]) -> None:
        """Have :meth:`dispose` call ``close`` (which closes a connection kept outside the
        pool; a later use may open another)."""
        self._closers.append(close)

    def dispose(self) -> None:
        """Close every connection: the ones kept outside the pool, then the pool's."""
        for close in self._closers:
            close()
        self.engine.dispose()


def create(url: str, synchronous: str | None = None) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"not a database URL: {url!r} (use sqlite:///FILE or postgresql://USER@HOST/DB)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_settings(sqlite_synchronous(synchronous)))
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    raise StoreError(f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL")


def upgrade(engine: Engine) -> None:
    """Run every migration not yet applied (the schema at head)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class _PipelineAbortedNoise(logging.Filter):
    """psycopg warns 'error ignored terminating <Pipeline>: pipeline aborted' whenever a
    pipelined batch is rolled back by an error inside it: with the group commit, every
    collision the writer handles (a request sent again, another process first). That
    line looks like a failure in the operator's log; the collision is logged by the
    service as what it is, so this one warning is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            record.msg == "error ignored terminating %r: %s"
            and "pipeline aborted" in str(record.args[-1] if isinstance(record.args, tuple) else "")
        )


_QUIET = _PipelineAbortedNoise()


def quiet_pipeline_noise() -> None:
    """Drop psycopg's warning for a pipeline rolled back by a collision (the filter is
    added once, however many databases are opened)."""
    logger = logging.getLogger("psycopg")
    if _QUIET not in logger.filters:
        logger.addFilter(_QUIET)


def open_database(
    url: str | None = None,
    folder: str | os.PathLike[str] | None = None,
    synchronous: str | None = None,
) -> Database:
    """The database at ``url`` (default: SQLite in the data folder), migrated to head;
    ``synchronous`` is SQLite's setting (:func:`sqlite_synchronous`)."""
    full = database_url(url, folder)
    engine = create(full, synchronous)
    try:
        upgrade(engine)
    except StoreError:
        raise
    except Exception as exc:  # a server that refuses, a file that cannot be opened
        engine.dispose()
        safe = make_url(full).render_as_string(hide_password=True)
        raise StoreError(f"cannot open the database {safe}: {type(exc).__name__}: {exc}") from None
    sync = sqlite_synchronous(synchronous) if engine.dialect.name == "sqlite" else None
    if engine.dialect.name == "postgresql":
        quiet_pipeline_noise()
    return Database(engine, full, sync)
