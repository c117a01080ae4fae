"""The store: calls, their answer events, sealed records, tokens and the audit trail.

SQLAlchemy 2 tables (:mod:`.tables`) with versioned migrations (Alembic, shipped in
``migrations/`` and run programmatically by :func:`.database.open_database`). SQLite
(WAL, a file in the data folder) by default; PostgreSQL (psycopg 3) to share one database
between processes or machines. A call is its event log: every answer, retraction,
override and escalation event is one row, committed before the service answers; the
call's state is rebuilt from the log and its protocol version's stored source. Sealed
records are append-only rows, each with its chain head (in PostgreSQL a trigger refuses
UPDATE and DELETE on them). A request's ``Idempotency-Key`` is stored in the transaction
of the events it produced (:mod:`.idempotency`).
"""

from triage_dsl.store.database import Database, StoreError, database_url, open_database

__all__ = ["Database", "StoreError", "database_url", "open_database"]
